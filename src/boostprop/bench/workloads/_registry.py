"""The workload registry (see the package docstring).

Workloads: a data set and a model with a budget per preset, shared by every claim.

A workload is what a practitioner would call a benchmark task — "an MLP on Fashion-MNIST" —
with its budget under each preset: epochs, batch size, seeds, the learning-rate grid factors and
the validation target (set where a tuned baseline gets in roughly half the budget, so a faster
method has room to show it and a slower one still has a chance to arrive). Every module of this
package registers its workloads and is imported by folder discovery: adding a workload means
adding one file.

Example:
    >>> Budget(2, 64, 2, (1.0,), 0.5).epochs
    2
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset, PresetTable

LR5 = (0.1, 1 / 3, 1.0, 3.0, 10.0)
# the quick preset's grid: three points around the default, extended one ×/÷3 step at an edge
# (lr_extend_max=1), so an optimum at 0.1× or 10× the default is still reached
LR3 = (1 / 3, 1.0, 3.0)


@dataclass(frozen=True)
class Budget:
    """The size of a workload under one preset.

    Example:
        >>> Budget(8, 128, 3, LR5, 0.83, 6000).seeds
        3
    """

    epochs: int
    batch_size: int
    seeds: int
    lr_factors: tuple[float, ...]
    target: float
    train_subset: int | None = None
    # validation/test samples (all when None): smoke, and the expensive models' standard budgets
    eval_subset: int | None = None
    max_width: int | None = None  # hidden widths capped at this (smoke only)
    lr_extend_max: int = 0  # extra learning rates per direction at a grid edge (bench.sweep)
    # the model's keywords under this preset, over the workload's (a smaller model for a preset
    # that cannot afford the workload's own; an arm's model_kwargs replace both)
    model_kwargs: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Workload:
    """A data set and model, with a :class:`Budget` per preset.

    Example:
        >>> get_workload("fashion_mlp").model
        'mlp'
    """

    name: str
    dataset: str
    model: str
    title: str
    budgets: PresetTable[Budget]
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    # the metric its comparisons judge runs by, when not the data set's task's own (the budgets'
    # targets are then its values): recipes._tasks.run_metric
    metric_name: str | None = None

    def comparison(
        self,
        claim: str,
        preset: Preset,
        recipes: tuple[str, ...],
        *,
        id: str | None = None,
        title: str | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
        tune_metric: str = "epochs_to_target",
        protocol: str = "tuned",
        lr_factors: tuple[float, ...] | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
    ) -> Comparison:
        """The comparison of ``recipes`` on this workload under ``preset`` (``model_kwargs``
        replace the workload's and the budget's; otherwise the budget's ``model_kwargs`` update
        the workload's; hidden widths are capped by the preset's ``max_width``;
        ``lr_factors``, ``batch_size`` and ``epochs`` replace the budget's, for a paper's fixed
        protocol)."""
        b = self.budgets[preset]
        if model_kwargs is None:
            kwargs = {**self.model_kwargs, **(b.model_kwargs or {})}
        else:
            kwargs = dict(model_kwargs)
        widths = kwargs.get("widths")
        if b.max_width is not None and isinstance(widths, (list, tuple)):
            kwargs["widths"] = [min(int(w), b.max_width) for w in widths]
        return Comparison(
            claim=claim,
            id=id or self.name,
            title=title or self.title,
            dataset=self.dataset,
            model=self.model,
            model_kwargs=kwargs,
            recipes=recipes,
            target=b.target,
            epochs=epochs or b.epochs,
            batch_size=batch_size or b.batch_size,
            seeds=b.seeds,
            lr_factors=lr_factors or b.lr_factors,
            train_subset=b.train_subset,
            eval_subset=b.eval_subset,
            tune_metric=tune_metric,
            lr_extend_max=b.lr_extend_max if lr_factors is None else 0,
            protocol=protocol,
            metric_name=self.metric_name,
        )


WORKLOADS: dict[str, Workload] = {}


def register_workload(workload: Workload) -> Workload:
    """Add ``workload`` under its name (names are unique).

    Example:
        >>> register_workload(get_workload("mnist1d_mlp")).name
        'mnist1d_mlp'
    """
    existing = WORKLOADS.get(workload.name)
    if existing is not None and existing != workload:
        raise ValueError(f"workload: a different workload {workload.name!r} is registered")
    WORKLOADS[workload.name] = workload
    return workload


def get_workload(name: str) -> Workload:
    """The workload called ``name`` (a clear error listing the known ones otherwise).

    Example:
        >>> get_workload("fashion_cnn").dataset
        'fashion_mnist'
    """
    try:
        return WORKLOADS[name]
    except KeyError:
        raise ValueError(f"workload: expected one of {sorted(WORKLOADS)}, got {name!r}") from None
