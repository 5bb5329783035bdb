"""The one path every sweep takes: plan → run → report.

``boostprop reproduce`` plans the papers' claims under a preset; ``boostprop bench`` and
:func:`compare` plan a descriptive comparison of recipes on a registered data set or on the
user's own model and data. Both write the plan into the results folder (refusing to change a
different one, :func:`~boostprop.bench.plan.write_plan`), train the runs on an executor (the
local process pool by default, Ray for a cluster), run the claims' extra experiments, and build
the report from the folder alone.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> plan, _ = claims_plan(["baselines"], Preset.SMOKE)
    >>> [e["name"] for e in plan["claims"]], plan["preset"]["name"]
    (['baselines'], 'smoke')
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.environment import environment
from boostprop.bench.executors import Executor, LocalExecutor
from boostprop.bench.plan import PLAN_FORMAT, RUNS_FILE, Comparison, write_plan
from boostprop.bench.presets import Preset
from boostprop.bench.recipes import dataset_info
from boostprop.bench.report import build_report
from boostprop.bench.store import ResultsStore
from boostprop.bench.summary import summarize_comparison
from boostprop.bench.sweep import run_comparisons
from boostprop.bench.workloads import WORKLOADS

DESCRIPTIVE = "comparison"  # the plan entry of a descriptive comparison (no paper, no verdict)


def as_data(obj: Any) -> Any:
    """Dataclasses, tuples and mappings as plain JSON data (for the plan's preset sizes)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): as_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_data(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def _command() -> str:
    return "boostprop " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def claims_plan(
    names: Sequence[str], preset: Preset
) -> tuple[dict[str, Any], dict[str, list[Comparison]]]:
    """The plan of the claims ``names`` under ``preset`` (comparisons whose data are
    available; the rest listed as skipped) and each claim's runnable comparisons."""
    entries, runnable = [], {}
    for name in names:
        claim = get_claim(name)
        ok, skipped = [], []
        for c in claim.comparisons(preset):
            info = dataset_info(c.dataset)
            if info.is_available():
                ok.append(c)
            else:
                skipped.append(
                    f"{c.title}: data set `{c.dataset}` not available ({info.location()})"
                )
        entries.append({"name": name, "comparisons": [c.to_dict() for c in ok], "skipped": skipped})
        runnable[name] = ok
    plan = {
        "format": PLAN_FORMAT,
        "kind": "claims",
        "preset": {
            "name": preset.value,
            "workloads": {w: as_data(wl.budgets[preset]) for w, wl in sorted(WORKLOADS.items())},
            "claims": {n: as_data(get_claim(n).sizes[preset]) for n in names},
        },
        "claims": entries,
    }
    return plan, runnable


def run_plan(
    out_dir: Path,
    plan: Mapping[str, Any],
    runnable: Mapping[str, Sequence[Comparison]],
    *,
    executor: Executor | None = None,
    extend: bool = False,
    progress: bool = True,
    command: str | None = None,
    extras: Callable[[str, Path], None] | None = None,
) -> Path:
    """Write ``plan`` into ``out_dir``, train its runs on ``executor``, run ``extras(name,
    claim_dir)`` per entry, and build the report; return the HTML report's path."""
    out_dir = Path(out_dir)
    write_plan(
        out_dir, {**plan, "command": command or _command(), "env": environment()}, extend=extend
    )
    store = ResultsStore(out_dir / RUNS_FILE)
    executor = executor or LocalExecutor()
    for name, comparisons in runnable.items():
        if progress:
            print(f"[{name}] {len(comparisons)} comparison(s)", file=sys.stderr, flush=True)
        run_comparisons(comparisons, store, executor=executor, progress=progress)
        if extras is not None:
            claim_dir = out_dir / name
            claim_dir.mkdir(parents=True, exist_ok=True)
            extras(name, claim_dir)
    return build_report(out_dir)


def reproduce(
    out_dir: Path,
    *,
    preset: Preset | str = Preset.QUICK,
    only: Sequence[str] | None = None,
    jobs: int = 1,
    executor: Executor | None = None,
    extend: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> Path:
    """Run the claims (all, or ``only``) under ``preset`` into ``out_dir``; return the HTML
    report. Running it again with the same folder resumes.

    Example:
        >>> # reproduce(Path("reports/quick"), preset="quick", jobs=2)
    """
    preset = Preset.parse(preset)
    names = (
        list(only)
        if only
        else [c.name for c in sorted(CLAIMS.values(), key=lambda c: c.rank) if c.in_reproduce]
    )
    for n in names:
        get_claim(n)  # clear error before any work
    plan, runnable = claims_plan(names, preset)

    def extras(name: str, claim_dir: Path) -> None:
        claim = get_claim(name)
        ctx = claim.extra_context(preset, claim_dir, jobs=jobs, progress=progress)
        for extra in claim.extras:
            extra.run(ctx)

    return run_plan(
        out_dir,
        plan,
        runnable,
        executor=executor or LocalExecutor(jobs),
        extend=extend,
        progress=progress,
        command=command,
        extras=extras,
    )


@dataclass
class ComparisonResult:
    """What :func:`compare` returns: one row per recipe (the report's table as data) and the
    report's path."""

    rows: list[dict[str, Any]]
    report: Path

    def to_markdown(self) -> str:
        """The rows as a Markdown table."""
        if not self.rows:
            return ""
        keys = list(self.rows[0])
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_cell(r[k]) for k in keys) + " |" for r in self.rows]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def _callable_path(obj: str | Callable[..., Any], what: str) -> str:
    if isinstance(obj, str):
        return obj
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or "<" in name or module == "__main__":
        raise ValueError(
            f"{what}: pass 'package.module:function', or a function defined at the top level of "
            f"an importable module (worker processes import it by name), got {obj!r}"
        )
    return f"{module}:{name}"


def compare(
    recipes: Sequence[str],
    *,
    data: str | Callable[..., Any],
    model: str | Callable[..., Any] = "mlp",
    model_kwargs: Mapping[str, Any] | None = None,
    out: Path | str = Path("results/comparison"),
    epochs: int = 10,
    batch_size: int = 128,
    seeds: int = 3,
    target: float = 0.8,
    lr_factors: Sequence[float] = (1 / 3, 1.0, 3.0),
    train_subset: int | None = None,
    tune_metric: str = "epochs_to_target",
    title: str | None = None,
    jobs: int = 1,
    executor: Executor | None = None,
    extend: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> ComparisonResult:
    """Compare ``recipes`` on your own (or a registered) model and data with the harness's
    tuning budget, seeds, timing and statistics; write the report into ``out``.

    ``data`` is a registered data set name (``boostprop datasets``) or your function
    ``load(split) -> (x, y)`` (``split`` is ``"train"``, ``"val"`` or ``"test"``; x a float
    tensor (N, ...), y int64 class indices), given as ``"package.module:function"`` or as the
    function itself. ``model`` is a registered model or your function
    ``build(input_shape, n_classes, **model_kwargs) -> nn.Module``. The report is a descriptive
    comparison: it carries no paper verdict. See ``docs/your_model.md``.

    Example:
        >>> # compare(["softmax-ce+adam", "rooted-paper-k3+adam"], data="mypkg.data:load",
        >>> #         model="mypkg.net:build", out="results/mine")
    """
    data_name = _callable_path(data, "data")
    model_name = _callable_path(model, "model")
    info = dataset_info(data_name)
    comparison = Comparison(
        claim=DESCRIPTIVE,
        id="comparison",
        title=title or f"{model_name} on {data_name}",
        dataset=data_name,
        model=model_name,
        model_kwargs=dict(model_kwargs or {}),
        recipes=tuple(recipes),
        target=target,
        epochs=epochs,
        batch_size=batch_size,
        seeds=seeds,
        lr_factors=tuple(lr_factors),
        train_subset=train_subset,
        tune_metric=tune_metric,
    )
    if not info.is_available():
        raise ValueError(f"data: {data_name} is not available ({info.location()})")
    plan = {
        "format": PLAN_FORMAT,
        "kind": "comparison",
        "preset": None,
        "claims": [
            {
                "name": DESCRIPTIVE,
                "descriptive": True,
                "comparisons": [comparison.to_dict()],
                "skipped": [],
            }
        ],
    }
    out = Path(out)
    report = run_plan(
        out,
        plan,
        {DESCRIPTIVE: [comparison]},
        executor=executor or LocalExecutor(jobs),
        extend=extend,
        progress=progress,
        command=command,
    )
    summary = summarize_comparison(comparison, ResultsStore(out / RUNS_FILE).records())
    rows = []
    for r in summary.recipes.values():
        rows.append(
            {
                "recipe": r.recipe,
                "tuned_lr": r.lr,
                "lr_at_grid_edge": r.lr_at_grid_edge,
                "runs_ok": r.n_runs - r.n_failed,
                "runs": r.n_runs,
                "epochs_to_target_median": r.epochs_to_target.median
                if len(r.epochs_to_target.values)
                else None,
                "missed_target": r.epochs_to_target.n_missed,
                "seconds_to_target_median": r.seconds_to_target.median
                if len(r.seconds_to_target.values)
                else None,
                "test_acc_mean": r.test_acc_mean if r.test_acc.size else None,
                "ms_per_step": 1000 * r.step_seconds if math.isfinite(r.step_seconds) else None,
            }
        )
    return ComparisonResult(rows, report)
