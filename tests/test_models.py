"""Baseline models: shapes, registry, errors."""

from __future__ import annotations

import pytest
import torch

from boostprop.models import CNN1D, CNN28, MLP, build_model


def test_shapes() -> None:
    assert MLP(784, (32, 16), 10)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert CNN28(10)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert CNN1D(10)(torch.zeros(2, 40)).shape == (2, 10)
    assert build_model("cnn", (40,), 10).__class__ is CNN1D
    assert build_model("cnn", (1, 28, 28), 10).__class__ is CNN28
    net = build_model("mlp", (20,), 3, widths=(5,), activation="tanh", init="glorot_normal")
    assert isinstance(net[2], torch.nn.Tanh)
    assert torch.count_nonzero(net[1].bias) == 0


def test_errors() -> None:
    with pytest.raises(ValueError, match="activation"):
        MLP(4, (3,), 2, activation="swish2")
    with pytest.raises(ValueError, match="widths"):
        MLP(4, (0,), 2)
    with pytest.raises(ValueError, match="name"):
        build_model("transformer", (4,), 2)
    with pytest.raises(ValueError, match="length"):
        CNN1D(10)(torch.zeros(2, 41))
