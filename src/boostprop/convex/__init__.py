"""Globally optimal training of threshold-activation networks by convex (group) Lasso.

Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural Networks with Threshold
Activation Functions", ICLR 2023 (arXiv:2303.03382). See ``docs/convex_threshold.md``.

* ``sample_patterns`` / ``enumerate_patterns``: the dictionary H of arrangement patterns.
* ``solve_lasso``: (group) Lasso to a certified relative duality gap (SSNAL / FISTA / cvxpy).
* ``ThresholdNetwork.from_lasso``: the two-layer threshold network of a solution;
  ``network_objective``: its weight-decay objective.
* ``fit_three_layer``: the three-layer closed form on a shattered dictionary.
* ``train_ste``: straight-through-estimator baselines.
* ``ThresholdNetClassifier`` / ``ThresholdNetRegressor``: scikit-learn estimators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .arrangements import Patterns, count_bound, enumerate_patterns, sample_patterns
from .deep import (
    ThreeLayerResult,
    ThreeLayerThresholdNetwork,
    default_width,
    fit_three_layer,
    shattered_lasso_closed_form,
)
from .lasso import LassoResult, lasso_objective, solve_lasso
from .networks import ThresholdNetwork, network_objective
from .ste import STENetwork, STEResult, ste_threshold, train_ste

if TYPE_CHECKING:
    from .estimators import ThresholdNetClassifier, ThresholdNetRegressor

_LAZY = ("ThresholdNetClassifier", "ThresholdNetRegressor")


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators, imported on first use (scikit-learn takes ~1 s to import,
    and training scripts that use only the solver or the other techniques never need it)."""
    if name in _LAZY:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LassoResult",
    "Patterns",
    "STENetwork",
    "STEResult",
    "ThreeLayerResult",
    "ThreeLayerThresholdNetwork",
    "ThresholdNetClassifier",
    "ThresholdNetRegressor",
    "ThresholdNetwork",
    "count_bound",
    "default_width",
    "enumerate_patterns",
    "fit_three_layer",
    "lasso_objective",
    "network_objective",
    "sample_patterns",
    "shattered_lasso_closed_form",
    "solve_lasso",
    "ste_threshold",
    "train_ste",
]
