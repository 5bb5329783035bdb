"""The registries a recipe names its pieces from, and the :class:`Recipe` itself.

Small registries of frozen dataclasses, timm-style, instead of if/else chains. A recipe names
its loss, optimizer, model override and training hooks by registry key, and
:meth:`Recipe.resolve` writes all of them down with every argument after defaults are applied,
so a run is fully described by plain JSON (see :mod:`boostprop.bench.components`).

Example:
    >>> r = Recipe("demo", "softmax-ce", "adam", 1e-3)
    >>> r.loss, r.optimizer, r.lr
    ('softmax-ce', 'adam', 0.001)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import torch
from torch import nn

from boostprop.bench.components import forwards_to, import_object, resolve_kwargs, source_digest
from boostprop.data import DatasetInfo, get_dataset
from boostprop.models import MODELS

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LossFactory = Callable[..., LossFn]
OptimizerFactory = Callable[..., torch.optim.Optimizer]


class TrainHook(Protocol):
    """Something a recipe runs alongside training (counted in training time).

    Besides the two methods below, the runner calls these when a hook defines them (each is
    optional; order within a step: ``train_inputs``, forward, backward, ``before_step``,
    optimizer step, ``after_step``):

    - ``bind(optimizer, steps_per_epoch, epochs)``: once, after the run's optimizer is built
      (a momentum or learning-rate schedule needs the three);
    - ``train_inputs(x) -> x``: a training batch's inputs as the model is to see them (input
      noise, for example); ``before_step`` and ``after_step`` get these inputs;
    - ``before_step(x)``: after the backward pass, before the optimizer step;
    - ``after_validation(epoch, val_loss, val_metric, n_val)``: after each epoch's validation
      (``epoch`` counts from 1; a rule that reads validation errors, for example).
      ``val_metric`` is the data set's task's validation metric
      (:func:`~boostprop.bench.recipes._tasks.task_metric`): the accuracy for classification
      (so ``val_acc`` there), the pixel accuracy for segmentation, bits per character for a
      language model, the RMSE for a regression.
    """

    def after_step(self, x: torch.Tensor) -> None:
        """Called after every optimizer step with the step's inputs."""
        ...

    def on_epoch_end(self, train_x: torch.Tensor) -> None:
        """Called at the end of every epoch with the whole training input."""
        ...


HookFactory = Callable[..., TrainHook]

# name -> factory. Losses: factory(n_classes, **kwargs) -> loss_fn; optimizers:
# factory(model, lr, **kwargs); hooks: factory(model, **kwargs); models: boostprop.models.MODELS.
LOSSES: dict[str, LossFactory] = {}
OPTIMIZERS: dict[str, OptimizerFactory] = {}
HOOKS: dict[str, HookFactory] = {}
#: loss name -> the data-set tasks it applies to (:data:`boostprop.data.TASKS`). A loss that is
#: not listed takes class scores on dimension 1 and class-index targets, (N, C, ...) against
#: (N, ...): it applies to :data:`CLASS_TASKS`. A regression loss lists ``("regression",)``.
LOSS_TASKS: dict[str, tuple[str, ...]] = {}
CLASS_TASKS = ("classification", "segmentation", "language_model")
# how many leading positional parameters of a factory are not part of a run's specification
SKIP = {"loss": 1, "optimizer": 2, "hook": 1, "model": 2}


def functional_loss(fn: Callable[..., torch.Tensor]) -> LossFactory:
    """A loss factory for a functional loss ``fn(input, target, **kwargs)`` of
    :mod:`boostprop.losses`: its keywords, with their defaults, are the recipe's ``loss_kwargs``.

    Example:
        >>> from boostprop.losses import exp_boost_loss
        >>> functional_loss(exp_boost_loss)(10, alpha=0.2).keywords
        {'alpha': 0.2}
    """

    @forwards_to(fn, skip=2)
    def factory(n_classes: int, **kwargs: Any) -> LossFn:
        return functools.partial(fn, **kwargs)

    factory.__name__ = getattr(fn, "__name__", "loss")
    return factory


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def lookup(registry: Mapping[str, Any], name: str, what: str) -> Any:
    """``registry[name]`` with a clear error listing the known names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"{what}: expected one of {sorted(registry)}, got {name!r}") from None


def loss_tasks(loss: str) -> tuple[str, ...]:
    """The tasks the registered ``loss`` applies to (see :data:`LOSS_TASKS`).

    Example:
        >>> loss_tasks("softmax-ce")
        ('classification', 'segmentation', 'language_model')
    """
    return LOSS_TASKS.get(loss, CLASS_TASKS)


def check_applies(recipe: str, loss: str, task: str, dataset: str = "") -> None:
    """Raise a clear error when ``recipe``'s ``loss`` does not apply to ``task`` (a
    classification loss on a regression, say): at plan time, before anything is trained.

    Example:
        >>> check_applies("softmax-ce+adam", "softmax-ce", "language_model")  # applies
        >>> check_applies("softmax-ce+adam", "softmax-ce", "regression")
        Traceback (most recent call last):
        ...
        ValueError: recipe: 'softmax-ce+adam' trains the loss 'softmax-ce', which applies to classification, segmentation, language_model, not to the task 'regression'
    """
    applies = loss_tasks(loss)
    if task not in applies:
        where = f" of the data set {dataset!r}" if dataset else ""
        raise ValueError(
            f"recipe: {recipe!r} trains the loss {loss!r}, which applies to "
            f"{', '.join(applies)}, not to the task {task!r}{where}"
        )


def model_factory(name: str) -> Callable[..., nn.Module]:
    """A registered model (:data:`boostprop.models.MODELS`), or a user's
    ``"package.module:function"`` with the signature ``function(input_shape, n_classes, **kw)``.

    Example:
        >>> model_factory("mlp").__name__
        '_mlp'
    """
    if ":" in name:
        factory: Callable[..., nn.Module] = import_object(name, "model")
        if not callable(factory):
            raise ValueError(f"model: {name!r} is not a function")
        return factory
    return lookup(MODELS, name, "model")


@functools.lru_cache(maxsize=16)
def _user_dataset(path: str) -> DatasetInfo:
    fn = import_object(path, "data")
    if not callable(fn):
        raise ValueError(f"data: {path!r} is not a function")
    splits = {}
    for split in ("train", "val", "test"):
        out = fn(split)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(
                f"data: {path}({split!r}) must return (x, y) tensors, got {type(out).__name__}"
            )
        x, y = (torch.as_tensor(v) for v in out)
        if x.dtype != torch.float32 or x.dim() < 2:
            raise ValueError(
                f"data: {path}({split!r}) x must be a float32 tensor (N, ...) (the models' "
                f"dtype; convert with x.float()), got {x.dtype} of shape {tuple(x.shape)}"
            )
        if y.dtype != torch.int64 or y.shape != (len(x),) or (y < 0).any():
            raise ValueError(
                f"data: {path}({split!r}) y must be int64 class indices of shape ({len(x)},)"
            )
        splits[split] = (x, y)
    shapes = {tuple(x.shape[1:]) for x, _ in splits.values()}
    if len(shapes) != 1:
        raise ValueError(f"data: {path} splits have different sample shapes {sorted(shapes)}")
    n_classes = int(max(int(y.max()) for _, y in splits.values() if len(y))) + 1
    return DatasetInfo(
        name=path,
        n_classes=n_classes,
        input_shape=shapes.pop(),
        description=f"your data: {path}",
        loader=lambda split, seed: splits[split],
        location_fn=lambda: f"your function {path}",
    )


def dataset_info(name: str) -> DatasetInfo:
    """A registered data set (:func:`boostprop.data.get_dataset`), or a user's
    ``"package.module:function"`` where ``function(split)`` returns ``(x, y)`` for split
    ``"train"``, ``"val"`` or ``"test"``: x a float tensor (N, ...), y int64 class indices.

    Example:
        >>> dataset_info("iris").n_classes
        3
    """
    if isinstance(name, str) and ":" in name:
        return _user_dataset(name)
    try:
        return get_dataset(name)
    except ValueError as exc:
        raise ValueError(
            f"{exc}; or your own data as 'package.module:function' (see docs/your_model.md)"
        ) from None


def data_source(name: str) -> str | None:
    """For a user's data function, a digest of its module's source (part of a run's key)."""
    return source_digest(name) if ":" in name else None


def resolve_model(
    name: str, kwargs: Mapping[str, Any], input_shape: Sequence[int]
) -> dict[str, Any]:
    """The model component of a run: name, every keyword argument, and for a user's model a
    digest of its module's source (editing it changes the run's key)."""
    factory = model_factory(name)
    out: dict[str, Any] = {
        "name": name,
        "kwargs": resolve_kwargs(
            factory, kwargs, skip=SKIP["model"], what="model_kwargs", input_shape=input_shape
        ),
    }
    if ":" in name:
        out["source"] = source_digest(name)
    return out


@dataclass(frozen=True)
class Recipe:
    """A training recipe: loss, optimizer, default learning rate, optional model override.

    ``model`` (a key of :data:`boostprop.models.MODELS`) replaces the comparison's model; its
    ``model_kwargs`` are merged over the comparison's. ``hooks`` name :data:`HOOKS` entries.

    Example:
        >>> Recipe("demo", "softmax-ce", "adam", 1e-3).model is None
        True
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

    def resolve(
        self, model: str, model_kwargs: Mapping[str, Any], input_shape: Sequence[int]
    ) -> dict[str, Any]:
        """The fully resolved components of this recipe on ``model`` (the comparison's model,
        unless the recipe overrides it): every argument of the loss, optimizer, model and hooks
        after defaults are applied, as JSON data. This, not the recipe's name, is what a run
        trains and what its key hashes.

        Example:
            >>> r = Recipe("demo", "softmax-ce", "adam", 1e-3)
            >>> r.resolve("mlp", {"widths": [8]}, (4,))["optimizer"]
            {'name': 'adam', 'kwargs': {'weight_decay': 0.0}}
        """
        loss = lookup(LOSSES, self.loss, "loss")
        opt = lookup(OPTIMIZERS, self.optimizer, "optimizer")
        return {
            "loss": {
                "name": self.loss,
                "kwargs": resolve_kwargs(
                    loss, self.loss_kwargs, skip=SKIP["loss"], what="loss_kwargs"
                ),
            },
            "optimizer": {
                "name": self.optimizer,
                "kwargs": resolve_kwargs(
                    opt, self.optimizer_kwargs, skip=SKIP["optimizer"], what="optimizer_kwargs"
                ),
            },
            "model": resolve_model(
                self.model or model, {**model_kwargs, **self.model_kwargs}, input_shape
            ),
            "hooks": [
                {
                    "name": name,
                    "kwargs": resolve_kwargs(
                        lookup(HOOKS, name, "hook"), kw, skip=SKIP["hook"], what="hook kwargs"
                    ),
                }
                for name, kw in self.hooks
            ],
        }


RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to the registry (re-registering an identical recipe is a no-op).

    Example:
        >>> register_recipe(RECIPES["softmax-ce+adam"]).name
        'softmax-ce+adam'
    """
    existing = RECIPES.get(recipe.name)
    if existing is not None and existing != recipe:
        raise ValueError(f"recipe: a different recipe called {recipe.name!r} is already registered")
    RECIPES[recipe.name] = recipe
    return recipe
