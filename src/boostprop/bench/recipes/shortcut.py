"""Recipes of Raiko, Valpola and LeCun (2012), "Deep Learning Made Easier by Linear
Transformations in Perceptrons" (AISTATS), and Vatanen, Raiko, Valpola and LeCun (2013),
"Pushing Stochastic Gradient towards Second-Order Methods" (ICONIP, arXiv:1301.3476).

A plain tanh network, shortcuts without transformations, with α+β, with α+β+γ; all SGD with
momentum 0.9 and softmax-CE; a weight that skips k extra layers gets lr·2^(−k).

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe(AB).model
    'shortcut-mlp'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from boostprop.bench.components import forwards_to
from boostprop.bench.recipes._registry import HOOKS, OPTIMIZERS, Recipe, TrainHook, register_recipe
from boostprop.models import MODELS, register_model
from boostprop.nn import ShortcutMLP, TransformSchedule, shortcut_param_groups


@forwards_to(ShortcutMLP, skip=1)
def shortcut_mlp(
    input_shape: tuple[int, ...], n_classes: int, *, widths: Sequence[int], **kwargs: Any
) -> nn.Module:
    """A :class:`~boostprop.nn.ShortcutMLP` ``in → widths… → n_classes`` (transformed tanh
    units by construction, the papers' initialisation built in)."""
    return ShortcutMLP([math.prod(input_shape), *widths, n_classes], **kwargs)


def sgd_shortcut(model: nn.Module, lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    """SGD with momentum; a weight that skips k extra layers gets lr·2^(−k) (Raiko et al.)."""
    return torch.optim.SGD(shortcut_param_groups(model, lr), lr=lr, momentum=momentum)


@forwards_to(TransformSchedule, skip=1)
def transforms(model: nn.Module, **kwargs: Any) -> TrainHook:
    """The transformation schedule (:class:`~boostprop.nn.TransformSchedule`) as a hook."""
    return TransformSchedule(model, **kwargs)  # type: ignore[return-value]


if "shortcut-mlp" not in MODELS:
    register_model("shortcut-mlp", shortcut_mlp)
OPTIMIZERS["sgd-shortcut"] = sgd_shortcut
HOOKS["transforms"] = transforms

# Transformations on every minibatch for the first 200 steps, then once per epoch on a sample.
SCHEDULE = {"every_steps": 1, "until_step": 200, "epoch_sample": 10_000}
PLAIN, NONE, AB, ABG = "tanh-mlp", "shortcut-none", "shortcut-ab", "shortcut-abg"
register_recipe(
    Recipe(
        PLAIN,
        "softmax-ce",
        "sgd-momentum",
        0.05,
        model="shortcut-mlp",
        model_kwargs={"transforms": "none", "shortcuts": False},
        description="tanh network without shortcuts or transformations, SGD",
    )
)
register_recipe(
    Recipe(
        NONE,
        "softmax-ce",
        "sgd-shortcut",
        0.05,
        model="shortcut-mlp",
        model_kwargs={"transforms": "none", "shortcuts": True},
        description="shortcut tanh network without transformations, SGD",
    )
)
register_recipe(
    Recipe(
        AB,
        "softmax-ce",
        "sgd-shortcut",
        0.7,
        model="shortcut-mlp",
        model_kwargs={"transforms": "alpha_beta", "shortcuts": True},
        hooks=(("transforms", SCHEDULE),),
        description="shortcut network, transformations α, β, SGD",
    )
)
register_recipe(
    Recipe(
        ABG,
        "softmax-ce",
        "sgd-shortcut",
        0.2,
        model="shortcut-mlp",
        model_kwargs={"transforms": "alpha_beta_gamma", "gamma": "balance", "shortcuts": True},
        hooks=(("transforms", SCHEDULE),),
        description="shortcut network, transformations α, β, γ (balance), SGD",
    )
)
