"""The report is built from a results folder alone and contains every plot."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from test_claims import fabricate

from boostprop.bench.claims import get_claim
from boostprop.bench.plan import Comparison, read_plan, write_plan
from boostprop.bench.plots import profile_figure
from boostprop.bench.report import build_report, profile_times
from boostprop.bench.store import ResultsStore
from boostprop.bench.summary import summarize_comparison
from boostprop.bench.sweep import run_comparisons
from boostprop.bench.verdicts import baseline_missed


def _plan(c: Comparison, skipped: list[str]) -> dict[str, Any]:
    """A one-claim plan (the baselines claim's rule judges SGD vs Adam)."""
    return {
        "kind": "claims",
        "preset": {"name": "smoke"},
        "command": "test",
        "claims": [{"name": "baselines", "comparisons": [c.to_dict()], "skipped": skipped}],
    }


def test_report_from_tiny_results_folder(tmp_path: Path) -> None:
    c = Comparison(
        claim="baselines",
        id="iris_mlp",
        title="iris MLP",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+sgd", "softmax-ce+adam"),
        target=0.7,
        epochs=3,
        batch_size=16,
        seeds=2,
        lr_factors=(1.0, 2.0),
    )
    write_plan(tmp_path, _plan(c, ["x: y"]))
    run_comparisons([c], ResultsStore(tmp_path / "runs.jsonl"), progress=False)
    html_path = build_report(tmp_path)
    figures = sorted((tmp_path / "figures").glob("*.png"))
    assert [f.name.split("__")[-1] for f in figures] == ["epochs.png", "seconds.png", "ttt.png"]
    md = (tmp_path / "report.md").read_text()
    for f in figures:
        assert f"figures/{f.name}" in md
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = html_path.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(figures)
    assert {base64.b64decode(i) for i in images} == {f.read_bytes() for f in figures}
    assert "Verdicts" in html and "softmax-ce+adam" in html and "Skipped: x: y" in html
    # rebuilding from the folder alone gives the same page
    (tmp_path / "report.html").unlink()
    assert build_report(tmp_path).read_text() == html


def test_report_survives_an_errored_run(tmp_path: Path) -> None:
    c = Comparison(
        claim="baselines",
        id="iris_mlp",
        title="iris MLP",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+adam",),
        target=0.7,
        epochs=2,
        batch_size=16,
        seeds=2,
        lr_factors=(1.0,),
    )
    write_plan(tmp_path, _plan(c, []))
    store = ResultsStore(tmp_path / "runs.jsonl")
    run_comparisons([c], store, progress=False)
    *kept, last = list(store.records())
    # the last final run errored instead (a later error beside a result would not count: the
    # result stands, see test_resume_edges.py)
    store.path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
    store.append(
        {k: v for k, v in last.items() if k not in ("history", "test_acc")}
        | {"status": "error", "error": "X"}
    )
    build_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| softmax-ce+adam | 0.001 | 1 | 1/2 |" in md  # tuned lr, tuning runs, runs ok
    assert "| softmax-ce+adam | 0.001 | 2 | final | X |" in md  # the errored run is listed


def _comparison(cid: str, target: float) -> Comparison:
    return Comparison(
        claim="baselines",
        id=cid,
        title=f"iris {cid}",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+sgd", "softmax-ce+adam"),
        target=target,
        epochs=10,
        batch_size=16,
        seeds=2,
        lr_factors=(1.0,),
    )


def _two_comparison_folder(
    tmp_path: Path, outcomes: dict[str, dict[str, tuple[list[int | None], list[float]]]]
) -> list[Comparison]:
    """A baselines-claim folder of two iris comparisons with fabricated records (no training):
    per comparison and recipe, each seed's epochs to target (``None``: missed) and accuracy;
    epoch ``e`` ends at 0.1·e training seconds."""
    comps = [_comparison("a", 0.7), _comparison("b", 0.9)]
    plan = _plan(comps[0], [])
    plan["claims"][0]["comparisons"] = [c.to_dict() for c in comps]
    write_plan(tmp_path, plan)
    store = ResultsStore(tmp_path / "runs.jsonl")
    for c in comps:
        for rec in fabricate(c, outcomes[c.id]):
            store.append(rec)
    return comps


def test_report_draws_performance_profiles_in_consistent_units(tmp_path: Path) -> None:
    sgd, adam = "softmax-ce+sgd", "softmax-ce+adam"
    # a: SGD 0.4 s, Adam 0.2 s; b: SGD 0.6 s, Adam missed in both seeds
    _two_comparison_folder(
        tmp_path,
        {
            "a": {sgd: ([4, 4], [0.8, 0.8]), adam: ([2, 2], [0.8, 0.8])},
            "b": {sgd: ([6, 6], [0.9, 0.9]), adam: ([None, None], [0.5, 0.5])},
        },
    )
    build_report(tmp_path)
    figures = {f.name for f in (tmp_path / "figures").glob("*.png")}
    assert {"baselines__profile.png", "profile__all.png"} <= figures
    md = (tmp_path / "report.md").read_text()
    assert "## Performance profiles" in md and "(figures/profile__all.png)" in md
    assert "(figures/baselines__profile.png)" in md
    # the profile drawn from these times: Adam fastest on a (τ 1), never on b; SGD 2× on a,
    # fastest on b
    times = profile_times(
        (c.id, summarize_comparison(c, list(ResultsStore(tmp_path / "runs.jsonl").records())))
        for c in (_comparison("a", 0.7), _comparison("b", 0.9))
    )
    assert times == {
        "a": {sgd: pytest.approx(0.4), adam: pytest.approx(0.2)},
        "b": {sgd: pytest.approx(0.6), adam: math.inf},
    }
    lines = {ln.get_gid(): ln for ln in profile_figure(times).axes[0].lines}
    assert lines[adam].get_xdata().tolist() == pytest.approx([1.0, 2.0, 2.5])
    assert lines[adam].get_ydata().tolist() == [50.0, 50.0, 50.0]
    assert lines[sgd].get_ydata().tolist() == [50.0, 100.0, 100.0]
    # units: accuracies in % in the tables, the setting and the plots; seconds are training's
    assert "target validation accuracy 70.0%" in md and "target validation accuracy 90.0%" in md
    assert "| test acc % (mean, 95% CI) |" in md
    assert "| training seconds to target, median [IQR] |" in md
    assert (
        "| softmax-ce+sgd | 0.05 | 1 | 2/2 | 4 [4, 4] | 0.4 [0.4, 0.4] | 80.00 [80.00, 80.00] |"
        in md
    )
    assert "validation accuracy (%) vs training seconds" in md
    assert "validation accuracy (%) vs epoch" in md


def test_report_smoke_states_no_verdict_where_the_baselines_missed(smoke: Path) -> None:
    """In the smoke report, a claim all of whose comparisons' baselines missed the target is
    inconclusive, and its section gives the reason and no verdict words."""
    plan = read_plan(smoke)
    records = list(ResultsStore(smoke / "runs.jsonl").records())
    md = (smoke / "report.md").read_text()
    table = md.split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    guarded = []
    for entry in plan["claims"]:
        tuned = [
            c for c in map(Comparison.from_dict, entry["comparisons"]) if c.protocol == "tuned"
        ]
        missed = [baseline_missed(summarize_comparison(c, records)) for c in tuned]
        if not tuned or None in missed:
            continue
        guarded.append(entry["name"])
        claim = get_claim(entry["name"])
        (row,) = [r for r in table.splitlines() if r.startswith(f"| [{claim.paper}](#")]
        assert row.split(" | ")[-2] == "**inconclusive**"
        section = md.split(f"## {claim.paper}\n", 1)[1].split("\n## ", 1)[0]
        verdict_part = section.split("**Verdict (tuned baselines)", 1)[1].split("\n### ", 1)[0]
        assert verdict_part.startswith(": inconclusive.**")
        assert verdict_part.count("the baseline did not reach the target (") >= len(tuned)
        for word in ("holds", "not reproduced"):
            assert word not in verdict_part.replace(claim.paper_protocol, ""), (claim.name, word)
    assert guarded  # the smoke preset's baselines do miss its targets


def test_scope_names_every_training_subset_of_a_data_set() -> None:
    """Two comparisons on one data set with different subsets (Wang's ResNet on 3,000 images,
    its ViT on 8,000) are both named, not only the first."""
    from boostprop.bench.plan import Comparison
    from boostprop.bench.report import scope_of

    def comp(cid: str, subset: int | None, dataset: str = "fashion_mnist") -> Comparison:
        return Comparison(
            claim="x",
            id=cid,
            title=cid,
            dataset=dataset,
            model="mlp",
            recipes=("softmax-ce+adam",),
            target=0.8,
            epochs=2,
            batch_size=8,
            seeds=5,
            lr_factors=(1.0,),
            train_subset=subset,
        )

    scope = scope_of([comp("a", 3000), comp("b", 8000), comp("c", 3000), comp("d", None, "iris")])
    assert scope == "seeds: 5; data: fashion_mnist (3000, 8000 train), iris"
