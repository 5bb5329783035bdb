"""Verdict rules' vocabulary: a verdict, how per-setting statuses combine, and effect sizes.

Pure functions of :class:`~boostprop.bench.summary.ComparisonSummary` objects (layer 4 of the
harness): time-to-target ratios with bootstrap intervals, accuracy gaps with Welch's test, and
the words a verdict table uses. Every claim's rule is written with these.

A "gap" is of the comparison's metric and always reads "how much better the candidate is":
for an accuracy, candidate − baseline in points (as it always was); for a lower-is-better
metric (bits/char, RMSE), baseline − candidate in the metric's units. A negative gap is a
candidate that is worse, whatever the task.

Example:
    >>> Verdict("holds", "2× faster").status
    'holds'
    >>> combine(["holds", "inconclusive"])
    'partly holds'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boostprop.bench.recipes._tasks import ACCURACY, Metric
from boostprop.bench.recipes.baselines import ADAM, SGD
from boostprop.bench.recipes.shortcut import PLAIN
from boostprop.bench.stats import bootstrap_diff_ci, bootstrap_ratio_ci, welch_ttest
from boostprop.bench.summary import ComparisonSummary

STATUSES = ("holds", "partly holds", "not reproduced", "inconclusive")
# The recipes a claim's candidates are measured against: the tuned softmax-CE baselines and the
# plain tanh network of the shortcut comparison. A comparison runs one or more of them.
BASELINE_RECIPES = (SGD, ADAM, PLAIN)


@dataclass(frozen=True)
class Verdict:
    """``status`` is one of :data:`STATUSES`; ``measured`` what was measured, in full;
    ``details`` one line per data set / setting (the claim's section); ``effects`` the effect
    sizes with their 95% intervals in a few words per setting (the verdict table); ``scope``
    the seeds and data sets when the comparisons do not say it (extras-only claims)."""

    status: str
    measured: str
    details: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    scope: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: expected one of {STATUSES}, got {self.status!r}")


def combine(statuses: Sequence[str]) -> str:
    """Overall status from per-setting statuses: all hold → holds; none → not reproduced."""
    judged = [s for s in statuses if s != "inconclusive"]
    if not judged:
        return "inconclusive"
    if all(s == "holds" for s in judged):
        return "holds" if len(judged) == len(statuses) else "partly holds"
    if all(s == "not reproduced" for s in judged):
        return "not reproduced"
    return "partly holds"


def fmt_ci(lo: float, hi: float, digits: int = 3) -> str:
    """``"[0.1, 0.2]"``: an interval with ``digits`` significant digits.

    Example:
        >>> fmt_ci(0.1234, 0.5)
        '[0.123, 0.5]'
    """
    return f"[{lo:.{digits}g}, {hi:.{digits}g}]"


class Gap(tuple):
    """``(gap, (lo, hi), p)`` of :func:`accuracy_gap`, a plain tuple that also carries the
    ``metric`` it is of (so :func:`gap_effect` writes its units)."""

    metric: Metric = ACCURACY

    def __new__(cls, values: tuple[float, tuple[float, float], float], metric: Metric) -> Gap:
        out = super().__new__(cls, values)
        out.metric = metric
        return out


def accuracy_gap(
    summary: ComparisonSummary, candidate: str, baseline: str
) -> tuple[float, tuple[float, float], float] | None:
    """How much better the candidate's mean test metric is than the baseline's, its 95%
    bootstrap interval, and Welch's two-sided p-value; ``None`` when either side has fewer than
    two finished runs. For an accuracy: candidate − baseline in points; for a lower-is-better
    metric (bits/char, RMSE): baseline − candidate in its units — positive is better either way
    (the result is a :class:`Gap`, a tuple that knows its metric).

    Example:
        >>> from boostprop.bench.plan import Comparison
        >>> from boostprop.bench.summary import summarize_recipe
        >>> from boostprop.bench.recipes._tasks import METRICS
        >>> c = Comparison(claim="x", id="w", title="w", dataset="iris", model="mlp",
        ...                recipes=(ADAM, SGD), target=0.8, epochs=3, batch_size=8, seeds=2,
        ...                lr_factors=(1.0,))
        >>> runs = lambda v: [{"status": "ok", "test_metric": x, "step_seconds": 0.1,
        ...                    "metric": {"name": "rmse"}} for x in v]
        >>> s = ComparisonSummary(c, {ADAM: summarize_recipe(ADAM, runs([0.2, 0.3]), budget=3),
        ...                           SGD: summarize_recipe(SGD, runs([0.5, 0.6]), budget=3)},
        ...                       METRICS["rmse"])
        >>> round(accuracy_gap(s, ADAM, SGD)[0], 6)  # Adam's RMSE is 0.3 lower: +0.3 better
        0.3
    """
    cand, base = summary[candidate], summary[baseline]
    metric = getattr(summary, "metric", ACCURACY)
    a, b = cand.test_metric, base.test_metric
    if a.size < 2 or b.size < 2:
        return None
    k = metric.scale
    better, worse = (k * a, k * b) if metric.higher_is_better else (k * b, k * a)
    gap = better.mean() - worse.mean()
    lo, hi = bootstrap_diff_ci(better, worse)
    return Gap((float(gap), (lo, hi), welch_ttest(a, b).p), metric)


metric_gap = accuracy_gap  # the same helper under the name of what it measures


def speed_ratio(
    summary: ComparisonSummary, candidate: str, baseline: str, unit: str = "epochs"
) -> tuple[float, int, int] | None:
    """Median time-to-target of candidate / baseline (misses counted at the budget), and the
    number of misses of each; ``None`` when a side has no run."""
    get = (lambda r: r.epochs_to_target) if unit == "epochs" else (lambda r: r.seconds_to_target)
    c, b = get(summary[candidate]), get(summary[baseline])
    if not len(c.values) or not len(b.values) or not b.median > 0:
        return None
    return c.median / b.median, c.n_missed, b.n_missed


def ratio_interval(
    summary: ComparisonSummary, candidate: str, baseline: str, unit: str = "epochs"
) -> tuple[float, float] | None:
    """The 95% bootstrap interval over seeds of the median time-to-target ratio candidate /
    baseline (misses at the budget), the interval :func:`ratio_effect` prints; ``None`` when a
    side has no run."""
    get = (lambda r: r.epochs_to_target) if unit == "epochs" else (lambda r: r.seconds_to_target)
    c, b = get(summary[candidate]).values, get(summary[baseline]).values
    if not len(c) or not len(b) or not (b > 0).all():
        return None
    return bootstrap_ratio_ci(c, b)


SIDES = ("<", "<=", ">=")
# appended to the rules of the claims judged with versus/decide (the report prints each rule)
INTERVAL_RULE = (
    " Each condition is decided by its 95% interval, never by the point estimate alone: a "
    "comparison holds when every interval lies on the claim's side of its threshold, is not "
    "reproduced when one lies wholly on the other side (or the accuracy is significantly "
    "lower), and is inconclusive when an interval contains its threshold."
)


def versus(interval: tuple[float, float] | None, threshold: float, side: str) -> str:
    """Where a 95% interval lies against a claim's threshold: ``"pass"`` when all of it is on the
    claim's side (``side`` is the claim's relation, effect ``<``, ``<=`` or ``>=`` threshold),
    ``"fail"`` when all of it is on the other side, ``"unclear"`` when it contains the threshold
    or there is no interval. A verdict is decided only by intervals that exclude the threshold.

    Example:
        >>> versus((0.5, 0.7), 0.75, "<="), versus((0.8, 1.2), 0.75, "<="), versus((0.5, 1.3), 0.75, "<=")
        ('pass', 'fail', 'unclear')
        >>> versus((-0.5, 2.6), 1.4, ">="), versus((1.5, 2.0), 1.4, ">=")
        ('unclear', 'pass')
    """
    if side not in SIDES:
        raise ValueError(f"side: expected one of {SIDES}, got {side!r}")
    if interval is None:
        return "unclear"
    lo, hi = interval
    if side == "<":
        return "pass" if hi < threshold else "fail" if lo >= threshold else "unclear"
    if side == "<=":
        return "pass" if hi <= threshold else "fail" if lo > threshold else "unclear"
    return "pass" if lo >= threshold else "fail" if hi < threshold else "unclear"


def decide(*conditions: str) -> str:
    """A comparison's status from its conditions (each ``"pass"``, ``"fail"`` or ``"unclear"``,
    see :func:`versus`): ``"not reproduced"`` when one fails, ``"holds"`` when all pass,
    ``"inconclusive"`` otherwise (an interval that contains a threshold decides nothing).

    Example:
        >>> decide("pass", "pass"), decide("pass", "unclear"), decide("unclear", "fail")
        ('holds', 'inconclusive', 'not reproduced')
    """
    bad = [c for c in conditions if c not in ("pass", "fail", "unclear")]
    if bad or not conditions:
        raise ValueError(f"conditions: expected 'pass', 'fail' or 'unclear', got {conditions!r}")
    if "fail" in conditions:
        return "not reproduced"
    return "holds" if all(c == "pass" for c in conditions) else "inconclusive"


def ratio_effect(
    summary: ComparisonSummary, candidate: str, baseline: str, unit: str = "epochs"
) -> str:
    """``"0.75× [0.50, 1.00] epochs"``: the median time-to-target ratio candidate / baseline
    (misses at the budget) with its 95% bootstrap interval over seeds."""
    interval = ratio_interval(summary, candidate, baseline, unit)
    if interval is None:
        return f"{unit}: no runs"
    get = (lambda r: r.epochs_to_target) if unit == "epochs" else (lambda r: r.seconds_to_target)
    c, b = get(summary[candidate]).values, get(summary[baseline]).values
    ratio = float(np.median(c) / np.median(b))
    return f"{ratio:.2f}× [{interval[0]:.2f}, {interval[1]:.2f}] {unit}"


def gap_effect(gap: tuple[float, tuple[float, float], float] | None) -> str:
    """``"Δacc +0.35 [-0.93, +1.63] pts"`` from :func:`accuracy_gap`; for a lower-is-better
    metric ``"bits/char better by +0.050 [+0.010, +0.090]"`` (positive: the candidate is
    better).

    Example:
        >>> gap_effect((0.35, (-0.93, 1.63), 0.6))
        'Δacc +0.35 [-0.93, +1.63] pts'
        >>> from boostprop.bench.recipes._tasks import METRICS
        >>> gap_effect(Gap((0.05, (0.01, 0.09), 0.01), METRICS["bits_per_char"]))
        'bits/char better by +0.050 [+0.010, +0.090]'
    """
    metric = getattr(gap, "metric", ACCURACY)
    if metric.fraction:
        name = "Δacc" if metric is ACCURACY else f"Δ{metric.label}"
        if gap is None:
            return f"{name}: too few runs"
        return f"{name} {gap[0]:+.2f} [{gap[1][0]:+.2f}, {gap[1][1]:+.2f}] pts"
    if gap is None:
        return "Δ: too few runs"
    return f"{metric.label} better by {gap[0]:+.3f} [{gap[1][0]:+.3f}, {gap[1][1]:+.3f}]"


def describe_speed(ratio: tuple[float, int, int] | None, unit: str) -> str:
    """``"median epochs-to-target ratio 0.75× (misses: 1 vs 0)"`` from :func:`speed_ratio`.

    Example:
        >>> describe_speed((0.75, 1, 0), "epochs")
        'median epochs-to-target ratio 0.75× (misses: 1 vs 0)'
    """
    if ratio is None:
        return f"{unit}-to-target: no runs"
    r, mc, mb = ratio
    miss = f" (misses: {mc} vs {mb})" if mc or mb else ""
    return f"median {unit}-to-target ratio {r:.2f}×{miss}"


def failed(summary: ComparisonSummary, recipe: str) -> bool:
    """True when ``recipe`` ran but fewer than two of its runs finished (diverged or errored):
    a candidate that does not train is a result against its claim, not a missing result."""
    r = summary[recipe]
    return r.n_runs > 0 and r.n_runs - r.n_failed < 2


def describe_failure(summary: ComparisonSummary, recipe: str) -> str:
    """``"<recipe> failed (diverged or errored) in 2 of 3 runs"``."""
    r = summary[recipe]
    return f"{recipe} failed (diverged or errored) in {r.n_failed} of {r.n_runs} runs"


def baseline_missed(
    summary: ComparisonSummary, baselines: Sequence[str] = BASELINE_RECIPES
) -> str | None:
    """Why ``summary``'s comparison cannot be judged, or ``None`` when it can: every baseline
    it runs (those of ``baselines`` among its recipes with final runs) missed the target —
    failed runs included — in most of its final runs, so the preset is too small for the
    baseline itself and a candidate's ratio to it says nothing about the claim. A comparison
    without a baseline recipe, or without final runs, is left to the claim's rule.

    Example:
        >>> from boostprop.bench.plan import Comparison
        >>> from boostprop.bench.summary import summarize_recipe
        >>> c = Comparison(claim="x", id="w", title="w", dataset="iris", model="mlp",
        ...                model_kwargs={}, recipes=(ADAM,), target=0.8, epochs=3,
        ...                batch_size=8, seeds=2, lr_factors=(1.0,))
        >>> runs = [{"status": "ok", "epochs_to_target": None, "test_acc": 0.5,
        ...          "step_seconds": 0.1}] * 2
        >>> s = ComparisonSummary(c, {ADAM: summarize_recipe(ADAM, runs, budget=3)})
        >>> baseline_missed(s)
        'the baseline did not reach the target (softmax-ce+adam missed it in 2 of 2 final runs; target validation accuracy 80.0%)'
    """
    present = [r for r in baselines if r in summary.recipes and summary[r].n_runs]
    if not present:
        return None
    missed = [r for r in present if 2 * summary[r].epochs_to_target.n_missed > summary[r].n_runs]
    if len(missed) < len(present):
        return None
    parts = ", ".join(
        f"{r} missed it in {summary[r].epochs_to_target.n_missed} of {summary[r].n_runs} final runs"
        for r in missed
    )
    metric = getattr(summary, "metric", ACCURACY)
    if metric is ACCURACY:
        target = f"target validation accuracy {100 * summary.comparison.target:.1f}%"
    else:
        target = f"target {metric.describe_target(summary.comparison.target)}"
    return f"the baseline did not reach the target ({parts}; {target})"


def judge_with_baselines(
    rule: Callable[[dict[str, ComparisonSummary], Path], Verdict],
    summaries: dict[str, ComparisonSummary],
    out_dir: Path,
    baselines: Sequence[str] = BASELINE_RECIPES,
) -> Verdict:
    """``rule``'s verdict, except where a comparison's baseline missed the target
    (:func:`baseline_missed`): such a comparison is inconclusive, with that reason, and is left
    out of the judgement; the others are judged by ``rule`` and combined with it (some held,
    one inconclusive: partly holds). When every comparison's baseline missed, the verdict is
    inconclusive and carries no verdict words of ``rule``; the effect sizes ``rule`` measured
    are still shown (they are measurements, not verdicts), after the list of the comparisons
    whose baseline missed.

    Example:
        >>> judge_with_baselines(lambda s, d: Verdict("holds", "fast"), {}, Path(".")).status
        'holds'
    """
    unjudged = {
        cid: reason
        for cid, s in summaries.items()
        if (reason := baseline_missed(s, baselines)) is not None
    }
    if not unjudged:
        return rule(summaries, out_dir)
    reasons = tuple(f"{cid}: {reason} → inconclusive" for cid, reason in unjudged.items())
    measured = rule(summaries, out_dir)  # the effect sizes of every comparison
    judged = {cid: s for cid, s in summaries.items() if cid not in unjudged}
    effects = (f"the baseline missed the target in {', '.join(unjudged)}", *measured.effects)
    if not judged:
        return Verdict("inconclusive", "; ".join(reasons), reasons, effects, measured.scope)
    sub = rule(judged, out_dir)
    details = sub.details + reasons
    return Verdict(
        combine([sub.status, *("inconclusive" for _ in unjudged)]),
        "; ".join(details),
        details,
        effects,
        measured.scope,
    )
