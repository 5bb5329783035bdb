"""One training run: data -> model -> train loop -> one JSON-ready record.

Timing follows the training-benchmark conventions (MLCommons AlgoPerf, DeepOBS): only the
training steps (and the recipe's training hooks, which are part of the method) are timed;
validation is evaluated untimed after every epoch and the test set once at the end. A run
whose training loss becomes NaN/inf is recorded as ``"diverged"`` rather than raising, so a
sweep goes on.

A run is judged by its data set's task's metric (:mod:`boostprop.bench.recipes._tasks`):
accuracy (classification), per-pixel accuracy (segmentation), bits per character (language
modelling) or RMSE (regression). The record names it (``metric``: name and direction) and holds
``history["val_metric"]`` per epoch, ``final_val_metric`` and, in a final run, ``test_metric``;
``epochs_to_target`` is the first epoch whose validation metric meets the target in the metric's
direction. Tasks with class-index targets also record accuracy (``val_acc``, ``final_val_acc``,
``test_acc``); segmentation also records the mean IoU (``val_miou``, ``test_miou``).

Example:
    >>> spec = make_spec("softmax-ce+adam", "iris", "mlp", {"widths": [16]}, lr=1e-2, seed=0,
    ...                  epochs=2, batch_size=32, target=0.5)
    >>> record = run(spec)
    >>> record["status"], len(record["history"]["val_acc"]), record["metric"]["name"]
    ('ok', 2, 'accuracy')
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
import torch.nn.functional as F
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
from boostprop.bench.recipes._registry import check_applies
from boostprop.bench.recipes._tasks import ACCURACY_TASKS, run_metric, task_metric

EVAL_BATCH = 4096
EVAL_BATCH_DENSE = 128  # samples per evaluation batch of tasks with an output per position/pixel
# The declared version of the training code (the loop, evaluation, data preparation and what a
# record holds). It is part of every run's key: bump it with any change that can change a result,
# and every run is trained again; leave it with a change that cannot.
# 3: records name their task's metric (metric, val_metric, final_val_metric, test_metric); integer
# inputs are no longer standardised; targets are met in the metric's direction.
TRAINING_CODE_VERSION = 3
# an alternative metric (recipes._tasks.ALTERNATIVE_METRICS) -> the value of measure() it is
MEASURED_AS = {"next_char_accuracy": "acc"}
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
    ``comparison`` only label the record (they are not part of :meth:`key`). ``target`` is a
    value of the data set's task's metric (a validation accuracy in (0, 1], or a positive
    bits/char or RMSE, met from below); :func:`make_spec` and the run check it against the task.
    ``metric_name`` judges the run by another metric of its task than the task's own
    (:func:`~boostprop.bench.recipes._tasks.run_metric`), and ``target`` is then its value.
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
    # the metric the run is judged by when not its task's own (recipes._tasks.run_metric): a
    # language model's "next_char_accuracy"; None, the task's metric, is left out of the key
    metric_name: str | None = None

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
        if self.target is not None and not (
            isinstance(self.target, (int, float))
            and not isinstance(self.target, bool)
            and 0 < self.target < math.inf
        ):
            raise ValueError(
                f"target: expected a positive value of the task's validation metric (an accuracy "
                f"in (0, 1], a bits/char or an RMSE), got {self.target!r}"
            )
        if self.metric_name is not None and not isinstance(self.metric_name, str):
            raise ValueError(
                f"metric_name: expected None or a metric's name, got {self.metric_name!r}"
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
        """What is trained: the specification without its labels (and without ``metric_name``
        when it is None, so that runs judged by their task's metric keep the keys they had
        before a run could name another)."""
        return {
            k: v
            for k, v in self.to_dict().items()
            if k not in LABELS and not (k == "metric_name" and v is None)
        }

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
    r = get_recipe(recipe)
    check_applies(recipe, r.loss, info.task, dataset)
    if fields.get("target") is not None:
        run_metric(info.task, fields.get("metric_name")).check_target(fields["target"])
    components = r.resolve(model, model_kwargs or {}, info.input_shape)
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
    """Train/val/test tensors of a data set whose task is ``task``: floating-point inputs
    standardised with the training set's scalar mean and std, integer inputs (token ids, matrix
    indices) as loaded; targets always as loaded."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    n_classes: int
    input_shape: tuple[int, ...]
    task: str = "classification"


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

    Floating-point inputs (images, signals, tabular features; whatever the task) are
    standardised with the training split's scalar mean and standard deviation. Integer inputs —
    a language model's token ids, a matrix's (row, column) indices — are identifiers, not
    measurements, and pass through untouched. Targets are never changed (a regression's RMSE is
    in the data's own units).

    Example:
        >>> data = prepare_data("iris")
        >>> data.n_classes, data.input_shape, abs(float(data.train[0].mean())) < 1e-6
        (3, (4,), True)
        >>> prepare_data("matrix_completion", 8).train[0].dtype
        torch.int64
    """
    info = dataset_info(dataset)
    x_tr, y_tr = _subset(*info.load("train", data_seed), train_subset)
    x_va, y_va = _subset(*info.load("val", data_seed), eval_subset)
    x_te, y_te = _subset(*info.load("test", data_seed), eval_subset)
    if x_tr.is_floating_point():
        mean, std = x_tr.mean(), x_tr.std().clamp_min(1e-8)
        x_tr, x_va, x_te = ((x - mean) / std for x in (x_tr, x_va, x_te))
    return PreparedData(
        (x_tr.contiguous(), y_tr),
        (x_va, y_va),
        (x_te, y_te),
        info.n_classes,
        info.input_shape,
        info.task,
    )


@torch.no_grad()
def measure(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    task: str = "classification",
    n_classes: int | None = None,
) -> dict[str, float]:
    """What a run records of ``model`` on ``(x, y)`` for ``task``, in eval mode, in large
    batches: ``loss`` (the training loss's mean per sample), ``metric`` (the task's metric,
    :func:`~boostprop.bench.recipes._tasks.task_metric`), and ``acc`` for tasks with class-index
    targets and ``miou`` for segmentation (``n_classes`` is then needed).

    - classification: ``metric`` = ``acc``, the fraction of samples whose argmax over dimension
      1 is the label;
    - segmentation: ``metric`` = ``acc``, the fraction of all pixels whose argmax over classes is
      their label; ``miou`` the mean over classes present in the labels of the split of
      |pred ∩ label| / |pred ∪ label| (per class, over all its pixels);
    - language_model: ``metric``, bits per character, the mean over all positions of
      ``F.cross_entropy`` of the (N, C, T) logits in nats, divided by ln 2 — whatever the
      training loss, so every recipe is scored on one scale; ``acc`` the next-token accuracy;
    - regression: ``metric``, the RMSE, sqrt(mean((prediction − y)²)) over the split, of the
      model's one output per sample.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> with torch.no_grad():
        ...     _ = model.weight.fill_(1.0), model.bias.fill_(0.0)
        >>> x, y = torch.tensor([[1.0, 0.0], [1.0, 2.0]]), torch.tensor([0.0, 2.0])
        >>> measure(model, lambda z, t: (z.squeeze(1) - t).pow(2).mean(), x, y, "regression")
        {'loss': 1.0, 'metric': 1.0}
    """
    if len(y) == 0:
        raise ValueError("evaluate: the split is empty")
    was_training = model.training
    model.eval()
    total_loss, correct, units, nats, sq = 0.0, 0, 0, 0.0, 0.0
    confusion: torch.Tensor | None = None
    batch = EVAL_BATCH if task in ("classification", "regression") else EVAL_BATCH_DENSE
    for start in range(0, len(y), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        out = model(xb)
        total_loss += float(loss_fn(out, yb)) * len(yb)
        if task == "regression":
            if out.numel() != len(yb):
                raise ValueError(
                    f"evaluate: a regression needs one output per sample, got outputs of shape "
                    f"{tuple(out.shape)} for {len(yb)} targets"
                )
            err = out.reshape(len(yb)).double() - yb.double()
            sq += float(err.pow(2).sum())
            continue
        pred = out.argmax(dim=1)
        correct += int((pred == yb).sum())
        units += yb.numel()
        if task == "language_model":
            nats += float(F.cross_entropy(out, yb, reduction="none").double().sum())
        elif task == "segmentation":
            if n_classes is None:
                raise ValueError("evaluate: segmentation needs n_classes for the mean IoU")
            counts = torch.bincount(
                (yb.reshape(-1) * n_classes + pred.reshape(-1)), minlength=n_classes**2
            ).reshape(n_classes, n_classes)
            confusion = counts if confusion is None else confusion + counts
    model.train(was_training)
    result: dict[str, float] = {"loss": total_loss / len(y)}
    if task == "regression":
        result["metric"] = math.sqrt(sq / len(y))
        return result
    result["acc"] = correct / units
    result["metric"] = nats / units / math.log(2) if task == "language_model" else result["acc"]
    if confusion is not None:
        result["miou"] = mean_iou(confusion)
    return result


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean intersection over union of the classes present in the labels, from a confusion
    matrix ``confusion[label, prediction]`` of pixel counts.

    Example:
        >>> mean_iou(torch.tensor([[2, 1, 0], [0, 1, 0], [0, 0, 0]]))  # (2/3 + 1/2) / 2
        0.5833333333333333
    """
    c = confusion.double()
    tp = c.diagonal()
    present = c.sum(1) > 0
    union = c.sum(1) + c.sum(0) - tp
    return float((tp[present] / union[present]).mean())


def evaluate(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    task: str = "classification",
    n_classes: int | None = None,
) -> tuple[float, float]:
    """Mean loss and the task's metric (accuracy for classification) of ``model`` on
    ``(x, y)``, in eval mode, in large batches (see :func:`measure`)."""
    m = measure(model, loss_fn, x, y, task, n_classes)
    return m["loss"], m["metric"]


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
    check_applies(spec.recipe, c["loss"]["name"], data.task, spec.dataset)
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
    own = task_metric(data.task)
    metric = run_metric(data.task, spec.metric_name)
    judged = "metric" if metric == own else MEASURED_AS[metric.name]
    if spec.target is not None:
        metric.check_target(spec.target)
    model, loss_fn, optimizer, hooks = build_run(spec, data)
    x_tr, y_tr = data.train
    n = len(y_tr)
    gen = torch.Generator().manual_seed(spec.seed)
    has_acc = data.task in ACCURACY_TASKS
    history: dict[str, list[float]] = {
        "train_loss": [],
        "val_loss": [],
        "val_metric": [],
        **({"val_acc": []} if has_acc else {}),
        **({"val_miou": []} if data.task == "segmentation" else {}),
        # judged by another metric: the task's own is kept beside it (val_bits_per_char)
        **({f"val_{own.name}": []} if metric != own else {}),
        "train_seconds": [],
    }

    def evaluate_on(split: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
        values = measure(model, loss_fn, *split, data.task, data.n_classes)
        if judged != "metric":  # the judged metric as "metric", the task's own by its name
            values[own.name], values["metric"] = values["metric"], values[judged]
        return values

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
        val = evaluate_on(data.val)
        history["val_loss"].append(val["loss"])
        history["val_metric"].append(val["metric"])
        for name in ("acc", "miou", own.name):
            if f"val_{name}" in history:
                history[f"val_{name}"].append(val[name])
        for after_validation in _hook_methods(hooks, "after_validation"):
            after_validation(epoch, val["loss"], val["metric"], len(data.val[1]))
        if not (math.isfinite(val["loss"]) and math.isfinite(val["metric"])):
            status = "diverged"
            break
        if (
            epochs_to_target is None
            and spec.target is not None
            and metric.meets(val["metric"], spec.target)
        ):
            epochs_to_target, seconds_to_target = epoch, elapsed
    ok = status == "ok" and bool(history["val_metric"])
    result: dict[str, Any] = {
        "status": status,
        "metric": metric.to_dict(),
        "history": history,
        "epochs_to_target": epochs_to_target,
        "seconds_to_target": seconds_to_target,
        "final_val_metric": history["val_metric"][-1] if ok else None,
        "step_seconds": elapsed / max(steps, 1),
        "n_train": n,
    }
    if has_acc:
        result["final_val_acc"] = history["val_acc"][-1] if ok else None
    if spec.phase == "final" and status == "ok":
        test = evaluate_on(data.test)
        result["test_loss"], result["test_metric"] = test["loss"], test["metric"]
        if has_acc:
            result["test_acc"] = test["acc"]
        if "miou" in test:
            result["test_miou"] = test["miou"]
        if metric != own:
            result[f"test_{own.name}"] = test[own.name]
    return result
