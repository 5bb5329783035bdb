"""Tests of boostprop.data.load_mnist1d against the mnist1d generator called directly."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import torch
from mnist1d.data import get_dataset_args, make_dataset

from boostprop.data import load_mnist1d


def _reference(seed: int) -> dict[str, np.ndarray]:
    """The generator called directly (restoring the global RNGs it reseeds)."""
    args = get_dataset_args()
    args.seed = seed
    py, nps = random.getstate(), np.random.get_state()
    try:
        return make_dataset(args)
    finally:
        random.setstate(py)
        np.random.set_state(nps)


def _rows(x: np.ndarray, y: np.ndarray) -> Counter[tuple[bytes, int]]:
    return Counter((row.tobytes(), int(lab)) for row, lab in zip(x, y, strict=True))


def test_sizes_partition_and_test_part() -> None:
    (xtr, ytr), (xva, yva), (xte, yte) = (load_mnist1d(s, seed=0) for s in ("train", "val", "test"))
    assert xtr.shape == (3600, 40) and xva.shape == (400, 40) and xte.shape == (1000, 40)
    for x, y in ((xtr, ytr), (xva, yva), (xte, yte)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert set(y.tolist()) == set(range(10))
    ref = _reference(0)
    full = _rows(ref["x"].astype(np.float32), ref["y"])
    tr, va = _rows(xtr.numpy(), ytr.numpy()), _rows(xva.numpy(), yva.numpy())
    assert tr + va == full  # train and val partition the generator's training part
    assert not (set(tr) & set(va))
    np.testing.assert_array_equal(xte.numpy(), ref["x_test"].astype(np.float32))
    np.testing.assert_array_equal(yte.numpy(), ref["y_test"])


@pytest.fixture
def empty_disk_cache(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty on-disk cache, and an empty in-process cache, so the generator really runs."""
    from boostprop.data import mnist1d as module

    monkeypatch.setenv("BOOSTPROP_CACHE_DIR", str(tmp_path / "cache"))
    module._generate.cache_clear()
    yield tmp_path / "cache" / "mnist1d"
    module._generate.cache_clear()


def test_disk_cache_round_trip_and_corruption(empty_disk_cache) -> None:
    from boostprop.data import mnist1d as module

    x1, y1 = load_mnist1d("train", seed=2)
    files = list(empty_disk_cache.glob("*.npz"))
    assert len(files) == 1 and "seed2" in files[0].name
    module._generate.cache_clear()
    x2, y2 = load_mnist1d("train", seed=2)  # from the file
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated: must be regenerated
    module._generate.cache_clear()
    x3, _ = load_mnist1d("train", seed=2)
    assert torch.equal(x1, x3)
    ref = _reference(2)
    assert _rows(x1.numpy(), y1.numpy()) + _rows(
        *(t.numpy() for t in load_mnist1d("val", seed=2))
    ) == _rows(ref["x"].astype(np.float32), ref["y"])


def test_determinism_seed_dependence_fresh_tensors_and_global_rng(empty_disk_cache) -> None:
    x1, y1 = load_mnist1d("val", seed=0)
    x1.zero_()
    x2, y2 = load_mnist1d("val", seed=0)
    assert torch.equal(y1, y2) and not torch.equal(x1, x2)  # callers get their own tensors
    # seed 1 is used by no other test, so the generator really runs here: it reseeds numpy's and
    # Python's global RNGs internally, which the loader must undo
    np.random.seed(1234)
    random.seed(1234)
    torch.manual_seed(1234)
    x3, _ = load_mnist1d("val", seed=1)
    after = (np.random.rand(3), random.random(), torch.rand(3))
    np.random.seed(1234)
    random.seed(1234)
    torch.manual_seed(1234)
    expected = (np.random.rand(3), random.random(), torch.rand(3))
    np.testing.assert_array_equal(after[0], expected[0])
    assert after[1] == expected[1]
    assert torch.equal(after[2], expected[2])
    assert x3.shape == x2.shape and not torch.equal(x2, x3)
    x4, _ = load_mnist1d("val", seed=1)
    assert torch.equal(x3, x4)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"split.*'train', 'val', 'test'"):
        load_mnist1d("dev")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        load_mnist1d("train", seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        load_mnist1d("train", seed=-1)
