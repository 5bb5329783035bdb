"""Tests of boostprop.data.load_tabular: stratified 60/20/20 split, train-only standardisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import datasets

from boostprop.data import TABULAR_DATASETS, load_tabular
from boostprop.data.tabular import _split


@pytest.mark.parametrize("name", TABULAR_DATASETS)
def test_split_and_standardisation_by_hand(name: str) -> None:
    bunch = getattr(datasets, f"load_{name}")()
    x_raw, y_raw = bunch.data.astype(np.float64), bunch.target
    n = len(y_raw)
    idx = {s: _split(name, 3)[f"{s}_idx"] for s in ("train", "val", "test")}
    # a partition of all rows, 60/20/20
    allrows = np.concatenate(list(idx.values()))
    np.testing.assert_array_equal(np.sort(allrows), np.arange(n))
    assert abs(len(idx["test"]) - 0.2 * n) <= 1 and abs(len(idx["val"]) - 0.2 * n) <= 1
    # stratified: each class's share in every split within one row of its overall share
    for s, rows in idx.items():
        for c in np.unique(y_raw):
            expected = np.mean(y_raw == c) * len(rows)
            assert abs(np.sum(y_raw[rows] == c) - expected) <= 1.0, (s, c)
    # hand computation of the standardisation with the training rows' statistics
    mean = x_raw[idx["train"]].mean(axis=0)
    std = x_raw[idx["train"]].std(axis=0)
    std[std == 0] = 1.0
    for s, rows in idx.items():
        x, y = load_tabular(name, s, seed=3)  # type: ignore[arg-type]
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        np.testing.assert_allclose(x.numpy(), (x_raw[rows] - mean) / std, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(y.numpy(), y_raw[rows])
    xtr = load_tabular(name, "train", seed=3)[0].double()
    varying = x_raw[idx["train"]].std(axis=0) > 0
    np.testing.assert_allclose(xtr.mean(0).numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(xtr.std(0, unbiased=False).numpy()[varying], 1.0, atol=1e-5)
    assert torch.all(xtr[:, ~torch.from_numpy(varying)] == 0)
    # val is NOT standardised with its own statistics (it would then have mean exactly 0)
    xva = load_tabular(name, "val", seed=3)[0].double()
    assert xva.mean(0).abs().max() > 1e-3


def test_determinism_and_seed_dependence() -> None:
    a = load_tabular("wine", "train", seed=0)
    b = load_tabular("wine", "train", seed=0)
    c = load_tabular("wine", "train", seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].shape == c[0].shape and not torch.equal(a[0], c[0])
    a[0].zero_()
    assert torch.equal(load_tabular("wine", "train", seed=0)[0], b[0])  # fresh tensors


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="digits, breast_cancer, wine, iris"):
        load_tabular("mnist", "train")
    with pytest.raises(ValueError, match="split"):
        load_tabular("iris", "training")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        load_tabular("iris", "train", seed="0")  # type: ignore[arg-type]
