"""Recipes of Øland, Bansal, Dannenberg and Raj (2017), "Be Careful What You Backpropagate: A
Case For Linear Output Activations & Gradient Boosting", arXiv:1707.04199.

A linear output layer whose backpropagated error is exponentiated (expGB) or cubed (cubic GB),
and the paper's other outputs (linear + squared error, sigmoid + BCE), each with SGD with
momentum and with Adam.

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> get_recipe("expboost+adam").loss
    'expboost'
"""

from __future__ import annotations

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
