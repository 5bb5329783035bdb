"""Recipes for regression workloads (matrix completion, Munoz 2025's matrix factorisation):
mean squared error on the model's scalar output, with SGD with momentum, Adam or NeuronBoost.

``mse`` applies to the ``"regression"`` task only (:data:`~._registry.LOSS_TASKS`), and the
class-index losses do not apply to it, so a plan that pairs them wrongly is refused when it is
made (:func:`~._registry.check_applies`). Runs of a regression are judged by validation RMSE,
lower is better (:mod:`._tasks`).

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe(MSE_NB).loss, get_recipe(MSE_NB).optimizer
    ('mse', 'neuronboost')
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from boostprop.bench.recipes._registry import LOSS_TASKS, LOSSES, LossFn, Recipe, register_recipe
from boostprop.bench.recipes.baselines import ADAM_LR, SGD_LR
from boostprop.bench.recipes.neuron_boost import NB_LR

MSE_SGD, MSE_ADAM, MSE_NB, MSE_NB_DIAG = (
    "mse+sgd",
    "mse+adam",
    "mse+neuronboost",
    "mse+neuronboost-diag",
)


def mse(n_classes: int) -> LossFn:
    """Mean squared error between the model's one output per sample, (N,) or (N, 1), and the
    float targets (N,). Any other output shape is refused (a class-score model on a regression).

    Example:
        >>> float(mse(1)(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])))  # (1 + 4) / 2
        2.5
    """

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y.dim() != 1 or z.shape not in ((len(y),), (len(y), 1)):
            raise ValueError(
                f"mse: expected one output per sample, (N,) or (N, 1), for targets (N,); got "
                f"outputs {tuple(z.shape)} for targets {tuple(y.shape)}"
            )
        return F.mse_loss(z.reshape(len(y)), y.to(z.dtype))

    return loss


LOSSES["mse"] = mse
LOSS_TASKS["mse"] = ("regression",)

for _name, _optimizer, _lr, _kwargs, _desc in (
    (MSE_SGD, "sgd-momentum", SGD_LR, {}, "mean squared error, SGD with momentum 0.9"),
    (MSE_ADAM, "adam", ADAM_LR, {}, "mean squared error, Adam"),
    (MSE_NB, "neuronboost", NB_LR, {}, "mean squared error, NeuronBoost (its defaults)"),
    (
        MSE_NB_DIAG,
        "neuronboost",
        NB_LR,
        {"approx_metric": True},
        "mean squared error, NeuronBoost with the diagonal metric only",
    ),
):
    register_recipe(
        Recipe(_name, "mse", _optimizer, _lr, optimizer_kwargs=_kwargs, description=_desc)
    )
