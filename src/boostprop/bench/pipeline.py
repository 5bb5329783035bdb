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
import hashlib
import json
import math
import shlex
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.environment import environment
from boostprop.bench.executors import Executor, LocalExecutor
from boostprop.bench.plan import PLAN_FORMAT, RUNS_FILE, Comparison, write_plan
from boostprop.bench.presets import Preset
from boostprop.bench.recipes import dataset_info, get_recipe
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
    """The command that started this process: ``boostprop ...`` from the CLI, else the Python
    command line (a script calling :func:`compare` is not ``boostprop`` with its arguments)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if argv0.name == "boostprop" or argv0.parts[-2:] == ("boostprop", "cli.py"):
        return "boostprop " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if not sys.argv or sys.argv[0] in ("", "-c"):
        return "python (an interactive session or python -c)"
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def claims_plan(
    names: Sequence[str], preset: Preset
) -> tuple[dict[str, Any], dict[str, list[Comparison]]]:
    """The plan of the claims ``names`` under ``preset`` (comparisons whose data are
    available; the rest listed as skipped) and each claim's runnable comparisons."""
    entries, runnable = [], {}
    for name in names:
        claim = get_claim(name)
        ok, skipped = [], []
        for c in claim.comparisons(preset, protocol=None):
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
    written = write_plan(
        out_dir, {**plan, "command": command or _command(), "env": environment()}, extend=extend
    )
    # train what the folder's plan says (read back as the report reads it), never the objects
    # built in this process: the two must be the same runs, and this makes sure they are
    by_id = {
        (e["name"], c["id"]): Comparison.from_dict(c)
        for e in written["claims"]
        for c in e["comparisons"]
    }
    runnable = {
        name: [by_id[(name, c.id)] for c in comparisons] for name, comparisons in runnable.items()
    }
    store = ResultsStore(out_dir / RUNS_FILE)
    executor = executor or LocalExecutor()
    everything = [c for comparisons in runnable.values() for c in comparisons]
    try:
        if progress:
            counts = ", ".join(f"{name} {len(cs)}" for name, cs in runnable.items())
            print(f"[runs] {len(everything)} comparison(s): {counts}", file=sys.stderr, flush=True)
        # every claim's comparisons in one sweep: each tuning round and the final seeds are one
        # batch for the workers, so they wait for the slowest run a few times, not per claim
        run_comparisons(everything, store, executor=executor, progress=progress)
    finally:
        executor.close()  # one pool of workers for the whole plan, stopped once at the end
    if extras is not None:
        for name in runnable:
            if progress:
                print(f"[{name}] extra experiments", file=sys.stderr, flush=True)
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


def expected_output(task: str, input_shape: Sequence[int], n_classes: int) -> tuple[int, ...]:
    """The output shape of a model on two samples of ``task``'s inputs: class scores (2, C) for
    classification, per-pixel scores (2, C, H, W) for segmentation, per-position next-token
    scores (2, C, T) for a language model, one value per sample (2, 1) for a regression.

    Example:
        >>> expected_output("language_model", (128,), 256)
        (2, 256, 128)
    """
    shape = tuple(input_shape)
    if task == "segmentation":
        return (2, n_classes, *shape[1:])
    if task == "language_model":
        return (2, n_classes, *shape)
    if task == "regression":
        return (2, 1)
    return (2, n_classes)


def check_model(
    comparison: Comparison,
    input_shape: Sequence[int],
    n_classes: int,
    task: str = "classification",
    integer_inputs: bool = False,
) -> None:
    """Build every recipe's model once and run it on two zero samples (int64 zeros for
    ``integer_inputs``: token ids, indices), so that a model function that returns something
    else, or outputs the wrong shape for ``task`` (:func:`expected_output`), fails now with a
    clear error rather than in every run."""
    import torch
    from torch import nn

    from boostprop.bench.recipes import model_factory

    seen = set()
    for recipe, comps in comparison.components.items():
        m = comps["model"]
        ident = json.dumps(m, sort_keys=True)
        if ident in seen:
            continue
        seen.add(ident)
        try:
            net = model_factory(m["name"])(tuple(input_shape), n_classes, **m["kwargs"])
        except TypeError as exc:
            raise ValueError(f"model: {m['name']}(...) could not be built: {exc}") from None
        if not isinstance(net, nn.Module):
            raise ValueError(
                f"model: {m['name']} must return a torch.nn.Module, got {type(net).__name__}"
            )
        net.eval()
        dtype = torch.int64 if integer_inputs else torch.float32
        with torch.no_grad():
            out = net(torch.zeros(2, *input_shape, dtype=dtype))
        want = expected_output(task, input_shape, n_classes)
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        if got != want and not (task == "regression" and got == (2,)):
            shape = got if got is not None else type(out).__name__
            what = "logits" if task != "regression" else "one value per sample"
            raise ValueError(
                f"model: {m['name']} (recipe {recipe}) must map (N, *{tuple(input_shape)}) to "
                f"{what} (N, {', '.join(map(str, want[1:]))}) for the task {task!r}; on 2 "
                f"samples it gave {shape}"
            )


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
    if ":" in model_name:  # a recipe with its own model would silently not train the user's
        own = {r: m for r in recipes if (m := get_recipe(r).model) is not None}
        if own:
            raise ValueError(
                f"recipes: {sorted(own)} bring their own model ({sorted(set(own.values()))}) "
                f"and would not train {model_name}; compare recipes that change the loss or "
                "the optimizer (see `boostprop recipes`)"
            )
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
    x_train, _ = info.load("train", 0) if info.task != "classification" else (None, None)
    integer = x_train is not None and not x_train.is_floating_point()
    check_model(comparison, info.input_shape, info.n_classes, info.task, integer)
    # the comparison's id is a digest of what it compares, so --extend can add variants
    content = {k: v for k, v in comparison.to_dict().items() if k not in ("id", "title")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]
    comparison = dataclasses.replace(comparison, id=f"comparison-{digest}")
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
    n_failed = sum(r.n_failed for r in summary.recipes.values())
    if n_failed:
        warnings.warn(
            f"{n_failed} run(s) diverged or failed with an error; the report lists the errors "
            f"({report.with_suffix('.md')})",
            stacklevel=2,
        )
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
                "metric": r.metric.name,
                "test_metric_mean": r.test_metric_mean if r.test_metric.size else None,
                "ms_per_step": 1000 * r.step_seconds if math.isfinite(r.step_seconds) else None,
            }
        )
    return ComparisonResult(rows, report)
