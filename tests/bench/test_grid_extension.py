"""A learning-rate grid extends at an edge until the optimum is interior or the bound is hit:
the same rule for every recipe, counted in the tuning budget, flagged when still at an edge."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.executors import LocalExecutor
from boostprop.bench.plan import Comparison
from boostprop.bench.runner import RunSpec
from boostprop.bench.store import ResultsStore
from boostprop.bench.summary import summarize_comparison
from boostprop.bench.sweep import (
    at_grid_edge,
    extended_grids,
    run_comparisons,
    select_learning_rates,
)

# each recipe's (hand-chosen) best learning rate: epochs to target grow with |log10(lr / best)|
OPTIMUM = {"softmax-ce+sgd": 0.05 * 3.0**2, "softmax-ce+adam": 1e-3 / 3.0**5}


def fake_run(spec: RunSpec) -> dict[str, Any]:
    """A deterministic stand-in for training: the closer lr is to the recipe's optimum (in
    log scale), the fewer epochs to the target; above 100× the optimum the run diverges."""
    best = OPTIMUM[spec.recipe]
    distance = abs(math.log10(spec.lr / best))
    rec: dict[str, Any] = {**spec.to_dict(), "key": spec.key(), "history": {}}
    if spec.lr > 100 * best:
        return {**rec, "status": "diverged", "final_val_acc": None, "epochs_to_target": None}
    ett = 1 + round(4 * distance)
    return {
        **rec,
        "status": "ok",
        "epochs_to_target": ett if ett <= spec.epochs else None,
        "final_val_acc": 0.9 - 0.01 * distance,
        "test_acc": 0.9,
        "step_seconds": 0.01,
        "n_train": 90,
    }


def _comparison(extend: int, recipes: tuple[str, ...] = tuple(OPTIMUM)) -> Comparison:
    return Comparison(
        claim="t",
        id="c",
        title="c",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=recipes,
        target=0.8,
        epochs=50,
        batch_size=16,
        seeds=2,
        lr_factors=(1 / 3, 1.0, 3.0),
        lr_extend_max=extend,
    )


def _sweep(tmp_path: Path, extend: int) -> tuple[Comparison, list[dict[str, Any]]]:
    c = _comparison(extend)
    store = ResultsStore(tmp_path / "runs.jsonl")
    run_comparisons([c], store, executor=LocalExecutor(run_fn=fake_run), progress=False)
    return c, list(store.records())


def test_grid_extends_up_and_down_until_the_optimum_is_interior(tmp_path: Path) -> None:
    c, records = _sweep(tmp_path, extend=6)
    grids = extended_grids(c, records)
    # sgd: default 0.05, optimum 0.45 = 0.05·3²: the grid 0.0167, 0.05, 0.15 grows upwards by ×3
    # to 0.45 (best) and one beyond it (1.35), where the optimum becomes interior
    assert grids["softmax-ce+sgd"] == pytest.approx([0.05 / 3, 0.05, 0.15, 0.45, 1.35], rel=1e-5)
    # adam: default 1e-3, optimum 1e-3/3⁵: the grid grows downwards to 1e-3/3⁶
    expected = [1e-3 / 3**k for k in range(6, -2, -1)]
    assert grids["softmax-ce+adam"] == pytest.approx(expected, rel=1e-5)
    best = select_learning_rates(c, records)
    assert best == pytest.approx(OPTIMUM, rel=1e-5)
    assert at_grid_edge(c, records) == {"softmax-ce+sgd": False, "softmax-ce+adam": False}
    # every tuning run of the extended grid and the seeds of the optimum were trained, once
    tune = [r for r in records if r["phase"] == "tune"]
    assert len(tune) == len({r["key"] for r in tune}) == 5 + 8
    finals = [r for r in records if r["phase"] == "final"]
    assert {(r["recipe"], r["seed"]) for r in finals} == {(n, s) for n in OPTIMUM for s in (1, 2)}
    assert all(math.isclose(r["lr"], OPTIMUM[r["recipe"]], rel_tol=1e-5) for r in finals)
    # the report's summary counts the extended runs in the tuning budget
    summary = summarize_comparison(c, records)
    assert len(summary["softmax-ce+adam"].tuning) == 8
    assert not summary["softmax-ce+adam"].lr_at_grid_edge


def test_the_bound_stops_the_extension_and_the_edge_is_flagged(tmp_path: Path) -> None:
    c, records = _sweep(tmp_path, extend=2)
    grids = extended_grids(c, records)
    assert len(grids["softmax-ce+adam"]) == 3 + 2  # two more downwards, then the bound
    # sgd needs exactly two points up (0.45, then 1.35 makes 0.45 interior): within the bound
    assert len(grids["softmax-ce+sgd"]) == 3 + 2
    edge = at_grid_edge(c, records)
    assert edge == {"softmax-ce+sgd": False, "softmax-ce+adam": True}
    assert summarize_comparison(c, records)["softmax-ce+adam"].lr_at_grid_edge


def test_no_extension_without_a_bound(tmp_path: Path) -> None:
    c, records = _sweep(tmp_path, extend=0)
    assert {r: len(g) for r, g in extended_grids(c, records).items()} == {r: 3 for r in OPTIMUM}
    assert at_grid_edge(c, records) == {"softmax-ce+sgd": True, "softmax-ce+adam": True}


def test_a_diverged_neighbour_makes_the_edge_interior() -> None:
    c = _comparison(extend=3, recipes=("softmax-ce+sgd",))
    recs = []
    for s in c.tune_specs():
        r = fake_run(s)
        if s.recipe == "softmax-ce+sgd":  # the top point is best, the next one up diverges
            r = {**r, "epochs_to_target": 1 if s.lr == max(c.lr_grid(s.recipe)) else 5}
        recs.append(r)
    up = c.spec("softmax-ce+sgd", 0.45, 0, "tune")
    recs.append({**fake_run(up), "status": "diverged", "epochs_to_target": None})
    assert extended_grids(c, recs)["softmax-ce+sgd"] == pytest.approx(
        [0.05 / 3, 0.05, 0.15, 0.45], rel=1e-5
    )
    assert select_learning_rates(c, recs)["softmax-ce+sgd"] == pytest.approx(0.15)


def test_unfinished_extension_is_not_selected() -> None:
    c = _comparison(extend=3)
    recs = [fake_run(s) for s in c.tune_specs()]  # the edges win; their neighbours are missing
    with pytest.raises(RuntimeError, match="not finished"):
        select_learning_rates(c, recs)


def test_extension_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="lr_extend_max"):
        Comparison(**{**_comparison(0).to_dict(), "lr_extend_max": -1, "components": {}})
    with pytest.raises(ValueError, match="lr_extend_factor"):
        Comparison(**{**_comparison(0).to_dict(), "lr_extend_factor": 1.0, "components": {}})
