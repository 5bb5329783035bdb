"""Runs are identified by their content, plan.json holds the whole resolved plan, and a results
folder is read the same way after the code's defaults change or the folder moves."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.executors import LocalExecutor, pending_specs
from boostprop.bench.pipeline import compare
from boostprop.bench.plan import PLAN_FILE, RUNS_FILE, Comparison, PlanConflict, write_plan
from boostprop.bench.recipes import RECIPES
from boostprop.bench.report import build_report
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import run_comparisons

RECIPE_NAMES = ("softmax-ce+sgd", "softmax-ce+adam")
SMALL: dict[str, Any] = dict(epochs=2, batch_size=16, seeds=2, target=0.7, lr_factors=(1.0, 2.0))


def _comparison(**kw: Any) -> Comparison:
    base: dict[str, Any] = dict(
        claim="demo",
        id="iris",
        title="iris",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=RECIPE_NAMES,
        **SMALL,
    )
    base.update(kw)
    return Comparison(**base)


def _compare(out: Path, **kw: Any) -> Path:
    args: dict[str, Any] = dict(SMALL, model_kwargs={"widths": [8]}, progress=False, command="t")
    args.update(kw)
    return compare(list(RECIPE_NAMES), data="iris", out=out, **args).report


def test_plan_json_holds_every_resolved_spec_and_grid(tmp_path: Path) -> None:
    _compare(tmp_path)
    plan = json.loads((tmp_path / PLAN_FILE).read_text())
    (entry,) = plan["claims"]
    (comp,) = entry["comparisons"]
    assert comp["lr_grids"] == {"softmax-ce+sgd": [0.05, 0.1], "softmax-ce+adam": [0.001, 0.002]}
    adam = comp["components"]["softmax-ce+adam"]
    assert adam["optimizer"] == {"name": "adam", "kwargs": {"weight_decay": 0.0}}
    assert adam["model"]["kwargs"] == {"activation": "relu", "init": "default", "widths": [8]}
    # every record's spec is the plan's content (same components)
    for rec in ResultsStore(tmp_path / RUNS_FILE).records():
        assert rec["components"] == comp["components"][rec["recipe"]]


def test_editing_one_recipe_argument_reruns_exactly_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResultsStore(tmp_path / RUNS_FILE)
    run_comparisons([_comparison()], store, progress=False)
    n_before = len(list(store.records()))
    edited = dataclasses.replace(
        RECIPES["softmax-ce+adam"], optimizer_kwargs={"weight_decay": 1e-3}
    )
    monkeypatch.setitem(RECIPES, "softmax-ce+adam", edited)
    again = _comparison()
    pending = pending_specs(again.tune_specs(), store)
    assert {s.recipe for s in pending} == {"softmax-ce+adam"}
    assert len(pending) == len(again.lr_grid("softmax-ce+adam"))
    run_comparisons([again], store, progress=False)
    new = list(store.records())[n_before:]
    # the edited recipe's tuning runs and seeds, nothing of the untouched recipe
    assert {r["recipe"] for r in new} == {"softmax-ce+adam"}
    assert len(new) == len(again.lr_grid("softmax-ce+adam")) + again.seeds
    assert all(r["components"]["optimizer"]["kwargs"]["weight_decay"] == 1e-3 for r in new)


def test_changing_a_default_lr_leaves_an_old_folders_report_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "res"
    _compare(out)
    before = (out / "report.md").read_text()
    # a fresh process whose code has another default learning rate for Adam
    script = (
        "import dataclasses, sys\n"
        "from pathlib import Path\n"
        "from boostprop.bench.recipes import RECIPES\n"
        "RECIPES['softmax-ce+adam'] = dataclasses.replace(RECIPES['softmax-ce+adam'], lr=0.5)\n"
        "from boostprop.bench.report import build_report\n"
        "build_report(Path(sys.argv[1]))\n"
    )
    (out / "report.md").unlink()
    subprocess.run([sys.executable, "-c", script, str(out)], check=True, timeout=120)
    assert (out / "report.md").read_text() == before
    assert "| softmax-ce+adam | 0.001" in before or "| softmax-ce+adam | 0.002" in before


def test_a_moved_folder_gives_the_same_report(tmp_path: Path) -> None:
    out = tmp_path / "a" / "res"
    _compare(out)
    before = (out / "report.md").read_text()
    moved = tmp_path / "b" / "res"
    shutil.copytree(out, moved)
    shutil.rmtree(out)
    (moved / "report.md").unlink()
    build_report(moved)
    assert (moved / "report.md").read_text() == before


def test_a_conflicting_plan_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    _compare(tmp_path)
    runs = (tmp_path / RUNS_FILE).read_text()
    plan = (tmp_path / PLAN_FILE).read_text()
    with pytest.raises(PlanConflict, match=r"different plan.*differs from .* in \['epochs'\]"):
        _compare(tmp_path, epochs=3)
    assert (tmp_path / RUNS_FILE).read_text() == runs
    assert (tmp_path / PLAN_FILE).read_text() == plan
    # the same plan resumes without training anything again
    _compare(tmp_path)
    assert (tmp_path / RUNS_FILE).read_text() == runs
    # --extend adds the variant beside the first; what was recorded stays
    _compare(tmp_path, epochs=3, extend=True)
    assert (tmp_path / RUNS_FILE).read_text().startswith(runs)
    (entry,) = json.loads((tmp_path / PLAN_FILE).read_text())["claims"]
    assert sorted(c["epochs"] for c in entry["comparisons"]) == [2, 3]


def test_a_changed_comparison_is_refused_even_when_extending(tmp_path: Path) -> None:
    def plan(c: Comparison) -> dict[str, Any]:
        return {
            "kind": "claims",
            "preset": {"name": "smoke"},
            "claims": [{"name": "baselines", "comparisons": [c.to_dict()]}],
        }

    write_plan(tmp_path, plan(_comparison(id="a")))
    before = (tmp_path / PLAN_FILE).read_text()
    for extend in (False, True):
        with pytest.raises(PlanConflict, match=r"comparison baselines/a changed in \['epochs'\]"):
            write_plan(tmp_path, plan(_comparison(id="a", epochs=3)), extend=extend)
    assert (tmp_path / PLAN_FILE).read_text() == before


def test_extend_adds_a_comparison(tmp_path: Path) -> None:
    def plan(*comps: Comparison) -> dict[str, Any]:
        return {
            "kind": "claims",
            "preset": {"name": "smoke"},
            "claims": [{"name": "baselines", "comparisons": [c.to_dict() for c in comps]}],
        }

    a, b = _comparison(id="a"), _comparison(id="b", epochs=3)
    write_plan(tmp_path, plan(a))
    with pytest.raises(PlanConflict, match="--extend"):
        write_plan(tmp_path, plan(a, b))
    merged = write_plan(tmp_path, plan(a, b), extend=True)
    assert [c["id"] for c in merged["claims"][0]["comparisons"]] == ["a", "b"]
    # a later plan that mentions only one of them keeps the other
    assert len(write_plan(tmp_path, plan(b))["claims"][0]["comparisons"]) == 2


def test_an_old_format_folder_gets_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / PLAN_FILE).write_text(json.dumps({"preset": "quick", "claims": []}))
    with pytest.raises(ValueError, match="plan format"):
        build_report(tmp_path)
    with pytest.raises(ValueError, match="older boostprop"):
        Comparison.from_dict(
            {k: v for k, v in _comparison().to_dict().items() if k != "components"}
        )


def test_executor_skips_finished_runs(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / RUNS_FILE)
    specs = _comparison().tune_specs()
    LocalExecutor().execute(specs + specs[:1], store, progress=False)  # a duplicate runs once
    assert len(list(store.records())) == len(specs)
    LocalExecutor().execute(specs, store, progress=False)
    assert len(list(store.records())) == len(specs)
