"""Recipes of Munoz (2025), "Simple Linear Neuron Boosting", arXiv:2502.01131.

NeuronBoost (an input-whitening preconditioner solved by a few CG steps per linear module) and
its diagonal-metric variant, with softmax cross-entropy.

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe(NB).optimizer
    'neuronboost'
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from boostprop.bench.components import forwards_to
from boostprop.bench.recipes._registry import OPTIMIZERS, Recipe, register_recipe
from boostprop.optim import NeuronBoost

NB, NB_DIAG, NB_PAPER = "neuronboost", "neuronboost-diag", "neuronboost-paper"
NB_LR = 0.1  # NeuronBoost's default (with its default ridge 1.0; see docs/neuron_boost.md)
PAPER_LR = 0.5
# the reference example (jaxlnb's MNIST notebook): constant lr 0.5, ridge 1.0, global-norm clip 1.0
REFERENCE = {"ridge": 1.0, "grad_clip": 1.0}


@forwards_to(NeuronBoost, skip=2)
def neuronboost(model: nn.Module, lr: float, **kwargs: Any) -> torch.optim.Optimizer:
    """:class:`~boostprop.optim.NeuronBoost` on ``model`` (it takes the model, not its
    parameters); ``kwargs`` are NeuronBoost's."""
    return NeuronBoost(model, lr=lr, **kwargs)


OPTIMIZERS["neuronboost"] = neuronboost
register_recipe(
    Recipe(
        NB,
        "softmax-ce",
        "neuronboost",
        NB_LR,
        description="softmax-CE, NeuronBoost (its defaults: CG 2 iterations, ridge 1.0)",
    )
)
register_recipe(
    Recipe(
        NB_DIAG,
        "softmax-ce",
        "neuronboost",
        NB_LR,
        optimizer_kwargs={"approx_metric": True},
        description="softmax-CE, NeuronBoost with the diagonal metric only",
    )
)
register_recipe(
    Recipe(
        NB_PAPER,
        "softmax-ce",
        "neuronboost",
        PAPER_LR,
        optimizer_kwargs=REFERENCE,
        description="softmax-CE, NeuronBoost as in the reference example (lr 0.5, ridge 1.0, clip 1.0)",
    )
)
