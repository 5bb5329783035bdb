"""Edge cases of resuming and re-planning a results folder (found in review): a run that
always errors, presets of plans that add claims, numbers spelled differently, retried runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.executors import LocalExecutor, latest_by_key
from boostprop.bench.pipeline import claims_plan, compare
from boostprop.bench.plan import PLAN_FILE, RUNS_FILE, Comparison, PlanConflict, write_plan
from boostprop.bench.presets import Preset
from boostprop.bench.runner import RunSpec, make_spec
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import run_comparisons


def _comparison(**kw: Any) -> Comparison:
    base: dict[str, Any] = dict(
        claim="t",
        id="c",
        title="c",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+adam",),
        target=0.9,
        epochs=3,
        batch_size=16,
        seeds=2,
        lr_factors=(1 / 3, 1.0, 3.0),
        lr_extend_max=2,
    )
    base.update(kw)
    return Comparison(**base)


def test_a_run_that_always_errors_is_tried_once_per_call_and_the_sweep_ends(
    tmp_path: Path,
) -> None:
    c = _comparison()
    broken = c.lr_grid("softmax-ce+adam")[0]
    calls: list[float] = []

    def run_fn(spec: RunSpec) -> dict[str, Any]:
        calls.append(spec.lr)
        rec: dict[str, Any] = {**spec.to_dict(), "key": spec.key()}
        if spec.lr == broken:
            return {**rec, "status": "error", "error": "RuntimeError: out of memory"}
        return {
            **rec,
            "status": "ok",
            "epochs_to_target": 2,
            "final_val_acc": 0.9,
            "test_acc": 0.9,
            "step_seconds": 0.01,
            "n_train": 90,
            "history": {},
        }

    store = ResultsStore(tmp_path / RUNS_FILE)
    run_comparisons([c], store, executor=LocalExecutor(run_fn=run_fn), progress=False)
    assert calls.count(broken) == 1  # no loop: the errored run was tried once
    finals = [r for r in store.records() if r["phase"] == "final"]
    assert len(finals) == 2 and all(r["lr"] != broken for r in finals)  # it ranks last
    run_comparisons([c], store, executor=LocalExecutor(run_fn=run_fn), progress=False)
    assert calls.count(broken) == 2  # a new call retries it once more, as the report says


def test_latest_record_prefers_a_result_over_a_later_error() -> None:
    recs = [
        {"key": "a", "status": "error"},
        {"key": "a", "status": "ok", "v": 1},
        {"key": "a", "status": "error"},
        {"key": "b", "status": "error"},
    ]
    latest = latest_by_key(recs)
    assert latest["a"] == {"key": "a", "status": "ok", "v": 1}
    assert latest["b"]["status"] == "error"


def test_adding_a_claim_with_extend_and_resuming_one_claim(tmp_path: Path) -> None:
    one, _ = claims_plan(["baselines"], Preset.SMOKE)
    two, _ = claims_plan(["baselines", "munoz2025"], Preset.SMOKE)
    write_plan(tmp_path, one)
    with pytest.raises(PlanConflict, match="--extend"):
        write_plan(tmp_path, two)
    merged = write_plan(tmp_path, two, extend=True)
    assert [e["name"] for e in merged["claims"]] == ["baselines", "munoz2025"]
    assert set(merged["preset"]["claims"]) == {"baselines", "munoz2025"}
    write_plan(tmp_path, one)  # resuming one of the claims is not a different plan
    assert json.loads((tmp_path / PLAN_FILE).read_text())["claims"] == merged["claims"]
    other_preset, _ = claims_plan(["baselines"], Preset.QUICK)
    with pytest.raises(PlanConflict, match="preset differs"):
        write_plan(tmp_path, other_preset, extend=True)


def test_a_new_workload_does_not_make_old_folders_refuse(tmp_path: Path) -> None:
    plan, _ = claims_plan(["baselines"], Preset.SMOKE)
    write_plan(tmp_path, plan)
    grown = json.loads(json.dumps(plan))
    grown["preset"]["workloads"]["a_new_workload"] = {"epochs": 1}
    write_plan(tmp_path, grown)  # no conflict: the comparisons are unchanged
    changed = json.loads(json.dumps(plan))
    name = next(iter(changed["preset"]["workloads"]))
    changed["preset"]["workloads"][name] = {"epochs": 99}
    with pytest.raises(PlanConflict, match="sizes of workload"):
        write_plan(tmp_path, changed)


def test_numbers_spelled_differently_are_one_run() -> None:
    a = make_spec("softmax-ce+adam", "iris", lr=1, seed=0, epochs=1, batch_size=8, target=1)
    b = make_spec("softmax-ce+adam", "iris", lr=1.0, seed=0, epochs=1, batch_size=8, target=1.0)
    assert a.key() == b.key()
    from boostprop.bench.recipes import RECIPES
    from boostprop.bench.recipes._registry import Recipe

    r0 = Recipe("x", "softmax-ce", "adam", 1e-3, optimizer_kwargs={"weight_decay": 0})
    r1 = RECIPES["softmax-ce+adam"]
    assert r0.resolve("mlp", {}, (4,)) == r1.resolve("mlp", {}, (4,))
    assert json.dumps(r0.resolve("mlp", {}, (4,))) == json.dumps(r1.resolve("mlp", {}, (4,)))
    assert _comparison(target=1).to_dict() == _comparison(target=1.0).to_dict()


def test_report_counts_runs_not_record_lines_and_names_no_fastest_when_none_arrived(
    tmp_path: Path,
) -> None:
    result = compare(
        ["softmax-ce+adam", "softmax-ce+sgd"],
        data="iris",
        out=tmp_path,
        model_kwargs={"widths": [8]},
        epochs=1,
        batch_size=16,
        seeds=2,
        target=1.0,
        lr_factors=(1.0,),
        progress=False,
        command="t",
    )
    store = ResultsStore(tmp_path / RUNS_FILE)
    first = next(iter(store.records()))
    store.append({**first, "status": "error", "error": "X"})  # a stale attempt of a finished run
    from boostprop.bench.report import build_report

    build_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    n = len({r["key"] for r in store.records()})
    assert f"{n} finished runs of this plan" in md
    # one epoch of an 8-unit MLP does not get all of iris's validation split right
    assert all(r["missed_target"] == r["runs"] == 2 for r in result.rows)
    assert "No recipe reached the target in most of its runs" in md
    assert "Fastest to the target" not in md
