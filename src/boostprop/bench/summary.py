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

from boostprop.bench.stats import TimeToTarget, bootstrap_ci, time_to_target
from boostprop.bench.sweep import Comparison, select_learning_rates


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
        return len(self.runs)

    @property
    def test_acc_mean(self) -> float:
        return float(self.test_acc.mean()) if self.test_acc.size else math.nan

    def test_acc_ci(self) -> tuple[float, float]:
        return bootstrap_ci(self.test_acc) if self.test_acc.size else (math.nan, math.nan)

    @property
    def tuning_spread(self) -> float:
        """Range (max − min) of final validation accuracy over the learning-rate grid, with
        diverged runs counted as chance-level 0 — the hyperparameter-sensitivity measure."""
        accs = [0.0 if a is None else a for a in self.tuning.values()]
        return float(max(accs) - min(accs)) if accs else math.nan


@dataclass
class ComparisonSummary:
    comparison: Comparison
    recipes: dict[str, RecipeSummary]

    def __getitem__(self, recipe: str) -> RecipeSummary:
        return self.recipes[recipe]


def summarize_recipe(
    recipe: str,
    runs: list[dict[str, Any]],
    *,
    budget: int,
    lr: float | None = None,
    tuning: Mapping[float, float | None] | None = None,
) -> RecipeSummary:
    ok = [r for r in runs if r.get("status") == "ok"]
    ett = time_to_target([r.get("epochs_to_target") if r in ok else None for r in runs], budget)
    secs_budget = [
        r["history"]["train_seconds"][-1] if r.get("history", {}).get("train_seconds") else math.nan
        for r in runs
    ]
    stt = time_to_target(
        [r.get("seconds_to_target") if r in ok else None for r in runs],
        secs_budget if runs else 0.0,
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
    """Summaries of every recipe of ``comparison`` from the records of a results store."""
    mine = [
        dict(r)
        for r in records
        if r.get("claim") == comparison.claim and r.get("comparison") == comparison.id
    ]
    try:
        best = select_learning_rates(comparison, mine)
    except RuntimeError:
        best = {}
    out: dict[str, RecipeSummary] = {}
    for recipe in comparison.recipes:
        tuning = {
            r["lr"]: (r.get("final_val_acc") if r.get("status") == "ok" else None)
            for r in mine
            if r["recipe"] == recipe and r["phase"] == "tune"
        }
        finals = [
            r
            for r in mine
            if r["recipe"] == recipe and r["phase"] == "final" and r["lr"] == best.get(recipe)
        ]
        finals.sort(key=lambda r: r["seed"])
        out[recipe] = summarize_recipe(
            recipe, finals, budget=comparison.epochs, lr=best.get(recipe), tuning=tuning
        )
    return ComparisonSummary(comparison, out)
