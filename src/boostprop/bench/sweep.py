"""Sweeps: learning-rate tuning on the validation split, then seeds of the best setting.

Every recipe gets the same tuning budget: the same number of learning rates (its default times
the same factors, as planned in :class:`~boostprop.bench.plan.Comparison`), the same epochs and
the same tuning seed. The selected learning rate is then run with fresh seeds (never the tuning
seed, so selection does not leak into the results). Finished runs are appended to a
:class:`~boostprop.bench.store.ResultsStore` as they complete, by whichever executor trains
them; re-running the same sweep skips them, so an interrupted sweep resumes and loses at most
the runs in flight.

Example:
    >>> _tune_score({"status": "ok", "epochs_to_target": 3, "final_val_acc": 0.9},
    ...             "epochs_to_target", budget=5)
    (3.0, -0.9)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from boostprop.bench.executors import Executor, LocalExecutor
from boostprop.bench.plan import Comparison
from boostprop.bench.store import ResultsStore


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
    then to the smaller learning rate). Raises if a recipe's tuning runs are not all finished.

    Example:
        >>> c = Comparison(claim="demo", id="iris", title="Iris", dataset="iris", model="mlp",
        ...                recipes=("softmax-ce+adam",), target=0.8, epochs=2, batch_size=16,
        ...                seeds=1, lr_factors=(1.0,))
        >>> select_learning_rates(c, [{"key": s.key(), "status": "ok", "epochs_to_target": 1,
        ...                            "final_val_acc": 0.9} for s in c.tune_specs()])
        {'softmax-ce+adam': 0.001}
    """
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
