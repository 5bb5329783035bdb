"""Budgets of the presets, shared by every claim so that recipes and claims are comparable.

``smoke`` is for the test suite (seconds), ``quick`` for ``make reproduce`` (minutes on two
cores), ``full`` for the larger experiments (hours). Targets are validation accuracies set where
a tuned softmax cross-entropy baseline gets in roughly half of the budget, so that a faster
method has room to show it and a slower one still has a chance to arrive.

Example:
    >>> budget("quick", "mnist1d").epochs
    20
"""

from __future__ import annotations

from dataclasses import dataclass

from boostprop.bench.claims.base import check_preset


@dataclass(frozen=True)
class Budget:
    epochs: int
    batch_size: int
    seeds: int
    lr_factors: tuple[float, ...]
    target: float
    train_subset: int | None
    eval_subset: int | None = None  # validation/test samples (smoke only: all otherwise)
    max_width: int | None = None  # hidden widths capped at this (smoke only)


_LR5 = (0.1, 1 / 3, 1.0, 3.0, 10.0)

# (preset, data set / model) -> budget
_BUDGETS: dict[tuple[str, str], Budget] = {
    ("smoke", "fashion_mnist"): Budget(2, 64, 2, (1.0,), 0.5, 256, 256, 32),
    ("smoke", "fashion_mnist_cnn"): Budget(2, 64, 2, (1.0,), 0.5, 256, 256, 32),
    ("smoke", "mnist1d"): Budget(2, 64, 2, (1.0,), 0.2, 256, 256, 32),
    ("quick", "fashion_mnist"): Budget(8, 128, 3, _LR5, 0.83, 6000),
    ("quick", "fashion_mnist_cnn"): Budget(6, 128, 3, _LR5, 0.85, 6000),
    ("quick", "mnist1d"): Budget(20, 128, 3, _LR5, 0.60, None),
    ("full", "fashion_mnist"): Budget(20, 128, 5, _LR5, 0.885, None),
    ("full", "fashion_mnist_cnn"): Budget(15, 128, 5, _LR5, 0.905, None),
    # 0.65: the baselines of a full run (commit 44210a6) reach 0.615–0.685 at epoch 30 of 60;
    # the first setting, 0.70, was reached by none of their 10 final runs.
    ("full", "mnist1d"): Budget(60, 128, 5, _LR5, 0.65, None),
}


def budget(preset: str, setting: str) -> Budget:
    """The budget of ``setting`` (a data set, or ``<data set>_cnn``) under ``preset``."""
    check_preset(preset)
    try:
        return _BUDGETS[(preset, setting)]
    except KeyError:
        known = sorted({s for _, s in _BUDGETS})
        raise ValueError(f"setting: expected one of {known}, got {setting!r}") from None
