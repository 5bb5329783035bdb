"""Recipes: a named loss + optimizer (+ optional model and training hooks) with defaults.

Layer 1 of the harness (see ``ARCHITECTURE.md``): it imports the techniques and nothing of the
harness above it. The registries and :class:`Recipe` live in :mod:`._registry`; every other
module of this package contributes one technique's components and recipes, and is imported here
by folder discovery, so adding a technique's recipes means adding one file.

Example:
    >>> r = get_recipe("softmax-ce+adam")
    >>> r.loss, r.optimizer, r.lr
    ('softmax-ce', 'adam', 0.001)
"""

from __future__ import annotations

from boostprop.bench.components import discover_modules
from boostprop.bench.recipes._registry import (
    HOOKS,
    LOSSES,
    OPTIMIZERS,
    RECIPES,
    HookFactory,
    LossFactory,
    LossFn,
    OptimizerFactory,
    Recipe,
    TrainHook,
    data_source,
    dataset_info,
    lookup,
    model_factory,
    register_recipe,
    resolve_model,
)


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a clear error listing the known ones.

    Example:
        >>> get_recipe("softmax-ce+sgd").optimizer
        'sgd-momentum'
    """
    recipe: Recipe = lookup(RECIPES, name, "recipe")
    return recipe


discover_modules(__name__, __path__)

__all__ = [
    "HOOKS",
    "LOSSES",
    "OPTIMIZERS",
    "RECIPES",
    "HookFactory",
    "LossFactory",
    "LossFn",
    "OptimizerFactory",
    "Recipe",
    "TrainHook",
    "data_source",
    "dataset_info",
    "get_recipe",
    "lookup",
    "model_factory",
    "register_recipe",
    "resolve_model",
]
