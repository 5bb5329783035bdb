"""Recipes of Øland, Bansal, Dannenberg and Raj (2017), "Be Careful What You Backpropagate: A
Case For Linear Output Activations & Gradient Boosting", arXiv:1707.04199.

A linear output layer whose backpropagated error is exponentiated (expGB) or cubed (cubic GB),
and the paper's other outputs (linear + squared error, sigmoid + BCE), each with SGD with
momentum and with Adam.

The paper protocol's recipes (``<loss>+sgd-step``, :data:`PAPER_RECIPES`): every output trained
with one shared setup, as the paper swaps only the output layer of a standard network. The
paper's optimizer constants are not in the text we could consult (the abstract and the
introduction); the setup is the standard SGD recipe for CNNs of the time: momentum 0.9, learning
rate 0.01, weight decay 5e-4, the learning rate × 0.1 after 50% and 75% of the epochs (He et al.
2016's CIFAR-10 schedule); expGB alpha = 0.1, beta = 0 and cubic alpha = 1e-3, beta = 0.

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe("expboost+adam").loss
    'expboost'
    >>> dict(get_recipe("expboost+sgd-step").optimizer_kwargs)
    {'momentum': 0.9, 'weight_decay': 0.0005}
"""

from __future__ import annotations

from typing import Any

from boostprop.bench.recipes import schedules  # noqa: F401  (registers the paper's schedules)
from boostprop.bench.recipes._registry import LOSSES, Recipe, functional_loss, register_recipe
from boostprop.bench.recipes.baselines import ADAM_LR, SGD_LR
from boostprop.losses import cubic_boost_loss, exp_boost_loss

LOSSES["expboost"] = functional_loss(exp_boost_loss)
LOSSES["cubicboost"] = functional_loss(cubic_boost_loss)

OPTIMIZERS_LR = {"sgd": ("sgd-momentum", SGD_LR), "adam": ("adam", ADAM_LR)}
LOSS_NAMES = {
    "softmax-ce": "softmax cross-entropy",
    "linear-mse": "linear output, squared error (δ = z − t)",
    "sigmoid-bce": "saturating sigmoid outputs, binary cross-entropy",
    "expboost": "linear output, exponential gradient boosting (alpha 0.1, beta 0)",
    "cubicboost": "linear output, cubic gradient boosting (alpha 1e-3, beta 0)",
}
for _loss, _desc in LOSS_NAMES.items():
    for _opt, (_optimizer, _lr) in OPTIMIZERS_LR.items():
        if _loss == "softmax-ce":
            continue  # the baselines are registered in .baselines
        register_recipe(
            Recipe(f"{_loss}+{_opt}", _loss, _optimizer, _lr, description=f"{_desc}, {_opt}")
        )

# The paper protocol's shared SGD setup (the chosen reading: see the module docstring).
PAPER_LR = 0.01
PAPER_SGD: dict[str, Any] = {"momentum": 0.9, "weight_decay": 5e-4}
PAPER_SCHEDULE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("step-decay", {"milestones": (0.5, 0.75), "gamma": 0.1, "interval": "epoch"}),
)
PAPER_RECIPES = {
    _loss: register_recipe(
        Recipe(
            f"{_loss}+sgd-step",
            _loss,
            "sgd-momentum",
            PAPER_LR,
            optimizer_kwargs=PAPER_SGD,
            hooks=PAPER_SCHEDULE,
            description=(
                f"{_desc}, SGD momentum 0.9, weight decay 5e-4, lr × 0.1 after 50% and 75% of "
                "the epochs (the paper protocol's shared setup)"
            ),
        )
    ).name
    for _loss, _desc in LOSS_NAMES.items()
}
