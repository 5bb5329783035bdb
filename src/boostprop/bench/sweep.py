"""Sweeps: learning-rate tuning on the validation split, then seeds of the best setting.

Every recipe gets the same tuning budget: the same number of learning rates (its default times
the same factors, as planned in :class:`~boostprop.bench.plan.Comparison`), the same epochs and
the same tuning seed. The selected learning rate is then run with fresh seeds (never the tuning
seed, so selection does not leak into the results). Finished runs are appended to a
:class:`~boostprop.bench.store.ResultsStore` as they complete, by whichever executor trains
them; re-running the same sweep skips them, so an interrupted sweep resumes and loses at most
the runs in flight.

When a recipe's best learning rate is at an edge of its grid, the grid extends in that
direction — the edge's learning rate ×/÷ ``lr_extend_factor`` — one point at a time until the
best is interior or ``lr_extend_max`` points were added in that direction (the documented bound);
the rule is the same for every recipe and its runs count in the tuning budget. The extension is
a function of the plan and the finished records (:func:`extended_grids`), like the final runs,
so a report recomputes it from the results folder alone.

Scores are direction-aware: a run's final validation metric (accuracy, pixel accuracy,
bits/char or RMSE, as its record names it; :mod:`boostprop.bench.recipes._tasks`) ranks higher
values first where higher is better and lower values first where lower is better. The
``tune_metric`` ``"final_val_metric"`` selects by it; ``"final_val_acc"``, the name plans written
before tasks had metrics use, is the same rule (for classification it is the accuracy, as it
always was; for a language model it is bits/char, never the secondary accuracy).
``"epochs_to_target"`` ranks by epochs to target, ties by the final validation metric.

Example:
    >>> _tune_score({"status": "ok", "epochs_to_target": 3, "final_val_acc": 0.9},
    ...             "epochs_to_target", budget=5)
    (3.0, -0.9)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from boostprop.bench.executors import Executor, LocalExecutor, latest_by_key, pending_specs
from boostprop.bench.plan import TUNE_SEED, Comparison
from boostprop.bench.recipes._tasks import final_val_metric, metric_of
from boostprop.bench.runner import RunSpec
from boostprop.bench.store import ResultsStore


def _tune_score(record: Mapping[str, Any], metric: str, budget: int) -> tuple[float, float]:
    """Smaller is better. Failed runs rank last. ``metric`` is the comparison's
    ``tune_metric``; the final validation metric enters in its own direction.

    Example:
        >>> bits = {"name": "bits_per_char", "higher_is_better": False}
        >>> _tune_score({"status": "ok", "metric": bits, "final_val_metric": 2.5},
        ...             "final_val_metric", budget=5)
        (2.5, 0.0)
    """
    if record.get("status") != "ok":
        return (math.inf, math.inf)
    m = metric_of(record)
    value = final_val_metric(record)
    if value is None and m.higher_is_better:
        value = 0.0  # an accuracy record without one ranks as accuracy 0, as it always did
    score = m.rank_key(value)
    if metric == "epochs_to_target":
        ett = record.get("epochs_to_target")
        return (float(budget + 1 if ett is None else ett), score)
    return (score, 0.0)


def _best(scored: list[tuple[tuple[float, float], float]]) -> float:
    return min(scored)[1]


def extended_grids(
    comparison: Comparison, records: Iterable[Mapping[str, Any]]
) -> dict[str, list[float]]:
    """Each recipe's tuning grid given the finished ``records``: the planned grid, extended at
    an edge while the best learning rate sits there (see the module docstring). A grid whose
    runs are not all finished is returned as far as it is known.

    Example:
        >>> c = Comparison(claim="demo", id="iris", title="Iris", dataset="iris", model="mlp",
        ...                recipes=("softmax-ce+adam",), target=0.8, epochs=2, batch_size=16,
        ...                seeds=1, lr_factors=(1.0, 2.0), lr_extend_max=1)
        >>> ok = lambda s, ett: {"key": s.key(), "status": "ok", "epochs_to_target": ett,
        ...                      "final_val_acc": 0.9}
        >>> lo, hi = c.tune_specs()
        >>> extended_grids(c, [ok(lo, 2), ok(hi, 1)])  # the top edge wins: one more point
        {'softmax-ce+adam': [0.001, 0.002, 0.006]}
    """
    by_key = latest_by_key(records)
    out: dict[str, list[float]] = {}
    for recipe in comparison.recipes:
        grid = sorted(comparison.lr_grid(recipe))
        up = down = 0
        while len(grid) > 1 and comparison.lr_extend_max > 0:
            scored = []
            for lr in grid:
                rec = by_key.get(comparison.spec(recipe, lr, TUNE_SEED, "tune").key())
                if rec is None:
                    break
                scored.append((_tune_score(rec, comparison.tune_metric, comparison.epochs), lr))
            if len(scored) < len(grid):
                break  # not finished yet: the next point is decided when it is
            best = _best(scored)
            factor = comparison.lr_extend_factor
            if best == grid[-1] and up < comparison.lr_extend_max:
                grid.append(float(f"{grid[-1] * factor:.6g}"))
                up += 1
            elif best == grid[0] and down < comparison.lr_extend_max:
                grid.insert(0, float(f"{grid[0] / factor:.6g}"))
                down += 1
            else:
                break
        out[recipe] = grid
    return out


def tuning_specs(comparison: Comparison, records: Iterable[Mapping[str, Any]]) -> list[RunSpec]:
    """Every tuning run of ``comparison`` known so far: its (extended) grids at seed 0."""
    grids = extended_grids(comparison, records)
    return [
        comparison.spec(r, lr, TUNE_SEED, "tune") for r in comparison.recipes for lr in grids[r]
    ]


def at_grid_edge(comparison: Comparison, records: Iterable[Mapping[str, Any]]) -> dict[str, bool]:
    """Per recipe, whether its selected learning rate is still at an edge of its (extended)
    grid (only for grids of two or more points whose runs are finished)."""
    records = list(records)
    grids = extended_grids(comparison, records)
    try:
        best = select_learning_rates(comparison, records)
    except RuntimeError:
        return {r: False for r in comparison.recipes}
    return {
        r: len(grids[r]) > 1 and best[r] in (grids[r][0], grids[r][-1]) for r in comparison.recipes
    }


def select_learning_rates(
    comparison: Comparison, records: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """The best tuning learning rate per recipe (ties go to the better final validation
    metric, then to the smaller learning rate). Raises if a recipe's tuning runs are not all finished.

    Example:
        >>> c = Comparison(claim="demo", id="iris", title="Iris", dataset="iris", model="mlp",
        ...                recipes=("softmax-ce+adam",), target=0.8, epochs=2, batch_size=16,
        ...                seeds=1, lr_factors=(1.0,))
        >>> select_learning_rates(c, [{"key": s.key(), "status": "ok", "epochs_to_target": 1,
        ...                            "final_val_acc": 0.9} for s in c.tune_specs()])
        {'softmax-ce+adam': 0.001}
    """
    records = list(records)
    by_key = latest_by_key(records)
    best: dict[str, float] = {}
    specs = tuning_specs(comparison, records)
    for recipe in comparison.recipes:
        scored = []
        for spec in specs:
            if spec.recipe != recipe:
                continue
            rec = by_key.get(spec.key())
            if rec is None:
                raise RuntimeError(
                    f"tuning run {recipe} lr={spec.lr} of {comparison.id} is not finished"
                )
            scored.append((_tune_score(rec, comparison.tune_metric, comparison.epochs), spec.lr))
        best[recipe] = _best(scored)
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
    attempted: set[str] = set()  # an errored run is retried once per call, never in a loop
    rounds = 0
    while True:  # the planned grids, then one round per extension at an edge
        records = list(store.records())
        tune = [s for c in comparisons for s in tuning_specs(c, records)]
        todo = [s for s in pending_specs(tune, store) if s.key() not in attempted]
        if not todo:
            break
        attempted |= {s.key() for s in todo}
        desc = "tuning learning rates" + (f" (grid extension {rounds})" if rounds else "")
        executor.execute(todo, store, desc=desc, progress=progress)
        rounds += 1
    records = list(store.records())
    finals = [s for c in comparisons for s in c.final_specs(select_learning_rates(c, records))]
    executor.execute(finals, store, desc="seeds of the tuned setting", progress=progress)
