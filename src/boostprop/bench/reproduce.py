"""``boostprop reproduce``: run every claim's experiments into one results folder, then report.

The folder holds ``plan.json`` (what is asked), ``runs.jsonl`` (every finished run, appended
as it finishes), one sub-folder per claim for its extra experiments, and the report. Running
the same command again with the same ``--out`` resumes: finished runs are not redone.

Example:
    >>> # reproduce(Path("reports/quick"), preset="quick")
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from boostprop.bench.claims import CLAIMS, ExtraContext, get_claim
from boostprop.bench.claims.base import check_preset
from boostprop.bench.environment import environment
from boostprop.bench.executors import LocalExecutor
from boostprop.bench.report import PLAN_FILE, RUNS_FILE, build_report
from boostprop.bench.store import ResultsStore, write_json_atomic
from boostprop.bench.sweep import Comparison, run_comparisons
from boostprop.data import get_dataset


def write_plan(
    out_dir: Path, preset: str, entries: list[dict[str, Any]], command: str
) -> dict[str, Any]:
    """Merge ``entries`` (one per claim) into the folder's plan and write it atomically."""
    path = out_dir / PLAN_FILE
    plan: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"claims": []}
    if plan.get("preset", preset) != preset:
        raise ValueError(
            f"preset: {out_dir} holds results of preset {plan['preset']!r}; use another --out "
            f"for preset {preset!r}"
        )
    by_name = {e["name"]: e for e in plan["claims"]}
    by_name.update({e["name"]: e for e in entries})
    order = sorted((n for n in CLAIMS if n in by_name), key=lambda n: CLAIMS[n].rank)
    plan.update(
        preset=preset, command=command, env=environment(), claims=[by_name[n] for n in order]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, plan)
    return plan


def plan_claim(name: str, preset: str) -> tuple[dict[str, Any], list[Comparison]]:
    """The plan entry of one claim: comparisons whose data are available, and what is skipped."""
    claim = get_claim(name)
    runnable, skipped = [], []
    for c in claim.comparisons(preset):
        info = get_dataset(c.dataset)
        if info.is_available():
            runnable.append(c)
        else:
            skipped.append(f"{c.title}: data set `{c.dataset}` not available ({info.location()})")
    entry = {"name": name, "comparisons": [c.to_dict() for c in runnable], "skipped": skipped}
    return entry, runnable


def reproduce(
    out_dir: Path,
    *,
    preset: str = "quick",
    only: Sequence[str] | None = None,
    jobs: int = 1,
    progress: bool = True,
    command: str | None = None,
) -> Path:
    """Run the claims (all, or ``only``) under ``preset`` into ``out_dir``; return the HTML report."""
    check_preset(preset)
    names = (
        list(only)
        if only
        else [c.name for c in sorted(CLAIMS.values(), key=lambda c: c.rank) if c.in_reproduce]
    )
    for n in names:
        get_claim(n)  # clear error before any work
    out_dir = Path(out_dir)
    command = command or "boostprop " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    store = ResultsStore(out_dir / RUNS_FILE)
    planned = [plan_claim(n, preset) for n in names]
    write_plan(out_dir, preset, [entry for entry, _ in planned], command)
    for (_entry, comparisons), name in zip(planned, names, strict=True):
        if progress:
            print(f"[{name}] {len(comparisons)} comparison(s)", file=sys.stderr, flush=True)
        run_comparisons(comparisons, store, executor=LocalExecutor(jobs), progress=progress)
        claim_dir = out_dir / name
        claim_dir.mkdir(parents=True, exist_ok=True)
        get_claim(name).run_extras(ExtraContext(preset, claim_dir, jobs=jobs, progress=progress))
    return build_report(out_dir)
