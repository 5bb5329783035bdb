"""MNIST-1D (Greydanus 2020, "Scaling down deep learning", arXiv:2011.14439), generated locally.

The ``mnist1d`` package's own generator (``mnist1d.data.make_dataset``) is called with its default
arguments and a chosen seed; its download and pickle cache are never used. The generator reseeds
Python's and numpy's global RNGs; their state is saved and restored around the call, so loading
never disturbs the caller's random streams.

Generation takes several seconds, so the generated arrays are kept in an ``.npz`` file of our own
under ``$BOOSTPROP_CACHE_DIR`` (default ``~/.cache/boostprop/mnist1d/``), keyed by the seed and the
``mnist1d`` version, and read back with ``allow_pickle=False``; a corrupt or unreadable cache file
is regenerated. Set ``BOOSTPROP_CACHE_DIR`` to an unwritable place to disable it.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_seed, check_split

__all__ = ["MNIST1D_LENGTH", "load_mnist1d"]

MNIST1D_LENGTH = 40
_SPLIT_SALT = 0x4D31  # "M1": salt of the train/val permutation
_LOCK = threading.Lock()


def _cache_file(seed: int) -> Path:
    try:
        ver = version("mnist1d")
    except PackageNotFoundError:  # pragma: no cover - mnist1d is a dependency
        ver = "unknown"
    root = Path(os.environ.get("BOOSTPROP_CACHE_DIR", Path.home() / ".cache" / "boostprop"))
    return root / "mnist1d" / f"mnist1d-{ver}-seed{seed}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)  # atomic: concurrent workers never see a half-written file
    except OSError:
        pass  # a cache is an optimisation only


@functools.lru_cache(maxsize=8)
def _generate(seed: int) -> dict[str, np.ndarray]:
    """The data set for ``seed``, split; arrays are read-only (cached in-process and on disk)."""
    path = _cache_file(seed)
    cached = _read_cache(path)
    expected = {"train_x", "train_y", "val_x", "val_y", "test_x", "test_y", "train_idx", "val_idx"}
    if cached is None or set(cached) != expected:
        cached = _make(seed)
        _write_cache(path, cached)
    for arr in cached.values():
        arr.flags.writeable = False
    return cached


def _make(seed: int) -> dict[str, np.ndarray]:
    """Run the ``mnist1d`` generator for ``seed`` and split its training part into train/val."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    with _LOCK:
        py_state = random.getstate()
        np_state = np.random.get_state()
        try:
            data = make_dataset(args)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
    x = np.asarray(data["x"], dtype=np.float32)
    y = np.asarray(data["y"], dtype=np.int64)
    perm = np.random.default_rng([_SPLIT_SALT, seed]).permutation(len(y))
    n_val = len(y) // 10
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    out: dict[str, np.ndarray] = {
        "train_x": x[train],
        "train_y": y[train],
        "val_x": x[val],
        "val_y": y[val],
        "test_x": np.asarray(data["x_test"], dtype=np.float32),
        "test_y": np.asarray(data["y_test"], dtype=np.int64),
        "train_idx": train,
        "val_idx": val,
    }
    return out


def load_mnist1d(split: Split, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Load a split of MNIST-1D generated locally with ``seed``: x float32 (N, 40), y int64.

    With the generator's defaults (5,000 samples, 80% train) "train" has 3,600 rows, "val" 400
    (a seed-determined 10% of the generator's training part, disjoint from "train") and "test"
    1,000. Cached per seed in-process; every call returns new tensors.

    Example:
        >>> x, y = load_mnist1d("train", seed=0)
        >>> tuple(x.shape), y.dtype
        ((3600, 40), torch.int64)
    """
    check_split(split)
    data = _generate(check_seed(seed))
    return torch.tensor(data[f"{split}_x"]), torch.tensor(data[f"{split}_y"])
