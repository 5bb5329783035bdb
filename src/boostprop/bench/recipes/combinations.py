"""Pairs of techniques: a loss (Øland et al. 2017 expGB, Wang et al. 2023 RLO) with NeuronBoost
(Munoz 2025) or on the shortcut network (Raiko et al. 2012), and NeuronBoost on the shortcut
network.

A pair keeps each member's distinctive part: a loss replaces cross-entropy; NeuronBoost replaces
the optimizer (Adam, or the shortcut network's SGD); the shortcut network replaces the MLP (with
its transformation schedule). The RLO variant (paper form, k = 3) is fixed a priori.

Example:
    >>> PAIRS[("expGB", "NeuronBoost")].name
    'expboost+neuronboost'
"""

from __future__ import annotations

from boostprop.bench.recipes._registry import RECIPES, Recipe, register_recipe
from boostprop.bench.recipes.baselines import ADAM
from boostprop.bench.recipes.expboost import LOSS_NAMES  # noqa: F401  (registers expboost)
from boostprop.bench.recipes.neuron_boost import NB
from boostprop.bench.recipes.rooted import LOSS_VARIANTS
from boostprop.bench.recipes.shortcut import AB

EXPGB, RLO = "expboost+adam", "rooted-paper-k3+adam"
SINGLES = {"expGB": EXPGB, "RLO": RLO, "NeuronBoost": NB, "shortcut": AB}
BASELINE = ADAM

_shortcut = RECIPES[AB]
_nb = RECIPES[NB]
_rlo_loss, _rlo_kwargs, _ = LOSS_VARIANTS["rooted-paper-k3"]


def _with_neuronboost(
    name: str, loss: str, loss_kwargs: dict[str, object], description: str
) -> Recipe:
    """``loss`` on the baseline MLP, optimised by NeuronBoost."""
    return Recipe(
        name, loss, "neuronboost", _nb.lr, loss_kwargs=loss_kwargs, description=description
    )


def _on_shortcut(
    technique: str,
    loss: str,
    loss_kwargs: dict[str, object],
    optimizer: str,
    lr: float,
    description: str,
) -> Recipe:
    """``shortcut-ab+<technique>``: the shortcut network with α, β and its transformation
    schedule, trained on ``loss`` by ``optimizer``."""
    return Recipe(
        f"shortcut-ab+{technique}",
        loss,
        optimizer,
        lr,
        loss_kwargs=loss_kwargs,
        model=_shortcut.model,
        model_kwargs=_shortcut.model_kwargs,
        hooks=_shortcut.hooks,
        description=description,
    )


PAIRS: dict[tuple[str, str], Recipe] = {
    ("expGB", "NeuronBoost"): _with_neuronboost(
        "expboost+neuronboost", "expboost", {}, "expGB loss, NeuronBoost"
    ),
    ("RLO", "NeuronBoost"): _with_neuronboost(
        "rooted-paper-k3+neuronboost",
        _rlo_loss,
        _rlo_kwargs,
        "RLO loss (paper form, k = 3), NeuronBoost",
    ),
    ("expGB", "shortcut"): _on_shortcut(
        "expboost",
        "expboost",
        {},
        _shortcut.optimizer,
        _shortcut.lr,
        "shortcut network with α, β, expGB loss, SGD",
    ),
    ("RLO", "shortcut"): _on_shortcut(
        "rooted-paper-k3",
        _rlo_loss,
        _rlo_kwargs,
        _shortcut.optimizer,
        _shortcut.lr,
        "shortcut network with α, β, RLO loss (paper form, k = 3), SGD",
    ),
    ("NeuronBoost", "shortcut"): _on_shortcut(
        "neuronboost",
        "softmax-ce",
        {},
        "neuronboost",
        _nb.lr,
        "shortcut network with α, β, cross-entropy, NeuronBoost",
    ),
}
for _recipe in PAIRS.values():
    register_recipe(_recipe)
