"""The committed standard-preset results rebuild the committed verdicts.

``docs/results/standard/`` holds the raw results of a measured ``boostprop reproduce --preset
standard --jobs 2`` (plan.json, runs.jsonl, the extras' JSON) and the report written from them.
Rebuilding the report from the raw results with this code must give the same verdict table: a
change to the statistics, a verdict rule or the run identity that would alter a published verdict
(or orphan its runs) fails here instead of leaving a stale table in the docs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from boostprop.bench.report import build_report

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results" / "standard"


def _verdict_table(report_md: str) -> list[str]:
    """The lines of the report's "## Verdicts" section (its table and explanation)."""
    lines = report_md.splitlines()
    start = lines.index("## Verdicts")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    return [line for line in lines[start:end] if line.strip()]


def test_committed_standard_results_rebuild_the_committed_verdict_table(tmp_path: Path) -> None:
    out = tmp_path / "standard"
    shutil.copytree(RESULTS, out, ignore=shutil.ignore_patterns("figures", "report.*"))
    build_report(out)
    committed = _verdict_table((RESULTS / "report.md").read_text())
    rebuilt = _verdict_table((out / "report.md").read_text())
    assert any(line.startswith("| [Øland et al. 2017]") for line in committed)
    assert rebuilt == committed
