"""One training run: data -> model -> train loop -> one JSON-ready record.

Timing follows the training-benchmark conventions (MLCommons AlgoPerf, DeepOBS): only the
training steps (and the recipe's training hooks, which are part of the method) are timed;
validation is evaluated untimed after every epoch and the test set once at the end. A run
whose training loss becomes NaN/inf is recorded as ``"diverged"`` rather than raising, so a
sweep goes on.

Example:
    >>> spec = make_spec("softmax-ce+adam", "iris", "mlp", {"widths": [16]}, lr=1e-2, seed=0,
    ...                  epochs=2, batch_size=32, target=0.5)
    >>> record = run(spec)
    >>> record["status"], len(record["history"]["val_acc"])
    ('ok', 2)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

import torch
from torch import nn

from boostprop.bench.environment import environment
from boostprop.bench.recipes import (
    HOOKS,
    LOSSES,
    OPTIMIZERS,
    LossFn,
    TrainHook,
    data_source,
    dataset_info,
    get_recipe,
    lookup,
    model_factory,
)

EVAL_BATCH = 4096
# The declared version of the training code (the loop, evaluation, data preparation and what a
# record holds). It is part of every run's key: bump it with any change that can change a result,
# and every run is trained again; leave it with a change that cannot.
TRAINING_CODE_VERSION = 2
LABELS = ("recipe", "claim", "comparison")  # name a run in a report; not part of what is trained
COMPONENTS = ("loss", "optimizer", "model", "hooks")


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run; its :meth:`key` identifies the finished record.

    ``components`` is the recipe resolved on the comparison's model
    (:meth:`~boostprop.bench.recipes.Recipe.resolve`): the loss, optimizer, model and training
    hooks with every argument after defaults are applied. The run is built from it alone, never
    from the recipe registry, so a record keeps meaning what it trained after the code's defaults
    change. ``train_subset`` keeps the first ``n`` training samples of a fixed permutation;
    ``eval_subset`` likewise the first ``n`` validation and test samples; ``phase`` is
    ``"tune"`` (validation only) or ``"final"`` (test at the end); ``recipe``, ``claim`` and
    ``comparison`` only label the record (they are not part of :meth:`key`).
    """

    recipe: str
    components: Mapping[str, Any]
    dataset: str
    lr: float
    seed: int
    epochs: int
    batch_size: int
    target: float | None = None
    train_subset: int | None = None
    eval_subset: int | None = None
    phase: str = "final"
    claim: str = "adhoc"
    comparison: str = "adhoc"
    data_source: str | None = None  # digest of a user's data code (None for built-in sets)
    code_version: int = TRAINING_CODE_VERSION

    def __post_init__(self) -> None:
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr: expected a positive finite number, got {self.lr!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs: expected a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {self.batch_size!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {self.seed!r}")
        if self.phase not in ("tune", "final"):
            raise ValueError(f"phase: expected 'tune' or 'final', got {self.phase!r}")
        if self.target is not None and not 0 < self.target <= 1:
            raise ValueError(
                f"target: expected a validation accuracy in (0, 1], got {self.target!r}"
            )
        for name in ("train_subset", "eval_subset"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}: expected a positive integer or None, got {value!r}")
        object.__setattr__(self, "lr", float(self.lr))  # lr=1 and lr=1.0 are one run
        if self.target is not None:
            object.__setattr__(self, "target", float(self.target))
        missing = [c for c in COMPONENTS if c not in self.components]
        if missing:
            raise ValueError(
                f"components: expected the resolved {list(COMPONENTS)} of a recipe, missing "
                f"{missing} (build specs with Recipe.resolve or Comparison.tune_specs)"
            )
        object.__setattr__(self, "components", _jsonable(dict(self.components)))

    def to_dict(self) -> dict[str, Any]:
        """The specification as JSON data (what a record and ``plan.json`` hold)."""
        return _jsonable(asdict(self))

    def content(self) -> dict[str, Any]:
        """What is trained: the specification without its labels."""
        return {k: v for k, v in self.to_dict().items() if k not in LABELS}

    def key(self) -> str:
        """A stable identifier of what is trained: the hash of :meth:`content` (the resolved
        components, data set and subsets, epochs, batch size, learning rate, seed, target, phase
        and training-code version). Identical runs share a key across recipes and claims."""
        blob = json.dumps(self.content(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """Rebuild from :meth:`to_dict` (a record's own fields beyond the spec are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def make_spec(
    recipe: str,
    dataset: str,
    model: str = "mlp",
    model_kwargs: Mapping[str, Any] | None = None,
    **fields: Any,
) -> RunSpec:
    """A :class:`RunSpec` for the registered ``recipe`` on ``dataset`` and ``model``, with the
    recipe's components resolved now; ``fields`` are the other :class:`RunSpec` fields.

    Example:
        >>> make_spec("softmax-ce+sgd", "iris", lr=0.1, seed=0, epochs=1, batch_size=8).recipe
        'softmax-ce+sgd'
    """
    info = dataset_info(dataset)
    components = get_recipe(recipe).resolve(model, model_kwargs or {}, info.input_shape)
    return RunSpec(
        recipe=recipe,
        components=components,
        dataset=dataset,
        data_source=data_source(dataset),
        **fields,
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


@dataclass
class PreparedData:
    """Train/val/test tensors, standardised with the training set's scalar mean and std."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    n_classes: int
    input_shape: tuple[int, ...]


def _subset(x: torch.Tensor, y: torch.Tensor, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` samples of a fixed permutation (all of them when ``n`` is None)."""
    if n is None or n >= len(y):
        return x, y
    keep = torch.randperm(len(y), generator=torch.Generator().manual_seed(12345))[:n]
    return x[keep], y[keep]


@functools.lru_cache(maxsize=8)
def prepare_data(
    dataset: str,
    train_subset: int | None = None,
    data_seed: int = 0,
    eval_subset: int | None = None,
) -> PreparedData:
    """Load a registered data set once per process (the data are fixed across run seeds).

    Example:
        >>> data = prepare_data("iris")
        >>> data.n_classes, data.input_shape, abs(float(data.train[0].mean())) < 1e-6
        (3, (4,), True)
    """
    info = dataset_info(dataset)
    x_tr, y_tr = _subset(*info.load("train", data_seed), train_subset)
    x_va, y_va = _subset(*info.load("val", data_seed), eval_subset)
    x_te, y_te = _subset(*info.load("test", data_seed), eval_subset)
    mean, std = x_tr.mean(), x_tr.std().clamp_min(1e-8)
    x_tr, x_va, x_te = ((x - mean) / std for x in (x_tr, x_va, x_te))
    return PreparedData(
        (x_tr.contiguous(), y_tr), (x_va, y_va), (x_te, y_te), info.n_classes, info.input_shape
    )


@torch.no_grad()
def evaluate(
    model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)``, in eval mode, in large batches."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        out = model(xb)
        total_loss += float(loss_fn(out, yb)) * len(yb)
        correct += int((out.argmax(dim=1) == yb).sum())
    model.train(was_training)
    return total_loss / len(y), correct / len(y)


def build_run(
    spec: RunSpec, data: PreparedData
) -> tuple[nn.Module, LossFn, torch.optim.Optimizer, list[TrainHook]]:
    """A freshly initialised model (seeded), its loss, optimizer and hooks, built from the
    spec's resolved components alone (never from the recipe registry).

    Example:
        >>> spec = make_spec("softmax-ce+sgd", "iris", lr=0.1, seed=0, epochs=1, batch_size=8)
        >>> model, loss_fn, optimizer, hooks = build_run(spec, prepare_data("iris"))
        >>> type(model).__name__, type(optimizer).__name__, hooks
        ('MLP', 'SGD', [])
    """
    c = spec.components
    torch.manual_seed(spec.seed)
    model = model_factory(c["model"]["name"])(
        data.input_shape, data.n_classes, **c["model"]["kwargs"]
    )
    loss_fn = lookup(LOSSES, c["loss"]["name"], "loss")(data.n_classes, **c["loss"]["kwargs"])
    optimizer = lookup(OPTIMIZERS, c["optimizer"]["name"], "optimizer")(
        model, spec.lr, **c["optimizer"]["kwargs"]
    )
    hooks = [lookup(HOOKS, h["name"], "hook")(model, **h["kwargs"]) for h in c["hooks"]]
    steps_per_epoch = math.ceil(len(data.train[1]) / spec.batch_size)
    for bind in _hook_methods(hooks, "bind"):
        bind(optimizer, steps_per_epoch, spec.epochs)
    return model, loss_fn, optimizer, hooks


def _hook_methods(hooks: list[TrainHook], name: str) -> list[Callable[..., Any]]:
    """The hooks' optional method ``name`` (see :class:`~boostprop.bench.recipes.TrainHook`)."""
    return [m for h in hooks if callable(m := getattr(h, name, None))]


def train_step(
    model: nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    hooks: list[TrainHook],
    xb: torch.Tensor,
    yb: torch.Tensor,
) -> torch.Tensor:
    """One timed training step: forward, backward, optimizer step, with the recipe's hooks
    around them (:class:`~boostprop.bench.recipes.TrainHook` gives the order).

    Example:
        >>> data = prepare_data("iris")
        >>> spec = make_spec("softmax-ce+sgd", "iris", lr=0.1, seed=0, epochs=1, batch_size=8)
        >>> model, loss_fn, optimizer, hooks = build_run(spec, data)
        >>> x, y = data.train
        >>> losses = [train_step(model, loss_fn, optimizer, hooks, x, y).item() for _ in range(5)]
        >>> losses[-1] < losses[0]
        True
    """
    for transform in _hook_methods(hooks, "train_inputs"):
        xb = transform(xb)
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    for before_step in _hook_methods(hooks, "before_step"):
        before_step(xb)
    optimizer.step()
    for hook in hooks:
        hook.after_step(xb)
    return loss


def run(spec: RunSpec) -> dict[str, Any]:
    """Train once as ``spec`` says and return the record (never raises for a training failure)."""
    record: dict[str, Any] = {**spec.to_dict(), "key": spec.key()}
    try:
        record.update(_train(spec))
    except Exception as exc:  # recorded, so one broken run does not end a sweep
        record.update(
            status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
        )
    record["env"] = environment()
    record["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return record


def _train(spec: RunSpec) -> dict[str, Any]:
    data = prepare_data(spec.dataset, spec.train_subset, eval_subset=spec.eval_subset)
    model, loss_fn, optimizer, hooks = build_run(spec, data)
    x_tr, y_tr = data.train
    n = len(y_tr)
    gen = torch.Generator().manual_seed(spec.seed)
    history: dict[str, list[float]] = {
        "train_loss": [],
        "val_loss": [],
        "val_acc": [],
        "train_seconds": [],
    }
    elapsed, steps, status = 0.0, 0, "ok"
    epochs_to_target: int | None = None
    seconds_to_target: float | None = None
    model.train()
    for epoch in range(1, spec.epochs + 1):
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros(())
        start = time.perf_counter()
        for i in range(0, n, spec.batch_size):
            idx = perm[i : i + spec.batch_size]
            xb, yb = x_tr[idx], y_tr[idx]
            loss = train_step(model, loss_fn, optimizer, hooks, xb, yb)
            loss_sum += loss.detach() * len(idx)
        for hook in hooks:
            hook.on_epoch_end(x_tr)
        elapsed += time.perf_counter() - start
        steps += math.ceil(n / spec.batch_size)
        train_loss = float(loss_sum) / n
        history["train_loss"].append(train_loss)
        history["train_seconds"].append(elapsed)
        if not math.isfinite(train_loss):
            status = "diverged"
            break
        val_loss, val_acc = evaluate(model, loss_fn, *data.val)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        for after_validation in _hook_methods(hooks, "after_validation"):
            after_validation(epoch, val_loss, val_acc, len(data.val[1]))
        if not math.isfinite(val_loss):
            status = "diverged"
            break
        if epochs_to_target is None and spec.target is not None and val_acc >= spec.target:
            epochs_to_target, seconds_to_target = epoch, elapsed
    result: dict[str, Any] = {
        "status": status,
        "history": history,
        "epochs_to_target": epochs_to_target,
        "seconds_to_target": seconds_to_target,
        "final_val_acc": history["val_acc"][-1] if history["val_acc"] and status == "ok" else None,
        "step_seconds": elapsed / max(steps, 1),
        "n_train": n,
    }
    if spec.phase == "final" and status == "ok":
        result["test_loss"], result["test_acc"] = evaluate(model, loss_fn, *data.test)
    return result
