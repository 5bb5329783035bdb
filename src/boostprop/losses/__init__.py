"""Losses of boostprop, all following ``torch.nn.functional.cross_entropy``'s conventions.

* exponential / cubic gradient boosting of linear outputs — Øland et al., arXiv:1707.04199 (2017);
* rooted logistic objectives, binary and multi-class — Wang et al., arXiv:2310.03890 (2023);
* softmax focal loss (the RLO paper's baseline) — Lin et al., arXiv:1708.02002 (2017).

Example:
    >>> import torch
    >>> from boostprop.losses import exp_boost_loss
    >>> loss = exp_boost_loss(torch.randn(8, 10), torch.randint(0, 10, (8,)))
"""

from __future__ import annotations

from .expboost import CubicBoostLoss, ExpBoostLoss, cubic_boost_loss, exp_boost_loss
from .focal import FocalLoss, focal_loss
from .rooted import (
    BinaryRootedLogisticLoss,
    RootedLogisticLoss,
    binary_rooted_logistic_loss,
    rooted_logistic_loss,
)

__all__ = [
    "BinaryRootedLogisticLoss",
    "CubicBoostLoss",
    "ExpBoostLoss",
    "FocalLoss",
    "RootedLogisticLoss",
    "binary_rooted_logistic_loss",
    "cubic_boost_loss",
    "exp_boost_loss",
    "focal_loss",
    "rooted_logistic_loss",
]
