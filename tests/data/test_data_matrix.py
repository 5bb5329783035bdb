"""Tests of boostprop.data.matrix (low-rank matrix completion) and of the registry's ``task`` and
``metadata`` fields that the new workloads use.

The matrix is regenerated here from the module docstring's recipe with numpy alone; its rank is
read off an SVD; the split is checked entry by entry; an alternating-least-squares fit on the
training entries checks that the matrix is completable from them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from boostprop.data import (
    DATASETS,
    TASKS,
    DatasetInfo,
    describe_datasets,
    get_dataset,
    load_matrix_completion,
    low_rank_matrix,
)


def _recipe(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The documented construction, written out independently."""
    s1, s2, s3 = np.random.SeedSequence([seed, 0x4D43]).spawn(3)
    rng = np.random.default_rng(s1)
    u, v = rng.standard_normal((500, 8)), rng.standard_normal((400, 8))
    clean = u @ v.T / np.sqrt(8)
    noisy = clean + 0.1 * np.random.default_rng(s2).standard_normal((500, 400))
    order = np.random.default_rng(s3).choice(200_000, 40_000, replace=False)
    return clean, noisy, order


def test_rank_noise_and_documented_recipe() -> None:
    clean, noisy, mask = low_rank_matrix()
    s = np.linalg.svd(clean, compute_uv=False)
    assert s[8] < 1e-10 * s[0]  # exactly rank 8 ...
    assert s[7] > 0.1 * s[0]  # ... with no tiny signal direction
    assert abs(float((noisy - clean).std()) - 0.1) < 0.002
    assert abs(float(clean.var()) - 1.0) < 0.1
    assert mask.shape == (500, 400) and int(mask.sum()) == 40_000
    want_clean, want_noisy, order = _recipe(0)
    np.testing.assert_array_equal(clean, want_clean)
    np.testing.assert_array_equal(noisy, want_noisy)
    np.testing.assert_array_equal(np.flatnonzero(mask), np.sort(order))
    other, _, other_mask = low_rank_matrix(1)
    assert not np.allclose(other, clean) and (other_mask != mask).any()


def test_split_is_fixed_disjoint_and_covers_the_observed_entries() -> None:
    _, noisy, mask = low_rank_matrix()
    _, _, order = _recipe(0)
    seen: list[np.ndarray] = []
    for split, (a, b) in {
        "train": (0, 32_000),
        "val": (32_000, 36_000),
        "test": (36_000, 40_000),
    }.items():
        x, y = load_matrix_completion(split)  # type: ignore[arg-type]
        assert x.shape == (b - a, 2) and x.dtype == torch.int64
        assert y.shape == (b - a,) and y.dtype == torch.float32
        r, c = x[:, 0].numpy(), x[:, 1].numpy()
        np.testing.assert_array_equal(r * 400 + c, order[a:b])  # the documented order
        np.testing.assert_array_equal(y.numpy(), noisy[r, c].astype(np.float32))
        seen.append(r * 400 + c)
        x2, y2 = load_matrix_completion(split)  # type: ignore[arg-type]
        assert torch.equal(x, x2) and torch.equal(y, y2)
    flat = np.concatenate(seen)
    assert len(np.unique(flat)) == 40_000  # disjoint
    np.testing.assert_array_equal(np.sort(flat), np.flatnonzero(mask))  # exactly the observed
    # every row and column is seen in training
    train = seen[0]
    assert len(np.unique(train // 400)) == 500 and len(np.unique(train % 400)) == 400


def _ridge_rows(
    idx: np.ndarray, jdx: np.ndarray, v: np.ndarray, other: np.ndarray, n: int
) -> np.ndarray:
    """Row ``i`` of the result: the ridge fit of ``v`` on ``other[jdx]`` over the entries with
    ``idx == i`` (every one of the ``n`` rows must have entries)."""
    order = np.argsort(idx, kind="stable")
    idx, jdx, v = idx[order], jdx[order], v[order]
    starts = np.searchsorted(idx, np.arange(n))
    a = other[jdx]
    gram = np.add.reduceat(np.einsum("ki,kj->kij", a, a), starts, axis=0)
    rhs = np.add.reduceat(a * v[:, None], starts, axis=0)
    return np.linalg.solve(gram + 1e-3 * np.eye(a.shape[1]), rhs[..., None])[..., 0]


def test_completable_from_the_training_entries() -> None:
    clean, _, _ = low_rank_matrix()
    (xtr, ytr), (xva, yva) = load_matrix_completion("train"), load_matrix_completion("val")
    r, c, v = xtr[:, 0].numpy(), xtr[:, 1].numpy(), ytr.numpy().astype(np.float64)
    w = np.random.default_rng(0).standard_normal((400, 8))
    for _ in range(7):  # alternating least squares, rank 8 (converged: 0.0129 and 0.0029)
        u = _ridge_rows(r, c, v, w, 500)
        w = _ridge_rows(c, r, v, u, 400)
    pred = (u @ w.T)[xva[:, 0].numpy(), xva[:, 1].numpy()]
    assert float(np.mean(yva.numpy() ** 2)) > 0.8  # what predicting 0 scores
    assert float(np.mean((pred - yva.numpy()) ** 2)) < 0.015  # near the 0.01 noise floor
    assert float(np.mean((u @ w.T - clean) ** 2)) < 0.005  # the whole matrix is recovered


def test_errors() -> None:
    with pytest.raises(ValueError, match="split"):
        load_matrix_completion("all")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        load_matrix_completion("train", seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed must be in"):
        low_rank_matrix(-1)


def _info(**kwargs: Any) -> DatasetInfo:
    def loader(split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, 1), torch.zeros(1, dtype=torch.int64)

    return DatasetInfo(
        name="n", n_classes=2, input_shape=(1,), description="d", loader=loader, **kwargs
    )


def test_registry_task_and_metadata() -> None:
    info = get_dataset("matrix_completion")
    assert (info.task, info.n_classes, info.input_shape) == ("regression", 1, (2,))
    assert dict(info.metadata) == {
        "shape": (500, 400),
        "rank": 8,
        "noise_std": 0.1,
        "observed_fraction": 0.2,
    }
    with pytest.raises(TypeError):
        info.metadata["rank"] = 4  # type: ignore[index]
    x, _ = info.load("test", seed=0)
    assert int(x[:, 0].max()) < info.metadata["shape"][0]
    # the existing data sets keep the default task and empty metadata
    expected_task = {
        "fashion_segmentation": "segmentation",
        "text_shakespeare": "language_model",
        "matrix_completion": "regression",
    }
    for name, d in DATASETS.items():
        assert d.task == expected_task.get(name, "classification") and d.task in TASKS
        if name not in expected_task:
            assert dict(d.metadata) == {}
    rows = {r["name"]: r for r in describe_datasets()}
    assert rows["iris"]["task"] == "classification"
    assert rows["text_shakespeare"]["task"] == "language_model"
    assert rows["fashion_segmentation"]["classes"] == "11"
    assert rows["matrix_completion"]["shape"] == "2"
    # validation, immutability, and metadata copied at construction
    source = {"k": 1}
    made = _info(metadata=source)
    source["k"] = 2
    assert made.metadata["k"] == 1 and made.task == "classification"
    with pytest.raises(ValueError, match="task must be one of classification, segmentation"):
        _info(task="ranking")
    with pytest.raises(TypeError, match="metadata must be a mapping"):
        _info(metadata=[1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.task = "classification"  # type: ignore[misc]
    assert hash(info) == hash(info)  # still hashable with a mapping field
