"""Neural-network building blocks: perceptrons with transformed nonlinearities and shortcuts.

T. Raiko, H. Valpola, Y. LeCun, "Deep Learning Made Easier by Linear Transformations in Perceptrons",
AISTATS 2012; T. Vatanen, T. Raiko, H. Valpola, Y. LeCun, "Pushing Stochastic Gradient towards
Second-Order Methods — Backpropagation Learning with Transformations in Nonlinearities", ICONIP 2013.
See ``docs/transforms.md``.

Example:
    >>> from boostprop.nn import ShortcutMLP, shortcut_param_groups
    >>> net = ShortcutMLP([784, 800, 800, 10], transforms="alpha_beta")
    >>> opt = torch.optim.SGD(shortcut_param_groups(net, 0.7), lr=0.7, momentum=0.5)
"""

from __future__ import annotations

import torch  # noqa: F401  (used by the docstring example)

from . import analysis
from .analysis import HessianReport, hessian_analysis
from .schedule import TransformSchedule, shortcut_param_groups
from .shortcut import ShortcutAutoencoder, ShortcutMLP, TransformedTanh

__all__ = [
    "HessianReport",
    "ShortcutAutoencoder",
    "ShortcutMLP",
    "TransformSchedule",
    "TransformedTanh",
    "analysis",
    "hessian_analysis",
    "shortcut_param_groups",
]
