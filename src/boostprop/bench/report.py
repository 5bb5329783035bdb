"""The report: from a results folder alone, plots, a Markdown page and one self-contained HTML page.

Reads ``plan.json`` (what was asked: claims, comparisons, command) and ``runs.jsonl`` (what
finished), judges every claim with its own rule, and writes ``report.md``, ``report.html`` and
``figures/*.png`` into the folder. It can be re-run at any time, also on a partial folder.

Example:
    >>> # build_report(Path("reports/quick"))  # -> Path("reports/quick/report.html")
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from boostprop.bench.claims import CLAIMS
from boostprop.bench.document import (
    Block,
    Heading,
    Image,
    Paragraph,
    Table,
    slug,
    to_html,
    to_markdown,
)
from boostprop.bench.executors import latest_by_key
from boostprop.bench.plan import (
    PLAN_FILE,
    RUNS_FILE,
    Comparison,
    plan_comparisons,
    read_plan,
)
from boostprop.bench.plots import plot_curves, plot_performance_profile, plot_time_to_target
from boostprop.bench.presets import Preset
from boostprop.bench.recipes._tasks import ACCURACY, Metric, val_metric_history
from boostprop.bench.stats import bootstrap_ci
from boostprop.bench.store import ResultsStore
from boostprop.bench.summary import ComparisonSummary, RecipeSummary, summarize_comparison
from boostprop.bench.sweep import select_learning_rates, tuning_specs
from boostprop.bench.verdicts import Verdict

__all__ = ["PLAN_FILE", "RUNS_FILE", "build_report", "read_plan"]


def _fmt_ttt(r: RecipeSummary, unit: str) -> str:
    t = r.epochs_to_target if unit == "epochs" else r.seconds_to_target
    if not len(t.values):
        return "–"
    lo, hi = t.iqr
    digits = "g" if unit == "epochs" else ".3g"
    miss = f", {t.n_missed}/{len(t.values)} missed" if t.n_missed else ""
    return f"{t.median:{digits}} [{lo:{digits}}, {hi:{digits}}]{miss}"


def _fmt_metric(r: RecipeSummary) -> str:
    """Mean test metric with its 95% interval, in the metric's display units (% for an
    accuracy; bits/char or RMSE with three decimals)."""
    if not r.test_metric.size:
        return "–"
    lo, hi = r.test_metric_ci()
    k, d = r.metric.scale, 2 if r.metric.fraction else 3
    return f"{k * r.test_metric_mean:.{d}f} [{k * lo:.{d}f}, {k * hi:.{d}f}]"


def _fmt_miou(r: RecipeSummary) -> str:
    if not r.test_miou.size:
        return "–"
    lo, hi = bootstrap_ci(r.test_miou)
    return f"{100 * r.test_miou.mean():.2f} [{100 * lo:.2f}, {100 * hi:.2f}]"


def metric_heading(metric: Metric) -> str:
    """The recipe table's column of the test metric: ``"test acc % (mean, 95% CI)"``,
    ``"test bits/char, lower is better (mean, 95% CI)"``.

    Example:
        >>> from boostprop.bench.recipes._tasks import METRICS
        >>> metric_heading(METRICS["rmse"])
        'test RMSE, lower is better (mean, 95% CI)'
    """
    if metric is ACCURACY:
        return "test acc % (mean, 95% CI)"
    units = " %" if metric.fraction else ""
    better = "" if metric.higher_is_better else ", lower is better"
    return f"test {metric.label}{units}{better} (mean, 95% CI)"


def tune_words(tune_metric: str, metric: Metric) -> str:
    """How learning rates were ranked, in words: ``"epochs to target"``, ``"final val acc"``
    (an accuracy, as reports always said), ``"final validation bits/char (lower is better)"``.

    Example:
        >>> from boostprop.bench.recipes._tasks import METRICS
        >>> tune_words("final_val_acc", METRICS["bits_per_char"])
        'final validation bits/char (lower is better)'
    """
    if tune_metric == "epochs_to_target" or metric is ACCURACY:
        return tune_metric.replace("_", " ")
    better = "higher" if metric.higher_is_better else "lower"
    return f"final validation {metric.label} ({better} is better)"


def describe_target(metric: Metric, target: float) -> str:
    """``"target validation accuracy 80.0%"``, ``"target validation bits/char ≤ 2.5"``."""
    if metric is ACCURACY:
        return f"target validation accuracy {100 * target:.1f}%"
    return f"target {metric.describe_target(target)}"


def _hist(run: dict[str, Any], name: str) -> list[float]:
    """A per-epoch history of a run (empty for a run that errored before training)."""
    return list((run.get("history") or {}).get(name) or [])


def recipe_table(summary: ComparisonSummary) -> Table:
    """One row per recipe of a comparison: tuned learning rate, runs, time to target, the test
    metric (accuracy in %, bits/char, RMSE), step time and sensitivity to the learning rate (the
    spread of the final validation metric over the grid, in points or the metric's units)."""
    metric = summary.metric
    miou = any(r.test_miou.size for r in summary.recipes.values())  # a segmentation
    rows = []
    for r in summary.recipes.values():
        lr = "–" if r.lr is None else f"{r.lr:g}" + (" (grid edge)" if r.lr_at_grid_edge else "")
        rows.append(
            [
                r.recipe,
                lr,
                str(len(r.tuning)),
                f"{r.n_runs - r.n_failed}/{r.n_runs}",
                _fmt_ttt(r, "epochs"),
                _fmt_ttt(r, "seconds"),
                _fmt_metric(r),
                *([_fmt_miou(r)] if miou else []),
                "–" if math.isnan(r.step_seconds) else f"{1000 * r.step_seconds:.2f}",
                "–"
                if math.isnan(r.tuning_spread)
                else f"{metric.scale * r.tuning_spread:.{1 if metric.fraction else 3}f}",
            ]
        )
    header = [
        "recipe",
        "tuned lr",
        "tuning runs",
        "runs ok",
        "epochs to target, median [IQR]",
        "training seconds to target, median [IQR]",
        metric_heading(metric),
        *(["test mean IoU % (mean, 95% CI)"] if miou else []),
        "ms / step",
        "val-acc spread over lr grid (points)"
        if metric is ACCURACY
        else f"val {metric.label} spread over lr grid"
        + (" (points)" if metric.fraction else f" ({metric.unit})" if metric.unit else ""),
    ]
    return Table(header, rows)


def comparison_blocks(summary: ComparisonSummary, figures: Path) -> list[Block]:
    """The report section of one comparison: its setting, the recipe table and its plots
    (written into ``figures``)."""
    c: Comparison = summary.comparison
    stem = f"{c.claim}__{c.id}"
    subset = f", {c.train_subset} training samples" if c.train_subset else ""
    blocks: list[Block] = [
        Heading(f"{c.title}", 3, anchor=slug(stem)),
        Paragraph(
            f"Data `{c.dataset}`{subset}; model `{c.model}` {json.dumps(c.model_kwargs)}; "
            f"{c.epochs} epochs, batch {c.batch_size}; {describe_target(summary.metric, c.target)}; "
            f"learning rates tuned over default × {[round(f, 3) for f in c.lr_factors]} by "
            f"{tune_words(c.tune_metric, summary.metric)} on the validation split (seed 0)"
            + (
                f", a grid extended at an edge by ×/÷{c.lr_extend_factor:g} up to "
                f"{c.lr_extend_max} more learning rate(s) per direction while the best is there "
                "(the extra runs are in each recipe's tuning runs)"
                if c.lr_extend_max
                else ""
            )
            + f", then {c.seeds} fresh seeds. A tuned learning rate still at an edge of its "
            'grid is flagged "(grid edge)".'
        ),
        recipe_table(summary),
    ]
    metric = summary.metric
    curves = {n: [val_metric_history(r) for r in s.runs] for n, s in summary.recipes.items()}
    times = {n: [_hist(r, "train_seconds") for r in s.runs] for n, s in summary.recipes.items()}
    if any(any(len(v) for v in runs) for runs in curves.values()):
        p_epoch, p_secs, p_ttt = (
            figures / f"{stem}__{k}.png" for k in ("epochs", "seconds", "ttt")
        )
        plot_curves(
            curves, None, p_epoch, xlabel="epoch", target=c.target, title=c.title, metric=metric
        )
        plot_curves(
            curves,
            times,
            p_secs,
            xlabel="training seconds",
            target=c.target,
            title=c.title,
            metric=metric,
        )
        plot_time_to_target(
            {n: s.epochs_to_target for n, s in summary.recipes.items()},
            p_ttt,
            xlabel="epochs to target (misses at the budget)",
            title=c.title,
        )
        blocks += [
            Image(p_epoch, f"{c.title}: {metric.axis_label} vs epoch (median, IQR band)"),
            Image(
                p_secs,
                f"{c.title}: {metric.axis_label} vs training seconds (each run's own line; "
                "the median of the runs interpolated onto one time grid)",
            ),
            Image(p_ttt, f"{c.title}: epochs to target (median, IQR)"),
        ]
    return blocks


def profile_times(
    summaries: Iterable[tuple[str, ComparisonSummary]],
) -> dict[str, dict[str, float]]:
    """``{workload: {recipe: median training seconds to target}}`` of ``(name, summary)`` pairs,
    a run that missed (or failed) at ``inf``, so that a recipe most of whose runs missed has an
    infinite median; recipes without final runs are left out.

    Example:
        >>> profile_times([])
        {}
    """
    out: dict[str, dict[str, float]] = {}
    for name, s in summaries:
        per: dict[str, float] = {}
        for recipe, r in s.recipes.items():
            t = r.seconds_to_target
            if len(t.values):
                per[recipe] = float(np.median(np.where(t.missed, np.inf, t.values)))
        if per:
            out[name] = per
    return out


def shared_recipes(times: dict[str, dict[str, float]], limit: int | None = None) -> list[str]:
    """The recipes that run in at least two of the workloads of ``times``, most shared first
    (ties by name), at most ``limit`` of them.

    Example:
        >>> shared_recipes({"w1": {"a": 1.0, "b": 2.0}, "w2": {"a": 3.0}})
        ['a']
    """
    counts = Counter(r for per in times.values() for r in per)
    ranked = [r for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2]
    return ranked[:limit]


PROFILE_RECIPES = 8  # recipes drawn in the report-wide profile: the most shared ones
PROFILE_NOTE = (
    "A performance profile (Dolan & Moré 2002, as MLCommons AlgoPerf uses them): for each "
    "recipe, the percentage of workloads (comparisons) on which its median training seconds "
    "to target is within τ× the fastest recipe's of that comparison; a recipe most of whose runs "
    "missed the target never counts. Higher and further left is better; the value at τ = 1 is "
    "the share of workloads on which the recipe was the fastest."
)


def profile_blocks(
    times: dict[str, dict[str, float]],
    path: Path,
    title: str,
    anchor: str,
    limit: int | None = None,
) -> list[Block]:
    """A performance-profile figure of the recipes shared by ``times``' workloads (the
    ``limit`` most shared; nothing when none is shared), written to ``path``."""
    recipes = shared_recipes(times, limit)
    if not recipes:
        return []
    plot_performance_profile(times, path, recipes, title=title)
    return [
        Heading(f"Performance profile: {title}", 3, anchor=anchor),
        Paragraph(
            f"{PROFILE_NOTE} Workloads: {', '.join(f'`{w}`' for w in times)}; the fastest recipe "
            "of each is taken over all of its recipes, drawn or not."
        ),
        Image(path, f"{title}: performance profile (training seconds to target)"),
    ]


def scope_of(comparisons: list[Comparison]) -> str:
    """``"seeds: 3; data: fashion_mnist (6000 train), mnist1d"`` for a claim's comparisons."""
    if not comparisons:
        return ""
    seeds = sorted({c.seeds for c in comparisons})
    subsets: dict[str, list[int]] = {}  # data set -> its training subsets, in order
    for c in comparisons:
        sizes = subsets.setdefault(c.dataset, [])
        if c.train_subset and c.train_subset not in sizes:
            sizes.append(c.train_subset)
    data = [
        d + (f" ({', '.join(map(str, sizes))} train)" if sizes else "")
        for d, sizes in subsets.items()
    ]
    return f"seeds: {', '.join(map(str, seeds))}; data: {', '.join(data)}"


def measured_cell(verdict: Verdict, comparisons: list[Comparison]) -> str:
    """The verdict table's "what we measured": effect sizes with 95% intervals, seeds, data."""
    effects = "; ".join(verdict.effects) if verdict.effects else verdict.measured
    scope = "; ".join(s for s in (scope_of(comparisons), verdict.scope) if s)
    return f"{effects} ({scope})" if scope else effects


def _details_table(verdict: Verdict) -> Table:
    return Table(
        ["setting", "measured"],
        [d.split(": ", 1) if ": " in d else ["", d] for d in verdict.details],
    )


def _planned_keys(plan: dict[str, Any], records: list[dict[str, Any]]) -> set[str]:
    """Keys of every run the plan implies given its finished records: the tuning runs of the
    (extended) grids and the final runs of the selected learning rates."""
    keys: set[str] = set()
    for c in plan_comparisons(plan):
        keys |= {s.key() for s in tuning_specs(c, records)}
        try:
            best = select_learning_rates(c, records)
        except RuntimeError:
            continue
        keys |= {s.key() for s in c.final_specs(best)}
    return keys


def failed_runs_blocks(plan: dict[str, Any], records: list[dict[str, Any]]) -> list[Block]:
    """A table of the plan's runs that errored (first line of the error): they count as misses
    in the statistics, and a reader must see why they failed without opening runs.jsonl."""
    planned = _planned_keys(plan, records)
    latest = latest_by_key(records)
    rows = [
        [
            str(r.get("recipe", "?")),
            f"{r.get('lr', float('nan')):g}",
            str(r.get("seed", "?")),
            str(r.get("phase", "?")),
            (str(r.get("error") or "").splitlines() or ["?"])[0][:200],
        ]
        for k, r in latest.items()
        if k in planned and r.get("status") == "error"
    ]
    if not rows:
        return []
    return [
        Heading("Runs that failed with an error", 2, anchor="errors"),
        Paragraph(
            f"{len(rows)} run(s) raised an error (the full traceback is in their record in "
            "runs.jsonl). Re-running the same command retries them."
        ),
        Table(["recipe", "lr", "seed", "phase", "error"], rows),
    ]


def descriptive_blocks(summaries: dict[str, ComparisonSummary]) -> list[Block]:
    """The summary of a descriptive comparison: which recipe got to the target first and which
    was most accurate, in words without any verdict."""
    lines = []
    for cid, s in summaries.items():
        done = {n: r for n, r in s.recipes.items() if r.n_runs}
        if not done:
            lines.append(f"{cid}: no finished runs yet.")
            continue
        # only recipes that reached the target in most of their runs can be "fastest" to it
        reached = [r for r in done.values() if 2 * r.epochs_to_target.n_missed < r.n_runs]
        if reached:
            t = min(r.epochs_to_target.median for r in reached)
            first = [r.recipe for r in reached if r.epochs_to_target.median == t]
            speed = f"Fastest to the target (median epochs, {t:g}): {' and '.join(first)}" + (
                " (a tie)" if len(first) > 1 else ""
            )
        else:
            speed = "No recipe reached the target in most of its runs"
        m = s.metric
        scored = [r for r in done.values() if r.test_metric.size]
        if scored:
            top = min((r.test_metric_mean for r in scored), key=m.rank_key)
            names = [r.recipe for r in scored if r.test_metric_mean == top]
            word = "highest" if m.higher_is_better else "lowest"
            acc = f"{word} mean test {m.label}: {' and '.join(names)} ({m.show(top)})"
        else:
            acc = f"no run finished with a test {m.label}"
        lines.append(f"{speed}; {acc}. Intervals are in the table below.")
    return [Heading("Comparison", 2, anchor="comparison"), *(Paragraph(t) for t in lines)]


def build_report(out_dir: Path) -> Path:
    """Write ``report.md`` and ``report.html`` for the results in ``out_dir``; return the HTML path."""
    out_dir = Path(out_dir)
    plan = read_plan(out_dir)
    records = list(ResultsStore(out_dir / RUNS_FILE).records())
    figures = out_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    verdict_rows: list[list[str]] = []
    sections: list[Block] = []
    tuned: list[tuple[str, ComparisonSummary]] = []  # every tuned comparison, for the profile
    for entry in plan["claims"]:
        comps = [Comparison.from_dict(c) for c in entry["comparisons"]]
        summaries = {c.id: summarize_comparison(c, records) for c in comps}
        claim_dir = out_dir / entry["name"]
        tuned += [
            (f"{entry['name']}/{c.id}", summaries[c.id]) for c in comps if c.protocol == "tuned"
        ]
        if entry.get("descriptive"):
            sections += descriptive_blocks(summaries)
            for c in comps:
                sections += comparison_blocks(summaries[c.id], figures)
            continue
        claim = CLAIMS.get(entry["name"])
        verdicts: dict[str, Verdict] = {}
        by_protocol = {p: [c for c in comps if c.protocol == p] for p in ("tuned", "paper")}
        if claim is None:
            verdicts["tuned"] = Verdict(
                "inconclusive", f"claim {entry['name']!r} is not known to this boostprop"
            )
            paper, statement, rule = entry["name"], "–", "–"
        else:
            paper, statement, rule = claim.paper, claim.statement, claim.rule
            paper_extra = claim.paper_extra_planned(plan)  # a paper protocol run as an extra
            for protocol, cs in by_protocol.items():
                if protocol == "paper" and not cs and not paper_extra:
                    continue  # the claim declares no paper protocol (or it was not planned)
                try:
                    verdicts[protocol] = claim.judge_protocol(
                        protocol, {c.id: summaries[c.id] for c in cs}, claim_dir
                    )
                except Exception as exc:  # a report must still be written for a partial folder
                    verdicts[protocol] = Verdict(
                        "inconclusive", f"could not judge: {type(exc).__name__}: {exc}"
                    )
        verdict = verdicts["tuned"]
        paper_verdict = verdicts.get("paper")
        # a claim that declares a paper protocol which this preset does not run says so
        not_run = (
            claim is not None
            and paper_verdict is None
            and (claim.paper_arms is not None or claim.paper_extra is not None)
        )
        anchor = slug(entry["name"])
        verdict_rows.append(
            [
                f"[{paper}](#{anchor})",
                statement,
                measured_cell(verdict, by_protocol["tuned"]),
                f"**{verdict.status}**",
                ("not run in this preset" if not_run else "–")
                if paper_verdict is None
                else f"**{paper_verdict.status}**",
            ]
        )
        sections += [
            Heading(f"{paper}", 2, anchor=anchor),
            Paragraph(f"**Claim.** {statement}"),
            Paragraph(f"**Verdict rule.** {rule}"),
            Paragraph(f"**Verdict (tuned baselines): {verdict.status}.**"),
        ]
        if verdict.details:
            sections.append(_details_table(verdict))
        if paper_verdict is not None and claim is not None:
            agree = (
                "The two protocols agree."
                if paper_verdict.status == verdict.status
                else f"The protocols differ: {verdict.status} with tuned baselines, "
                f"{paper_verdict.status} under the paper's own setup; the protocol note says "
                "what differs between them."
            )
            sections += [
                Paragraph(f"**Verdict (the paper's protocol): {paper_verdict.status}.** {agree}"),
                Paragraph(f"**The paper's protocol.** {claim.paper_protocol}"),
            ]
            if paper_verdict.details:
                sections.append(_details_table(paper_verdict))
        if not_run and claim is not None:
            sections.append(
                Paragraph(
                    "**Verdict (the paper's protocol): not run in this preset.** "
                    f"{claim.paper_protocol}"
                )
            )
        for skipped in entry.get("skipped", []):
            sections.append(Paragraph(f"Skipped: {skipped}"))
        for c in comps:
            sections += comparison_blocks(summaries[c.id], figures)
        sections += profile_blocks(
            profile_times((c.id, summaries[c.id]) for c in by_protocol["tuned"]),
            figures / f"{entry['name']}__profile.png",
            f"{paper}, across its comparisons",
            f"{anchor}-profile",
        )
        if claim is not None:
            sections += claim.extra_blocks(claim_dir, figures)
    env = plan.get("env", {})
    planned = _planned_keys(plan, records)
    latest = latest_by_key(records)  # runs, not record lines (a retried run has several)
    n_plan = sum(1 for k, r in latest.items() if k in planned and r.get("status") != "error")
    n_errored = sum(1 for k, r in latest.items() if k in planned and r.get("status") == "error")
    preset = plan.get("preset") or {}
    descriptive = plan.get("kind") == "comparison"
    if descriptive:
        scope = (
            "a **descriptive comparison** of recipes on your model and data, with the same "
            "tuning budget, seeds, timing and statistics as a claim; it carries no paper verdict"
        )
    else:
        p = Preset.parse(preset["name"])
        scope = f"preset `{p.value}`: {p.description}"
    other = sum(1 for k in latest if k not in planned)
    title = "boostprop comparison report" if descriptive else "boostprop reproduction report"
    head: list[Block] = [
        Heading(title, 1),
        Paragraph(
            f"This is {scope}. Command: `{plan.get('command', '?')}` · {n_plan} finished runs of "
            f"this plan"
            + (f", {n_errored} that failed with an error" if n_errored else "")
            + (f" ({other} other records in the folder are not part of it)" if other else "")
            + f" · written from `{out_dir.name}/{RUNS_FILE}` and `{PLAN_FILE}` alone."
        ),
    ]
    if not descriptive:
        head += [
            Heading("Verdicts", 2, anchor="verdicts"),
            Table(
                [
                    "paper",
                    "claim",
                    "what we measured (tuned baselines)",
                    "verdict (tuned baselines)",
                    "verdict (paper's protocol)",
                ],
                verdict_rows,
            ),
        ]
    common = (
        "Times are training-step seconds only (evaluation untimed); medians and interquartile "
        "ranges over seeds. A run that misses the target, or fails (diverges or errors), counts "
        "at the full budget — all epochs, and the seconds all epochs take at its step time — and "
        "is flagged; the test metric averages the runs that finished, with 95% bootstrap "
        "intervals. Each comparison is judged by its task's metric — accuracy (classification), "
        "pixel accuracy (segmentation), bits per character (language modelling, lower is "
        "better), RMSE (regression, lower is better) — unless it names another: the losses' "
        "comparisons on a language model are judged by next-character accuracy, since only "
        "softmax-CE trains its logits as log-probabilities (bits/char is recorded beside it); "
        "a target is met in the metric's direction. "
        "Accuracies are percentages, in tables and plots alike; bits/char and RMSE are in their "
        "own units. Within a comparison "
        "every recipe was tuned by the same rule on the validation split: the same grid of "
        "factors of its default learning rate, extended by the same rule at an edge (so the "
        "number of tuning runs can differ; the tables give it)."
    )
    if descriptive:
        head.append(Paragraph(f"What is measured: {common}"))
    else:
        head.append(
            Paragraph(
                "What we measured: per setting, the effect with its 95% interval — a "
                "time-to-target ratio (candidate / baseline) is a ratio of medians over seeds "
                "with a percentile bootstrap interval; Δacc is the difference of mean test "
                "accuracies in points with a bootstrap interval (for bits/char or RMSE, how much "
                "lower the candidate's is, in their units) — then the seeds and data sets. "
                f"{common} Experiments outside the recipe comparisons (the convex solver's STE "
                "baselines) follow their paper's fixed protocol, as their sections say."
            )
        )
    overall = profile_blocks(
        profile_times(tuned),
        figures / "profile__all.png",
        "every comparison of the report",
        "profile-all",
        limit=PROFILE_RECIPES,
    )
    if overall:
        head += [Heading("Performance profiles", 2, anchor="profiles"), *overall]
    failures = failed_runs_blocks(plan, records)
    tail: list[Block] = [
        *failures,
        Heading("Environment", 2, anchor="environment"),
        Table(["key", "value"], [[str(k), str(v)] for k, v in env.items()]),
    ]
    blocks = head + sections + tail
    (out_dir / "report.md").write_text(to_markdown(blocks, relative_to=out_dir))
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(blocks, title=title))
    return html_path
