"""boostprop: reference implementations of five published "train neural networks faster" techniques,
and a harness that checks their claims side by side against tuned baselines.

- Øland et al. 2017, linear outputs with exponential gradient boosting: :func:`exp_boost_loss`,
  :func:`cubic_boost_loss`.
- Wang et al. 2023, rooted logistic objectives: :func:`rooted_logistic_loss`,
  :func:`binary_rooted_logistic_loss`, :class:`RootedLogisticRegression` (and the focal-loss
  baseline :func:`focal_loss`).
- Munoz 2025, linear neuron boosting: :class:`NeuronBoost`.
- Raiko et al. 2012 / Vatanen et al. 2013, transformed nonlinearities with shortcuts:
  :class:`ShortcutMLP`, :class:`ShortcutAutoencoder`.
- Ergen et al. 2023, convex training of threshold networks: :class:`ThresholdNetClassifier`,
  :class:`ThresholdNetRegressor`, :func:`solve_lasso`.

See ``docs/`` for one page per technique (math, API, measured verdict).

Example:
    >>> import boostprop
    >>> boostprop.__version__
    '0.1.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boostprop.convex import solve_lasso
from boostprop.losses import (
    BinaryRootedLogisticLoss,
    CubicBoostLoss,
    ExpBoostLoss,
    FocalLoss,
    RootedLogisticLoss,
    binary_rooted_logistic_loss,
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)
from boostprop.nn import ShortcutAutoencoder, ShortcutMLP, TransformSchedule, shortcut_param_groups
from boostprop.optim import NeuronBoost

if TYPE_CHECKING:
    from boostprop.convex import ThresholdNetClassifier, ThresholdNetRegressor
    from boostprop.linear_models import RootedLogisticRegression

# scikit-learn estimators, imported on first use (scikit-learn takes ~1 s to import)
_LAZY = {
    "ThresholdNetClassifier": "boostprop.convex",
    "ThresholdNetRegressor": "boostprop.convex",
    "RootedLogisticRegression": "boostprop.linear_models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BinaryRootedLogisticLoss",
    "CubicBoostLoss",
    "ExpBoostLoss",
    "FocalLoss",
    "NeuronBoost",
    "RootedLogisticLoss",
    "RootedLogisticRegression",
    "ShortcutAutoencoder",
    "ShortcutMLP",
    "ThresholdNetClassifier",
    "ThresholdNetRegressor",
    "TransformSchedule",
    "__version__",
    "binary_rooted_logistic_loss",
    "cubic_boost_loss",
    "exp_boost_loss",
    "focal_loss",
    "rooted_logistic_loss",
    "shortcut_param_groups",
    "solve_lasso",
]
