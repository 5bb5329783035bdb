"""Baseline models used by the harness: a configurable MLP and small CNNs, and the registry.

These are the plain networks against which the techniques are compared (the MLPs of
Øland et al. 2017, Wang et al. 2023 and Munoz 2025 use the same shapes). Technique-specific
models live with their technique (for example :mod:`boostprop.nn` for the shortcut networks
of Raiko et al. 2012). The models of the practitioners' workloads (ResNet, ViT, U-Net, a
character-level transformer LM, matrix factorisation, a deep autoencoder) are defined in
:mod:`boostprop.models_zoo` and registered in :data:`MODELS` here.

Example:
    >>> import torch
    >>> from boostprop.models import build_model
    >>> net = build_model("mlp", input_shape=(1, 28, 28), n_classes=10, widths=(256, 256))
    >>> net(torch.zeros(4, 1, 28, 28)).shape
    torch.Size([4, 10])
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from boostprop.models_zoo import ZOO

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def _activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}"
        ) from None


class MLP(nn.Sequential):
    """Fully connected network ``in -> widths... -> n_classes`` with a linear output.

    Inputs of any shape ``(N, ...)`` are flattened to ``(N, in_features)``.

    Example:
        >>> MLP(784, (256, 256), 10, activation="relu")(torch.zeros(2, 784)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int],
        n_classes: int,
        *,
        activation: str = "relu",
        init: str = "default",
    ) -> None:
        _check_positive("in_features", in_features)
        _check_positive("n_classes", n_classes)
        for w in widths:
            _check_positive("widths", w)
        layers: list[nn.Module] = [nn.Flatten()]
        sizes = [in_features, *widths]
        for fan_in, fan_out in itertools.pairwise(sizes):
            layers += [nn.Linear(fan_in, fan_out), _activation(activation)]
        layers.append(nn.Linear(sizes[-1], n_classes))
        super().__init__(*layers)
        if init == "glorot_normal":
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight)
                    nn.init.zeros_(m.bias)
        elif init != "default":
            raise ValueError(f"init: expected 'default' or 'glorot_normal', got {init!r}")


class CNN28(nn.Module):
    """Small CNN for 28×28 single-channel images (two conv blocks, one hidden dense layer).

    Example:
        >>> CNN28(10)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, n_classes: int, *, channels: tuple[int, int] = (16, 32), hidden: int = 128):
        super().__init__()
        _check_positive("n_classes", n_classes)
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7x7
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) for images (N, 1, 28, 28) or (N, 28, 28)."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"x: expected images of shape (N, 1, 28, 28), got {tuple(x.shape)}")
        return self.head(self.features(x))


class CNN1D(nn.Module):
    """Small 1-D CNN for length-``length`` signals such as MNIST-1D (length 40).

    Example:
        >>> CNN1D(10)(torch.zeros(2, 40)).shape
        torch.Size([2, 10])
    """

    def __init__(self, n_classes: int, *, length: int = 40, channels: int = 32):
        super().__init__()
        _check_positive("n_classes", n_classes)
        _check_positive("length", length)
        self.length = length
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        out_len = math.ceil(math.ceil(length / 2) / 2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * out_len, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) for signals (N, length) or (N, 1, length)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.shape[-1] != self.length:
            raise ValueError(f"x: expected signals of length {self.length}, got {tuple(x.shape)}")
        return self.head(self.features(x))


ModelFactory = Callable[..., nn.Module]
MODELS: dict[str, ModelFactory] = {}


def register_model(name: str, factory: ModelFactory) -> None:
    """Register ``factory(input_shape, n_classes, **kwargs) -> nn.Module`` under ``name``."""
    if name in MODELS and MODELS[name] is not factory:
        raise ValueError(f"name: a model called {name!r} is already registered")
    MODELS[name] = factory


def build_model(name: str, input_shape: Sequence[int], n_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered model for inputs of ``input_shape`` (without the batch dim).

    Example:
        >>> build_model("cnn", (40,), 10).__class__.__name__
        'CNN1D'
    """
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"name: expected one of {sorted(MODELS)}, got {name!r}") from None
    return factory(tuple(input_shape), n_classes, **kwargs)


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def _mlp(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    widths: Sequence[int] = (256, 256),
    activation: str = "relu",
    init: str = "default",
) -> nn.Module:
    return MLP(math.prod(input_shape), widths, n_classes, activation=activation, init=init)


def _cnn_class(input_shape: tuple[int, ...]) -> tuple[Callable[..., nn.Module], int]:
    """The small CNN for ``input_shape`` (with the signal length filled in) and how many of its
    positional parameters the factory fills; its keywords are the model's arguments."""
    if len(input_shape) == 1:
        return functools.partial(CNN1D, length=input_shape[0]), 1
    if tuple(input_shape[-2:]) == (28, 28):
        return CNN28, 1
    raise ValueError(f"input_shape: no small CNN for inputs of shape {input_shape}")


def _cnn(input_shape: tuple[int, ...], n_classes: int, **kw: Any) -> nn.Module:
    return _cnn_class(input_shape)[0](n_classes, **kw)


_cnn.defaults_for = _cnn_class  # type: ignore[attr-defined]  # its defaults depend on the shape


register_model("mlp", _mlp)
register_model("cnn", _cnn)
# the practitioners' workloads (issue 14): resnet, vit, unet, char_transformer,
# matrix_factorization, autoencoder (see boostprop.models_zoo)
for _name, _factory in ZOO.items():
    register_model(_name, _factory)
