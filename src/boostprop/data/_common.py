"""Shared helpers of :mod:`boostprop.data`: the split names and argument validation.

The data sets served here are those used by the papers boostprop reproduces: Fashion-MNIST
(Xiao, Rasul and Vollgraf 2017, arXiv:1708.07747), MNIST-1D (Greydanus 2020, arXiv:2011.14439),
scikit-learn's bundled tabular sets, and the synthetic teacher of Ergen et al. 2023
(arXiv:2303.03382, Figure 2).
"""

from __future__ import annotations

from typing import Literal

Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")

__all__ = ["SPLITS", "Split", "check_seed", "check_split"]


def check_split(split: object) -> Split:
    """Return ``split`` unchanged if it is one of ``"train"``, ``"val"``, ``"test"``.

    Example:
        >>> check_split("val")
        'val'
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of 'train', 'val', 'test'; got {split!r}")
    return split  # type: ignore[return-value]


def check_seed(seed: object, *, name: str = "seed") -> int:
    """Return ``seed`` if it is an int in [0, 2**32), else raise a clear error.

    Example:
        >>> check_seed(3)
        3
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be in [0, 2**32), got {seed}")
    return seed
