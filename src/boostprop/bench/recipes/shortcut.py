"""Recipes of Raiko, Valpola and LeCun (2012), "Deep Learning Made Easier by Linear
Transformations in Perceptrons" (AISTATS), and Vatanen, Raiko, Valpola and LeCun (2013),
"Pushing Stochastic Gradient towards Second-Order Methods" (ICONIP, arXiv:1301.3476).

A plain tanh network, shortcuts without transformations, with α+β, with α+β+γ; all SGD with
momentum 0.9 and softmax-CE; a weight that skips k extra layers gets lr·2^(−k).

The ``-paper`` recipes run the authors' own training loop (:mod:`.raiko_protocol`): the ICONIP
demo's learning rates (0.05 without transformations, 0.7 with α, β, 0.2 with α, β, γ), input
noise σ = 0.3, transform-then-step, the momentum and learning-rate schedule and the switch to
per-epoch updates; they are run untuned, with batch 1000.

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
from boostprop.bench.recipes.raiko_protocol import sgd_raiko  # registers the paper's pieces
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
assert OPTIMIZERS["sgd-raiko"] is sgd_raiko
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

# The authors' loop (ltmlp_demo3.m / ltmlp_train2.m): their constants, one hook for the protocol.
PAPER_HOOKS: tuple[tuple[str, dict[str, Any]], ...] = (("raiko-protocol", {}),)
NONE_PAPER, AB_PAPER, ABG_PAPER = "shortcut-none-paper", "shortcut-ab-paper", "shortcut-abg-paper"
PAPER_LRS = {NONE_PAPER: 0.05, AB_PAPER: 0.7, ABG_PAPER: 0.2}
for _name, _kwargs, _what in (
    (NONE_PAPER, {"transforms": "none"}, "no transformations"),
    (AB_PAPER, {"transforms": "alpha_beta"}, "transformations α, β"),
    (ABG_PAPER, {"transforms": "alpha_beta_gamma", "gamma": "balance"}, "α, β, γ (balance)"),
):
    register_recipe(
        Recipe(
            _name,
            "softmax-ce",
            "sgd-raiko",
            PAPER_LRS[_name],
            model="shortcut-mlp-paper",
            model_kwargs={**_kwargs, "shortcuts": True},
            hooks=PAPER_HOOKS,
            description=f"shortcut network, {_what}, the authors' training loop",
        )
    )
