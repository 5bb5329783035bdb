"""Recipes: a named loss + optimizer (+ optional model and training hooks) with defaults.

Small registries of frozen dataclasses, timm-style, instead of if/else chains. A recipe names
its pieces by registry key so that a run is fully described by plain JSON, and every technique
adds its own entries (see :mod:`boostprop.bench.claims`).

Example:
    >>> r = get_recipe("softmax-ce+adam")
    >>> r.loss, r.optimizer, r.lr
    ('softmax-ce', 'adam', 0.001)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LossFactory = Callable[..., LossFn]
OptimizerFactory = Callable[..., torch.optim.Optimizer]


class TrainHook(Protocol):
    """Something a recipe runs alongside training (counted in training time)."""

    def after_step(self, x: torch.Tensor) -> None: ...

    def on_epoch_end(self, train_x: torch.Tensor) -> None: ...


HookFactory = Callable[..., TrainHook]

LOSSES: dict[str, LossFactory] = {}
OPTIMIZERS: dict[str, OptimizerFactory] = {}
HOOKS: dict[str, HookFactory] = {}


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Recipe:
    """A training recipe: loss, optimizer, default learning rate, optional model override.

    ``model`` (a key of :data:`boostprop.models.MODELS`) replaces the comparison's model; its
    ``model_kwargs`` are merged over the comparison's. ``hooks`` name :data:`HOOKS` entries.
    """

    name: str
    loss: str
    optimizer: str
    lr: float
    loss_kwargs: Mapping[str, Any] = field(default_factory=dict)
    optimizer_kwargs: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    hooks: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name: expected a non-empty recipe name")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive default learning rate, got {self.lr!r}")
        for attr in ("loss_kwargs", "optimizer_kwargs", "model_kwargs"):
            object.__setattr__(self, attr, _frozen(getattr(self, attr)))

    def build_loss(self, n_classes: int) -> LossFn:
        """The loss function ``(logits, class_indices) -> scalar``."""
        return _lookup(LOSSES, self.loss, "loss")(n_classes=n_classes, **self.loss_kwargs)

    def build_optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        """The optimizer over ``model``'s parameters with learning rate ``lr``."""
        factory = _lookup(OPTIMIZERS, self.optimizer, "optimizer")
        return factory(model, lr=lr, **self.optimizer_kwargs)

    def build_hooks(self, model: nn.Module) -> list[TrainHook]:
        """The training hooks of this recipe, bound to ``model``."""
        return [_lookup(HOOKS, name, "hook")(model, **dict(kw)) for name, kw in self.hooks]


RECIPES: dict[str, Recipe] = {}


def _lookup(registry: Mapping[str, Any], name: str, what: str) -> Any:
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"{what}: expected one of {sorted(registry)}, got {name!r}") from None


def register_recipe(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to the registry (re-registering an identical recipe is a no-op)."""
    existing = RECIPES.get(recipe.name)
    if existing is not None and existing != recipe:
        raise ValueError(f"recipe: a different recipe called {recipe.name!r} is already registered")
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a clear error listing the known ones."""
    _ensure_registered()
    recipe: Recipe = _lookup(RECIPES, name, "recipe")
    return recipe


def _ensure_registered() -> None:
    # Technique recipes are registered by their claim modules; importing the package does it.
    import boostprop.bench.claims  # noqa: F401


# ---------------------------------------------------------------------------- baseline losses


def _softmax_ce(n_classes: int, label_smoothing: float = 0.0) -> LossFn:
    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, y, label_smoothing=label_smoothing)

    return loss


def _linear_mse(n_classes: int) -> LossFn:
    """½‖z − onehot(y)‖² per sample, so that δ = z − t (Øland et al.'s linear baseline)."""

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = F.one_hot(y, n_classes).to(z.dtype)
        return 0.5 * (z - t).pow(2).sum(dim=1).mean()

    return loss


def _sigmoid_bce(n_classes: int) -> LossFn:
    """Per-class sigmoid outputs with binary cross-entropy, summed over classes."""

    def loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = F.one_hot(y, n_classes).to(z.dtype)
        return F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(dim=1).mean()

    return loss


LOSSES.update({"softmax-ce": _softmax_ce, "linear-mse": _linear_mse, "sigmoid-bce": _sigmoid_bce})

# ------------------------------------------------------------------------ baseline optimizers


def _sgd_momentum(
    model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def _adam(model: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


OPTIMIZERS.update({"sgd-momentum": _sgd_momentum, "adam": _adam})

SGD_LR = 0.05
ADAM_LR = 1e-3

register_recipe(
    Recipe(
        "softmax-ce+sgd",
        "softmax-ce",
        "sgd-momentum",
        SGD_LR,
        description="softmax cross-entropy, SGD with momentum 0.9",
    )
)
register_recipe(
    Recipe(
        "softmax-ce+adam", "softmax-ce", "adam", ADAM_LR, description="softmax cross-entropy, Adam"
    )
)
