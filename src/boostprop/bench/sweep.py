"""Sweeps: learning-rate tuning on the validation split, then seeds of the best setting.

Every recipe gets the same tuning budget: the same number of learning rates (its default times
the same factors), the same epochs and the same tuning seed. The selected learning rate is then
run with fresh seeds (never the tuning seed, so selection does not leak into the results).
Finished runs are appended to a :class:`~boostprop.bench.store.ResultsStore` as they complete;
re-running the same sweep skips them, so an interrupted sweep resumes and loses at most the
runs in flight.

Example:
    >>> c = Comparison(claim="demo", id="iris", title="Iris", dataset="iris", model="mlp",
    ...                model_kwargs={"widths": [8]}, recipes=("softmax-ce+adam",), target=0.8,
    ...                epochs=2, batch_size=16, seeds=2, lr_factors=(0.5, 2.0))
    >>> [s.lr for s in c.tune_specs()]
    [0.0005, 0.002]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from boostprop.bench.executors import Executor, LocalExecutor
from boostprop.bench.recipes import get_recipe
from boostprop.bench.runner import RunSpec
from boostprop.bench.store import ResultsStore
from boostprop.data import get_dataset
from boostprop.models import MODELS

TUNE_SEED = 0
TUNE_METRICS = ("epochs_to_target", "final_val_acc")


@dataclass(frozen=True)
class Comparison:
    """Recipes compared on one data set and model, with one target and budget."""

    claim: str
    id: str
    title: str
    dataset: str
    model: str
    recipes: tuple[str, ...]
    target: float
    epochs: int
    batch_size: int
    seeds: int
    lr_factors: tuple[float, ...]
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    train_subset: int | None = None
    tune_metric: str = "epochs_to_target"
    eval_subset: int | None = None

    def __post_init__(self) -> None:
        if not self.recipes:
            raise ValueError("recipes: expected at least one recipe name")
        get_dataset(self.dataset)  # clear errors for an unknown data set or model, before any run
        if self.model not in MODELS:
            raise ValueError(f"model: expected one of {sorted(MODELS)}, got {self.model!r}")
        if not 0 < self.target <= 1:
            raise ValueError(
                f"target: expected a validation accuracy in (0, 1], got {self.target!r}"
            )
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        for name in self.recipes:
            get_recipe(name)  # clear error for an unknown recipe
        if self.seeds < 1:
            raise ValueError(f"seeds: expected a positive integer, got {self.seeds!r}")
        if not self.lr_factors or any(not (f > 0 and math.isfinite(f)) for f in self.lr_factors):
            raise ValueError(f"lr_factors: expected positive factors, got {self.lr_factors!r}")
        if self.tune_metric not in TUNE_METRICS:
            raise ValueError(
                f"tune_metric: expected one of {TUNE_METRICS}, got {self.tune_metric!r}"
            )
        object.__setattr__(self, "recipes", tuple(self.recipes))
        object.__setattr__(self, "lr_factors", tuple(float(f) for f in self.lr_factors))
        object.__setattr__(self, "model_kwargs", dict(self.model_kwargs))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["recipes"], d["lr_factors"] = list(self.recipes), list(self.lr_factors)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Rebuild from :meth:`to_dict` (fields this version does not know are ignored, so
        older results folders stay readable)."""
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        d["recipes"], d["lr_factors"] = tuple(d["recipes"]), tuple(d["lr_factors"])
        return cls(**d)

    def lr_grid(self, recipe: str) -> list[float]:
        base = get_recipe(recipe).lr
        return [float(f"{base * f:.6g}") for f in self.lr_factors]

    def _spec(self, recipe: str, lr: float, seed: int, phase: str) -> RunSpec:
        return RunSpec(
            recipe=recipe,
            dataset=self.dataset,
            model=self.model,
            model_kwargs=self.model_kwargs,
            lr=lr,
            seed=seed,
            epochs=self.epochs,
            batch_size=self.batch_size,
            target=self.target,
            train_subset=self.train_subset,
            eval_subset=self.eval_subset,
            phase=phase,
            claim=self.claim,
            comparison=self.id,
        )

    def tune_specs(self) -> list[RunSpec]:
        return [
            self._spec(r, lr, TUNE_SEED, "tune") for r in self.recipes for lr in self.lr_grid(r)
        ]

    def final_specs(self, best_lr: Mapping[str, float]) -> list[RunSpec]:
        return [
            self._spec(r, best_lr[r], seed, "final")
            for r in self.recipes
            for seed in range(1, self.seeds + 1)
        ]


def _tune_score(record: Mapping[str, Any], metric: str, budget: int) -> tuple[float, float]:
    """Smaller is better. Failed runs rank last."""
    if record.get("status") != "ok":
        return (math.inf, math.inf)
    acc = record.get("final_val_acc") or 0.0
    if metric == "epochs_to_target":
        ett = record.get("epochs_to_target")
        return (float(budget + 1 if ett is None else ett), -acc)
    return (-acc, 0.0)


def select_learning_rates(
    comparison: Comparison, records: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """The best tuning learning rate per recipe (ties go to the larger validation accuracy,
    then to the smaller learning rate). Raises if a recipe's tuning runs are not all finished."""
    by_key = {r["key"]: r for r in records}
    best: dict[str, float] = {}
    for recipe in comparison.recipes:
        scored = []
        for spec in comparison.tune_specs():
            if spec.recipe != recipe:
                continue
            rec = by_key.get(spec.key())
            if rec is None:
                raise RuntimeError(
                    f"tuning run {recipe} lr={spec.lr} of {comparison.id} is not finished"
                )
            scored.append((_tune_score(rec, comparison.tune_metric, comparison.epochs), spec.lr))
        best[recipe] = min(scored)[1]
    return best


def run_comparisons(
    comparisons: Sequence[Comparison],
    store: ResultsStore,
    *,
    executor: Executor | None = None,
    progress: bool = True,
) -> None:
    """Tune every comparison's recipes, then run the seeds of the selected learning rates
    (on ``executor``, the local process by default)."""
    executor = executor or LocalExecutor()
    tune = [s for c in comparisons for s in c.tune_specs()]
    executor.execute(tune, store, desc="tuning learning rates", progress=progress)
    records = list(store.records())
    finals = [s for c in comparisons for s in c.final_specs(select_learning_rates(c, records))]
    executor.execute(finals, store, desc="seeds of the tuned setting", progress=progress)
