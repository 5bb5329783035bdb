"""The baselines every technique is compared against: softmax cross-entropy (and the linear and
sigmoid outputs of Øland et al. 2017's comparison) with SGD with momentum or Adam.

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe(SGD).lr
    0.05
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from boostprop.bench.recipes._registry import (
    LOSSES,
    OPTIMIZERS,
    LossFn,
    Recipe,
    register_recipe,
)

SGD_LR = 0.05
ADAM_LR = 1e-3
SGD, ADAM = "softmax-ce+sgd", "softmax-ce+adam"


def softmax_ce(n_classes: int, label_smoothing: float = 0.0) -> LossFn:
    """Softmax cross-entropy (``F.cross_entropy``), optionally label-smoothed."""

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, y, label_smoothing=label_smoothing)

    return loss


def _one_hot(y: torch.Tensor, n_classes: int, like: torch.Tensor) -> torch.Tensor:
    """One-hot targets with the classes on dimension 1, like class scores (N, C, ...)."""
    return F.one_hot(y, n_classes).movedim(-1, 1).to(like.dtype)


def linear_mse(n_classes: int) -> LossFn:
    """½‖z − onehot(y)‖² per sample, so that δ = z − t (Øland et al.'s linear baseline).

    Class scores are on dimension 1, (N, C) or (N, C, ...) against targets (N, ...); the sum
    over classes is averaged over samples (and positions).

    Example:
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
        >>> float(linear_mse(2)(z, torch.tensor([0, 1])))  # (0 + 1) / 2 per sample, halved
        0.25
    """

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = _one_hot(y, n_classes, z)
        return 0.5 * (z - t).pow(2).sum(dim=1).mean()

    return loss


def sigmoid_bce(n_classes: int) -> LossFn:
    """Per-class sigmoid outputs with binary cross-entropy, summed over classes (dimension 1 of
    (N, C) or (N, C, ...) scores) and averaged over samples (and positions)."""

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = _one_hot(y, n_classes, z)
        return F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(dim=1).mean()

    return loss


def sgd_momentum(
    model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` with momentum over every parameter of ``model``."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def adam(model: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` over every parameter of ``model``."""
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


LOSSES.update({"softmax-ce": softmax_ce, "linear-mse": linear_mse, "sigmoid-bce": sigmoid_bce})
OPTIMIZERS.update({"sgd-momentum": sgd_momentum, "adam": adam})

register_recipe(
    Recipe(
        SGD,
        "softmax-ce",
        "sgd-momentum",
        SGD_LR,
        description="softmax cross-entropy, SGD with momentum 0.9",
    )
)
register_recipe(
    Recipe(ADAM, "softmax-ce", "adam", ADAM_LR, description="softmax cross-entropy, Adam")
)
