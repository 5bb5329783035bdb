"""From run records to per-recipe statistics of one comparison.

Reads only what the runner wrote (the JSONL records), so a report can be rebuilt from a
results folder alone. Every statistic is of the comparison's metric (the records' ``metric``:
accuracy, pixel accuracy, bits/char or RMSE; :func:`comparison_metric`), in its direction;
``test_acc`` and ``final_val_acc`` keep the accuracies of tasks that record one.

Example:
    >>> summarize_recipe("r", [], budget=5).n_runs
    0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from boostprop.bench.executors import latest_by_key
from boostprop.bench.plan import Comparison
from boostprop.bench.recipes import dataset_info
from boostprop.bench.recipes._tasks import (
    ACCURACY,
    Metric,
    final_val_metric,
    metric_of,
    run_metric,
    test_metric,
)
from boostprop.bench.stats import TimeToTarget, bootstrap_ci, time_to_target
from boostprop.bench.sweep import select_learning_rates, tuning_specs


@dataclass
class RecipeSummary:
    """The final-phase runs of one recipe in one comparison, and its tuning results.

    ``test_metric`` and ``final_val_metric`` are the finished runs' values of ``metric``;
    ``test_acc`` and ``final_val_acc`` their accuracies where the task records one (for
    classification and segmentation the same values; for a language model the next-token
    accuracy, a secondary measure; empty for a regression). ``tuning`` maps each learning rate
    of the grid to its final validation metric (``None``: the run failed).
    """

    recipe: str
    lr: float | None
    runs: list[dict[str, Any]]
    epochs_to_target: TimeToTarget
    seconds_to_target: TimeToTarget
    test_acc: np.ndarray
    final_val_acc: np.ndarray
    step_seconds: float
    n_failed: int
    tuning: dict[float, float | None] = field(default_factory=dict)
    lr_at_grid_edge: bool = False
    metric: Metric = ACCURACY
    test_metric: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final_val_metric: np.ndarray = field(default_factory=lambda: np.zeros(0))
    test_miou: np.ndarray = field(default_factory=lambda: np.zeros(0))  # segmentation only

    @property
    def n_runs(self) -> int:
        """Final runs recorded (finished or failed)."""
        return len(self.runs)

    @property
    def test_acc_mean(self) -> float:
        """Mean test accuracy of the finished runs (NaN without any)."""
        return float(self.test_acc.mean()) if self.test_acc.size else math.nan

    def test_acc_ci(self) -> tuple[float, float]:
        """95% bootstrap interval of the mean test accuracy (NaNs without runs)."""
        return bootstrap_ci(self.test_acc) if self.test_acc.size else (math.nan, math.nan)

    @property
    def test_metric_mean(self) -> float:
        """Mean test metric of the finished runs (NaN without any)."""
        return float(self.test_metric.mean()) if self.test_metric.size else math.nan

    def test_metric_ci(self) -> tuple[float, float]:
        """95% bootstrap interval of the mean test metric (NaNs without runs)."""
        return bootstrap_ci(self.test_metric) if self.test_metric.size else (math.nan, math.nan)

    @property
    def n_tuning_failed(self) -> int:
        """Tuning runs (learning rates of the grid) that failed."""
        return sum(a is None for a in self.tuning.values())

    @property
    def tuning_spread(self) -> float:
        """Range (max − min) of the final validation metric over the learning-rate grid — the
        hyperparameter-sensitivity measure. A failed (diverged) run leaves no model: for a
        fraction (an accuracy) it counts as 0; for an unbounded metric (bits/char, RMSE), which
        has no worst value, it is left out. :attr:`n_tuning_failed` says how many failed."""
        if self.metric.fraction:
            values = [0.0 if a is None else a for a in self.tuning.values()]
        else:
            values = [a for a in self.tuning.values() if a is not None and math.isfinite(a)]
        return float(max(values) - min(values)) if values else math.nan


@dataclass
class ComparisonSummary:
    """The summaries of every recipe of one comparison; ``summary[recipe]`` is one of them.
    ``metric`` is what the comparison's runs are judged by (:func:`comparison_metric`)."""

    comparison: Comparison
    recipes: dict[str, RecipeSummary]
    metric: Metric = ACCURACY

    def __getitem__(self, recipe: str) -> RecipeSummary:
        return self.recipes[recipe]


def records_metric(records: Iterable[Mapping[str, Any]]) -> Metric | None:
    """The metric the ``records`` name (``None`` when none names one); records that name
    different metrics cannot be summarised together.

    Example:
        >>> records_metric([{"metric": {"name": "rmse", "higher_is_better": False}}]).name
        'rmse'
    """
    names = {metric_of(r).name: metric_of(r) for r in records if r.get("metric") is not None}
    if len(names) > 1:
        raise ValueError(f"records: runs judged by different metrics {sorted(names)} mixed")
    return next(iter(names.values()), None)


def comparison_metric(comparison: Comparison, records: Iterable[Mapping[str, Any]] = ()) -> Metric:
    """What ``comparison``'s runs are judged by: the metric its records name, else its data
    set's task's (for a registered data set), else accuracy (a user's data are classified; and
    records of training-code version ≤ 2 are accuracy records).

    Example:
        >>> from boostprop.bench.plan import Comparison
        >>> c = Comparison(claim="x", id="w", title="w", dataset="iris", model="mlp",
        ...                recipes=("softmax-ce+adam",), target=0.8, epochs=1, batch_size=8,
        ...                seeds=1, lr_factors=(1.0,))
        >>> comparison_metric(c).name
        'accuracy'
    """
    named = records_metric(records)
    if named is not None:
        return named
    if ":" in comparison.dataset:
        return ACCURACY
    try:
        return run_metric(dataset_info(comparison.dataset).task, comparison.metric_name)
    except ValueError:
        return ACCURACY


def budget_seconds(run: Mapping[str, Any]) -> float:
    """The training seconds a run would have used over its whole epoch budget: its measured
    total when it trained every epoch, else its per-step time times the budget's steps (so a run
    that diverged early is charged the full budget, not its few seconds).

    Example:
        >>> budget_seconds({"status": "ok", "epochs": 2, "history": {"train_seconds": [0.5, 1.25]}})
        1.25
        >>> budget_seconds({"status": "diverged", "step_seconds": 0.01, "n_train": 100,
        ...                 "batch_size": 32, "epochs": 5})  # 4 steps per epoch
        0.2
    """
    history = run.get("history") or {}
    seconds = history.get("train_seconds") or []
    if run.get("status") == "ok" and len(seconds) == run.get("epochs"):
        return float(seconds[-1])
    step = run.get("step_seconds")
    n, batch, epochs = run.get("n_train"), run.get("batch_size"), run.get("epochs")
    if step and n and batch and epochs:
        return float(step) * math.ceil(n / batch) * epochs
    return math.inf  # errored before a single step: no honest time; counts as the worst


def summarize_recipe(
    recipe: str,
    runs: list[dict[str, Any]],
    *,
    budget: int,
    lr: float | None = None,
    tuning: Mapping[float, float | None] | None = None,
    metric: Metric | None = None,
) -> RecipeSummary:
    """Statistics of the final runs of one recipe, of ``metric`` (by default the one the runs
    name, accuracy for runs that name none). A run that failed (diverged or errored) counts as a
    miss at the full budget in epochs and in seconds, and has no test metric."""
    metric = metric or records_metric(runs) or ACCURACY
    ok = [r for r in runs if r.get("status") == "ok"]
    reached = [r.get("epochs_to_target") if r.get("status") == "ok" else None for r in runs]
    ett = time_to_target(reached, budget)
    stt = time_to_target(
        [r.get("seconds_to_target") if r.get("status") == "ok" else None for r in runs],
        [budget_seconds(r) for r in runs],
    )
    tuning = dict(tuning or {})
    grid = sorted(tuning)
    return RecipeSummary(
        recipe=recipe,
        lr=lr,
        runs=runs,
        epochs_to_target=ett,
        seconds_to_target=stt,
        test_acc=np.array(
            [r["test_acc"] for r in ok if r.get("test_acc") is not None], dtype=float
        ),
        final_val_acc=np.array(
            [r["final_val_acc"] for r in ok if r.get("final_val_acc") is not None], dtype=float
        ),
        step_seconds=float(np.median([r["step_seconds"] for r in ok])) if ok else math.nan,
        n_failed=len(runs) - len(ok),
        tuning=tuning,
        lr_at_grid_edge=bool(grid)
        and lr is not None
        and len(grid) > 1
        and lr in (grid[0], grid[-1]),
        metric=metric,
        test_metric=np.array([v for r in ok if (v := test_metric(r)) is not None], dtype=float),
        final_val_metric=np.array(
            [v for r in ok if (v := final_val_metric(r)) is not None], dtype=float
        ),
        test_miou=np.array([r["test_miou"] for r in ok if r.get("test_miou") is not None]),
    )


def summarize_comparison(
    comparison: Comparison, records: Iterable[Mapping[str, Any]]
) -> ComparisonSummary:
    """Summaries of every recipe of ``comparison``: exactly the runs its specs name (selected by
    key, so records of other settings in the same folder never mix in)."""
    by_key = latest_by_key(records)
    tune_specs = tuning_specs(comparison, by_key.values())
    planned = {s.key() for s in tune_specs}
    try:
        best = select_learning_rates(comparison, by_key.values())
    except RuntimeError:
        best = {}
    finals_by_recipe = comparison.final_specs(best) if len(best) == len(comparison.recipes) else []
    planned |= {s.key() for s in finals_by_recipe}
    metric = comparison_metric(comparison, [r for k, r in by_key.items() if k in planned])
    out: dict[str, RecipeSummary] = {}
    for recipe in comparison.recipes:
        tuning = {
            s.lr: (final_val_metric(rec) if rec.get("status") == "ok" else None)
            for s in tune_specs
            if s.recipe == recipe and (rec := by_key.get(s.key())) is not None
        }
        finals = [
            by_key[s.key()] for s in finals_by_recipe if s.recipe == recipe and s.key() in by_key
        ]
        out[recipe] = summarize_recipe(
            recipe,
            finals,
            budget=comparison.epochs,
            lr=best.get(recipe),
            tuning=tuning,
            metric=metric,
        )
    return ComparisonSummary(comparison, out, metric)
