"""Claim of Øland, Bansal, Dannenberg and Raj (2017), "Be Careful What You Backpropagate: A Case
For Linear Output Activations & Gradient Boosting", arXiv:1707.04199.

A linear output layer whose backpropagated error is exponentiated (expGB) converges faster than
softmax cross-entropy (the paper quotes ≥ 25% fewer epochs) with equal or better test accuracy.
Recipes (:mod:`boostprop.bench.recipes.expboost`): softmax-CE, linear + squared error, sigmoid +
BCE, expGB, cubic GB; each with SGD with momentum and with Adam (the ND-Adam criticism: Adam
may undo the effect).

Example:
    >>> from boostprop.bench.presets import Preset
    >>> [c.id for c in CLAIM.comparisons(Preset.SMOKE)]
    ['fashion_mlp_sgd', 'fashion_mlp_adam', 'mnist1d_mlp_sgd', 'mnist1d_mlp_adam']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boostprop.bench.claims._claim import Arm, Claim, per_optimizer_arms, register_claim
from boostprop.bench.presets import PresetTable
from boostprop.bench.recipes.expboost import OPTIMIZERS_LR
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import (
    Verdict,
    accuracy_gap,
    combine,
    describe_failure,
    describe_speed,
    failed,
    fmt_ci,
    gap_effect,
    ratio_effect,
    speed_ratio,
)

MAX_EPOCH_RATIO = 0.75  # "≥ 25% fewer epochs"


@dataclass(frozen=True)
class Sizes:
    """What the claim compares under a preset."""

    workloads: tuple[str, ...]
    losses: tuple[str, ...]


_BASE = Sizes(("fashion_mlp", "mnist1d_mlp"), ("softmax-ce", "linear-mse", "expboost"))
_FULL = Sizes(
    ("fashion_mlp", "fashion_cnn", "mnist1d_mlp"),
    ("softmax-ce", "linear-mse", "expboost", "sigmoid-bce", "cubicboost"),
)
SIZES = PresetTable(
    smoke=_BASE,
    quick=_BASE,
    # standard: provisional (= full) until sized by measurement (issue 14)
    standard=_FULL,
    full=_FULL,
)


def arms(sizes: Sizes) -> list[Arm]:
    """One comparison per workload and optimizer (each with its own plots)."""
    return per_optimizer_arms(sizes.workloads, tuple(OPTIMIZERS_LR), sizes.losses)


def judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """expGB vs softmax-CE per data set and optimizer (see the claim's rule)."""
    statuses, details, effects = [], [], []
    for cid, s in summaries.items():
        for opt in OPTIMIZERS_LR:
            cand, base = f"expboost+{opt}", f"softmax-ce+{opt}"
            if cand not in s.recipes:
                continue
            ratio, gap = speed_ratio(s, cand, base), accuracy_gap(s, cand, base)
            if failed(s, cand) and not failed(s, base):
                statuses.append("not reproduced")
                details.append(f"{cid} / {opt}: {describe_failure(s, cand)}")
                effects.append(f"{cid}/{opt}: expGB failed")
                continue
            if ratio is None or gap is None:
                statuses.append("inconclusive")
                details.append(f"{cid} / {opt}: not enough finished runs")
                effects.append(f"{cid}/{opt}: too few runs")
                continue
            lower = gap[0] < 0 and gap[2] < 0.05
            ok = ratio[0] <= MAX_EPOCH_RATIO and not lower
            statuses.append("holds" if ok else "not reproduced")
            details.append(
                f"{cid} / {opt}: expboost vs softmax-CE {describe_speed(ratio, 'epochs')}; "
                f"test accuracy {gap[0]:+.2f} points, 95% CI {fmt_ci(*gap[1])}, Welch p = {gap[2]:.3g}"
            )
            effects.append(
                f"{cid}/{opt}: expGB/CE {ratio_effect(s, cand, base)}, {gap_effect(gap)}"
            )
    return Verdict(
        combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
    )


CLAIM = register_claim(
    Claim(
        name="oland2017",
        rank=1,
        paper="Øland et al. 2017",
        statement=(
            "A linear output with exponentially boosted error gradients (expGB) reaches the target in "
            "≥ 25% fewer epochs than softmax cross-entropy, with equal or better test accuracy."
        ),
        rule=(
            "Per data set and optimizer: holds when expboost's median epochs-to-target is ≤ 0.75× "
            "softmax-CE's with the same optimizer and its mean test accuracy is not significantly lower "
            "(a lower mean with Welch p < 0.05 counts as lower); otherwise not reproduced."
        ),
        sizes=SIZES,
        arms=arms,
        judge=judge,
    )
)
