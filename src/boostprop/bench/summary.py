"""From run records to per-recipe statistics of one comparison.

Reads only what the runner wrote (the JSONL records), so a report can be rebuilt from a
results folder alone.

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
from boostprop.bench.stats import TimeToTarget, bootstrap_ci, time_to_target
from boostprop.bench.sweep import select_learning_rates, tuning_specs


@dataclass
class RecipeSummary:
    """The final-phase runs of one recipe in one comparison, and its tuning results."""

    recipe: str
    lr: float | None
    runs: list[dict[str, Any]]
    epochs_to_target: TimeToTarget
    seconds_to_target: TimeToTarget
    test_acc: np.ndarray
    final_val_acc: np.ndarray
    step_seconds: float
    n_failed: int
    tuning: dict[float, float | None] = field(
        default_factory=dict
    )  # lr -> final val acc (None: failed)
    lr_at_grid_edge: bool = False

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
    def n_tuning_failed(self) -> int:
        """Tuning runs (learning rates of the grid) that failed."""
        return sum(a is None for a in self.tuning.values())

    @property
    def tuning_spread(self) -> float:
        """Range (max − min) of final validation accuracy over the learning-rate grid — the
        hyperparameter-sensitivity measure. A failed (diverged) run leaves no model and counts as
        accuracy 0; :attr:`n_tuning_failed` says how many did."""
        accs = [0.0 if a is None else a for a in self.tuning.values()]
        return float(max(accs) - min(accs)) if accs else math.nan


@dataclass
class ComparisonSummary:
    """The summaries of every recipe of one comparison; ``summary[recipe]`` is one of them."""

    comparison: Comparison
    recipes: dict[str, RecipeSummary]

    def __getitem__(self, recipe: str) -> RecipeSummary:
        return self.recipes[recipe]


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
) -> RecipeSummary:
    """Statistics of the final runs of one recipe. A run that failed (diverged or errored) counts
    as a miss at the full budget in epochs and in seconds, and has no test accuracy."""
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
    )


def summarize_comparison(
    comparison: Comparison, records: Iterable[Mapping[str, Any]]
) -> ComparisonSummary:
    """Summaries of every recipe of ``comparison``: exactly the runs its specs name (selected by
    key, so records of other settings in the same folder never mix in)."""
    by_key = latest_by_key(records)
    tune_specs = tuning_specs(comparison, by_key.values())
    try:
        best = select_learning_rates(comparison, by_key.values())
    except RuntimeError:
        best = {}
    finals_by_recipe = comparison.final_specs(best) if len(best) == len(comparison.recipes) else []
    out: dict[str, RecipeSummary] = {}
    for recipe in comparison.recipes:
        tuning = {
            s.lr: (rec.get("final_val_acc") if rec.get("status") == "ok" else None)
            for s in tune_specs
            if s.recipe == recipe and (rec := by_key.get(s.key())) is not None
        }
        finals = [
            by_key[s.key()] for s in finals_by_recipe if s.recipe == recipe and s.key() in by_key
        ]
        out[recipe] = summarize_recipe(
            recipe, finals, budget=comparison.epochs, lr=best.get(recipe), tuning=tuning
        )
    return ComparisonSummary(comparison, out)
