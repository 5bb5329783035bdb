"""Baseline comparison: SGD with momentum vs Adam, both with softmax cross-entropy.

Not a paper's claim: it exercises the harness end to end on the baselines every technique is
compared against, and gives the reference numbers (epochs and seconds to target, test accuracy)
for the two standard optimizers with the same tuning budget.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> [c.id for c in CLAIM.comparisons(Preset.SMOKE)]
    ['fashion_mlp', 'mnist1d_mlp']
"""

from __future__ import annotations

from pathlib import Path

from boostprop.bench.claims._claim import Arm, Claim, register_claim
from boostprop.bench.presets import PresetTable
from boostprop.bench.recipes.baselines import ADAM, SGD
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import (
    INTERVAL_RULE,
    Verdict,
    accuracy_gap,
    combine,
    decide,
    describe_speed,
    fmt_ci,
    gap_effect,
    ratio_effect,
    ratio_interval,
    speed_ratio,
    versus,
)

WORKLOADS = ("fashion_mlp", "mnist1d_mlp")


def judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """Adam vs SGD per data set (see the claim's rule)."""
    statuses, details, effects = [], [], []
    for cid, s in summaries.items():
        ratio = speed_ratio(s, ADAM, SGD)
        if ratio is None:
            statuses.append("inconclusive")
            details.append(f"{cid}: no finished runs")
            effects.append(f"{cid}: no finished runs")
            continue
        status = decide(versus(ratio_interval(s, ADAM, SGD), 1.0, "<"))
        statuses.append(status)
        gap = accuracy_gap(s, ADAM, SGD)
        acc = (
            f"test accuracy gap {gap[0]:+.2f} points, 95% CI {fmt_ci(*gap[1])}, Welch p = {gap[2]:.3g}"
            if gap is not None
            else "test accuracy: fewer than two finished runs on a side"
        )
        details.append(
            f"{cid}: Adam/SGD {describe_speed(ratio, 'epochs')}, {ratio_effect(s, ADAM, SGD)}; "
            f"{acc} → {status}"
        )
        effects.append(f"{cid}: Adam/SGD {ratio_effect(s, ADAM, SGD)}, {gap_effect(gap)}")
    return Verdict(
        combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
    )


CLAIM = register_claim(
    Claim(
        name="baselines",
        rank=9,
        paper="Baselines (no paper)",
        statement=(
            "Tuned Adam reaches the validation target in fewer epochs than tuned SGD with momentum."
        ),
        rule=(
            "Holds on a data set when Adam's median epochs-to-target (failed runs counted at the "
            "budget) is below SGD's; the test-accuracy gap Adam − SGD is reported with its 95% "
            "bootstrap interval." + INTERVAL_RULE
        ),
        sizes=PresetTable.same(WORKLOADS),
        arms=lambda workloads: [Arm(w, (SGD, ADAM)) for w in workloads],
        judge=judge,
    )
)
