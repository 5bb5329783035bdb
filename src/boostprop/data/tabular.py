"""Small tabular classification sets bundled with scikit-learn (no download).

Used for the convex threshold-network experiments on real data (Ergen et al. 2023,
arXiv:2303.03382) and for quick checks of the other techniques: ``digits`` (Alpaydin and Kaynak
1998), ``breast_cancer`` (Wisconsin diagnostic, Street et al. 1993), ``wine`` (Forina et al.) and
``iris`` (Fisher 1936). Each is split 60/20/20 (stratified, determined by the seed) and standardised
with the mean and standard deviation of the training part only.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_seed, check_split

__all__ = ["TABULAR_DATASETS", "load_tabular", "tabular_shape"]

TABULAR_DATASETS: tuple[str, ...] = ("digits", "breast_cancer", "wine", "iris")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in TABULAR_DATASETS:
        raise ValueError(f"name must be one of {', '.join(TABULAR_DATASETS)}; got {name!r}")
    return name


@functools.cache
def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def tabular_shape(name: str) -> tuple[int, int]:
    """(number of features, number of classes) of a bundled set.

    Example:
        >>> tabular_shape("iris")
        (4, 3)
    """
    x, y = _raw(_check_name(name))
    return x.shape[1], len(np.unique(y))


@functools.lru_cache(maxsize=32)
def _split(name: str, seed: int) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    x, y = _raw(name)
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=seed)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    out: dict[str, np.ndarray] = {}
    for split, unsorted in (("train", train), ("val", val), ("test", test)):
        rows = np.sort(unsorted)
        xs = ((x[rows] - mean) / std).astype(np.float32)
        ys = y[rows].copy()
        xs.flags.writeable = False
        ys.flags.writeable = False
        out[f"{split}_x"], out[f"{split}_y"], out[f"{split}_idx"] = xs, ys, rows
    return out


def load_tabular(name: str, split: Split, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Load a standardised split of a scikit-learn bundled set: x float32 (N, d), y int64.

    The train/val/test split is 60/20/20, stratified and determined by ``seed``; features are
    standardised with the training part's mean and (population) standard deviation, a constant
    feature being divided by 1. Unknown names raise ``ValueError`` listing the valid ones.

    Example:
        >>> x, y = load_tabular("iris", "train", seed=0)
        >>> tuple(x.shape), y.dtype
        ((90, 4), torch.int64)
    """
    _check_name(name)
    check_split(split)
    data = _split(name, check_seed(seed))
    return torch.tensor(data[f"{split}_x"]), torch.tensor(data[f"{split}_y"])
