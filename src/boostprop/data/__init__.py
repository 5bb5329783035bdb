"""Data sets for boostprop's experiments: Fashion-MNIST (Xiao, Rasul and Vollgraf 2017,
arXiv:1708.07747) through a strict IDX reader, MNIST-1D (Greydanus 2020, arXiv:2011.14439)
generated locally, scikit-learn's bundled tabular sets, and the synthetic teacher of Ergen et al.
2023 (arXiv:2303.03382, Figure 2).

Every loader returns ``(x, y)`` with float32 ``x`` and int64 ``y``, deterministic for a given seed.

Example:
    >>> from boostprop.data import get_dataset
    >>> x, y = get_dataset("iris").load("train", seed=0)
"""

from __future__ import annotations

from ._common import SPLITS, Split
from .fashion_mnist import ChecksumError, load_fashion_mnist
from .idx import IdxFormatError, read_idx
from .mnist1d import load_mnist1d
from .registry import DATASETS, DatasetInfo, describe_datasets, get_dataset
from .tabular import TABULAR_DATASETS, load_tabular
from .teacher import make_teacher, teacher_weights

__all__ = [
    "DATASETS",
    "SPLITS",
    "TABULAR_DATASETS",
    "ChecksumError",
    "DatasetInfo",
    "IdxFormatError",
    "Split",
    "describe_datasets",
    "get_dataset",
    "load_fashion_mnist",
    "load_mnist1d",
    "load_tabular",
    "make_teacher",
    "read_idx",
    "teacher_weights",
]
