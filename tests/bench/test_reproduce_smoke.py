"""`boostprop reproduce` end to end at the "smoke" size (fixture ``smoke`` in conftest.py): every
claim of the quick preset runs, the report has every section (test_report_browser.py opens it in
Chromium), and a reproduce killed with SIGKILL resumes with the same --out to the same records."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from boostprop.bench.claims import CLAIMS
from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset
from boostprop.bench.report import RUNS_FILE, read_plan
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import select_learning_rates, tuning_specs

REPRODUCED = [c.name for c in sorted(CLAIMS.values(), key=lambda c: c.rank) if c.in_reproduce]


def _records(out: Path) -> list[dict[str, Any]]:
    return list(ResultsStore(out / RUNS_FILE).records())


def test_smoke_reproduce_runs_every_claim_without_errors(smoke: Path) -> None:
    plan = read_plan(smoke)
    assert [e["name"] for e in plan["claims"]] == REPRODUCED
    assert plan["preset"]["name"] == "smoke" and plan["command"] == "pytest smoke"
    records = _records(smoke)
    assert records and not [r for r in records if r["status"] == "error"]
    for entry in plan["claims"]:
        assert not entry["skipped"], entry["skipped"]  # every data set is installed by the setup
        for c in map(Comparison.from_dict, entry["comparisons"]):
            # every planned run finished: tuning runs and the seeds of the selected lrs
            wanted = tuning_specs(c, records) + c.final_specs(select_learning_rates(c, records))
            assert {s.key() for s in wanted} <= {r["key"] for r in records}


def test_smoke_report_has_every_section(smoke: Path) -> None:
    md = (smoke / "report.md").read_text()
    verdicts = md.split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in verdicts.splitlines() if line.startswith("| [")]
    assert len(rows) == len(REPRODUCED)
    statuses = ("holds", "partly holds", "not reproduced", "inconclusive")
    for name, row in zip(REPRODUCED, rows, strict=True):
        claim = CLAIMS[name]
        assert row.startswith(f"| [{claim.paper}](#{name})")
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[-2].strip("*") in statuses  # tuned baselines
        # the paper's protocol: a verdict where this preset runs it, "not run in this preset"
        # where the claim declares one the smoke preset does not run, "–" where it declares none
        runs_paper = bool(claim.comparisons(Preset.SMOKE, "paper")) or bool(
            claim.paper_extra_planned(read_plan(smoke))
        )
        declared = claim.paper_arms is not None or claim.paper_extra is not None
        expected = statuses if runs_paper else ("not run in this preset",) if declared else ("–",)
        assert cells[-1].strip("*") in expected
        assert "seeds:" in cells[2] and "data:" in cells[2]  # what was measured, on what
        assert "[" in cells[2]  # an interval
        assert f'<a id="{name}"></a>' in md and f"## {claim.paper}" in md
    plan = read_plan(smoke)
    for entry in plan["claims"]:
        for c in map(Comparison.from_dict, entry["comparisons"]):
            assert f"### {c.title}" in md
            for kind in ("epochs", "seconds", "ttt"):
                assert f"figures/{c.claim}__{c.id}__{kind}.png" in md
    # the extras of the claims that have them
    assert "Hessian" in md.split("## Raiko", 1)[1]
    assert "STE" in md.split("## Ergen", 1)[1]
    assert "## Environment" in md
    # every figure the Markdown links exists and every PNG is inlined in the HTML
    linked = set(re.findall(r"\(figures/([^)]+\.png)\)", md))
    on_disk = {p.name for p in (smoke / "figures").glob("*.png")}
    assert linked and linked <= on_disk
    html = (smoke / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(linked)


def _cli(out: Path, claim: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "boostprop.cli",
        "reproduce",
        "--preset",
        "smoke",
        "--only",
        claim,
        "--out",
        str(out),
        "--jobs",
        "1",
    ]


def test_reproduce_killed_and_rerun_resumes_to_the_same_records(
    smoke: Path, tmp_path: Path
) -> None:
    claim = "oland2017"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BOOSTPROP_OFFLINE": "1"}
    runs = tmp_path / RUNS_FILE
    proc = subprocess.Popen(
        _cli(tmp_path, claim), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not (runs.exists() and runs.read_bytes().count(b"\n") >= 2):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no run finished within 120 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    n_before = len(_records(tmp_path))
    comparisons = [c for c in CLAIMS[claim].comparisons("smoke")]
    expected_records = {r["key"]: r for r in _records(smoke)}
    expected = {
        s.key()
        for c in comparisons
        for s in tuning_specs(c, expected_records.values())
        + c.final_specs(select_learning_rates(c, expected_records.values()))
    }
    assert 0 < n_before < len(expected), "the kill must interrupt the sweep"

    done = subprocess.run(_cli(tmp_path, claim), env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (tmp_path / "report.html").exists()
    lines = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    keys = [r["key"] for r in lines]
    assert len(keys) == len(set(keys)), "a finished run was redone"
    assert set(keys) == expected
    for r in lines:  # the same records as the uninterrupted run (one thread, same seeds)
        ref = expected_records[r["key"]]
        assert r["status"] == ref["status"]
        assert r["history"]["val_acc"] == ref["history"]["val_acc"]
        assert r.get("test_acc") == ref.get("test_acc")
