"""Recipes of Wang, Veluswami, Mishra and Ravi (2023), "Accelerated Neural Network Training with
Rooted Logistic Objectives", arXiv:2310.03890.

The rooted logistic objective (RLO) in the official code's "paper" form and in the convex
"natural" lift, k ∈ {2, 3, 5, 8}; focal loss (γ = 2, and the paper's α = 0.25, γ = 3);
cross-entropy with label smoothing 0.1; each with Adam (the paper's optimizer) and SGD.

The paper's own protocol (the authors' ``rlo-dnn/train.py``): Adam without weight decay under
cosine annealing stepped once per epoch (``CosineAnnealingLR(optimizer, n_epochs)``), no
warm-up, no label smoothing; RLO k = m = 3 in the paper form, plain cross-entropy and focal
loss α = 0.25, γ = 3 (:data:`PAPER_RECIPES`, ``<loss>+adam-cosine``). Its learning rate is
1e-3, the authors' for ResNets; their 1e-4 for ViTs is this × 0.1 (the claim's ``lr_factors``).

Example:
    >>> from boostprop.bench.recipes import get_recipe
    >>> dict(get_recipe("rooted-paper-k3+adam").loss_kwargs)
    {'k': 3.0, 'form': 'paper'}
    >>> get_recipe("rooted-paper-k3+adam-cosine").hooks
    (('cosine', {'interval': 'epoch'}),)
"""

from __future__ import annotations

from typing import Any

from boostprop.bench.recipes import schedules  # noqa: F401  (registers the paper's schedules)
from boostprop.bench.recipes._registry import LOSSES, Recipe, functional_loss, register_recipe
from boostprop.bench.recipes.baselines import ADAM_LR, SGD_LR
from boostprop.losses import focal_loss, rooted_logistic_loss

LOSSES["rooted"] = functional_loss(rooted_logistic_loss)
LOSSES["focal"] = functional_loss(focal_loss)

KS = (2, 3, 5, 8)
# variant name -> (registered loss, its keywords, description)
LOSS_VARIANTS: dict[str, tuple[str, dict[str, Any], str]] = {}
for _k in KS:
    LOSS_VARIANTS[f"rooted-paper-k{_k}"] = (
        "rooted",
        {"k": float(_k), "form": "paper"},
        f"RLO paper form m·(1 − p_y^(1/k)), k = m = {_k}",
    )
    LOSS_VARIANTS[f"rooted-natural-k{_k}"] = (
        "rooted",
        {"k": float(_k), "form": "natural"},
        f"RLO natural form k·p_y^(−1/k), k = {_k}",
    )
LOSS_VARIANTS["focal-g2"] = ("focal", {"gamma": 2.0}, "focal loss, γ = 2, no α")
LOSS_VARIANTS["focal-paper"] = (
    "focal",
    {"gamma": 3.0, "alpha": 0.25},
    "focal loss, α = 0.25, γ = 3 (the paper's baseline)",
)
LOSS_VARIANTS["softmax-ce-ls0.1"] = (
    "softmax-ce",
    {"label_smoothing": 0.1},
    "cross-entropy with label smoothing 0.1",
)

for _name, (_loss, _kw, _desc) in LOSS_VARIANTS.items():
    for _opt, _optimizer, _lr in (("adam", "adam", ADAM_LR), ("sgd", "sgd-momentum", SGD_LR)):
        register_recipe(
            Recipe(
                f"{_name}+{_opt}",
                _loss,
                _optimizer,
                _lr,
                loss_kwargs=_kw,
                description=f"{_desc}, {'Adam' if _opt == 'adam' else 'SGD'}",
            )
        )

# The paper's protocol: Adam (no weight decay) at the authors' ResNet learning rate, cosine
# annealing over the run stepped once per epoch, the losses with the authors' constants.
PAPER_SCHEDULE: tuple[tuple[str, dict[str, Any]], ...] = (("cosine", {"interval": "epoch"}),)
PAPER_LOSSES: dict[str, tuple[str, dict[str, Any], str]] = {
    "rooted-paper-k3": (
        "rooted",
        {"k": 3.0, "m": 3.0, "form": "paper"},
        "RLO paper form, k = m = 3",
    ),
    "softmax-ce": ("softmax-ce", {}, "cross-entropy (no label smoothing)"),
    "focal-paper": ("focal", {"gamma": 3.0, "alpha": 0.25}, "focal loss, α = 0.25, γ = 3"),
}
PAPER_RECIPES = {
    _name: register_recipe(
        Recipe(
            f"{_name}+adam-cosine",
            _loss,
            "adam",
            ADAM_LR,
            loss_kwargs=_kw,
            hooks=PAPER_SCHEDULE,
            description=f"{_desc}, Adam, cosine schedule per epoch (Wang et al.'s protocol)",
        )
    ).name
    for _name, (_loss, _kw, _desc) in PAPER_LOSSES.items()
}
