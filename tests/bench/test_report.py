"""The report is built from a results folder alone and contains every plot."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from boostprop.bench.plan import Comparison, write_plan
from boostprop.bench.report import build_report
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import run_comparisons


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
    last = list(store.records())[-1]
    store.append(
        {k: v for k, v in last.items() if k not in ("history", "test_acc")}
        | {"status": "error", "error": "X"}
    )
    build_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| softmax-ce+adam | 0.001 | 1 | 1/2 |" in md  # tuned lr, tuning runs, runs ok
    assert "| softmax-ce+adam | 0.001 | 2 | final | X |" in md  # the errored run is listed
