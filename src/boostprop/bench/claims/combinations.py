"""Do the techniques stack? Pairwise combinations of the losses, NeuronBoost and ShortcutMLP.

Not a single paper's claim: each technique is tested on its own by its claim; this asks whether
two of them together reach the target faster than either alone, on the Fashion-MNIST MLP with
the same tuning budget for every recipe (Øland et al. 2017 expGB loss, Wang et al. 2023 rooted
logistic loss, Munoz 2025 NeuronBoost, Raiko et al. 2012 transformed tanh units with shortcuts).

The single techniques are: ``expboost+adam`` and ``rooted-paper-k3+adam`` (the loss alone, with
the baseline optimizer), ``neuronboost`` (cross-entropy), ``shortcut-ab`` (cross-entropy, SGD with
the per-skip learning rates, transformations α, β). The RLO variant (paper form, k = 3) is fixed a
priori, not chosen on results. A pair keeps each member's distinctive part: a loss replaces
cross-entropy; NeuronBoost replaces the optimizer (Adam, or the shortcut network's SGD); the
shortcut network replaces the MLP (with its transformation schedule).

Example:
    >>> from boostprop.bench.presets import Preset
    >>> [c.id for c in CLAIM.comparisons(Preset.SMOKE)]
    ['fashion_combinations']
    >>> [c.id for c in CLAIM.comparisons(Preset.QUICK)]
    ['mnist1d_combinations']
"""

from __future__ import annotations

from pathlib import Path

from boostprop.bench.claims._claim import Arm, Claim, register_claim
from boostprop.bench.presets import PresetTable
from boostprop.bench.recipes.combinations import BASELINE as ADAM
from boostprop.bench.recipes.combinations import PAIRS, SINGLES
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import (
    INTERVAL_RULE,
    Verdict,
    accuracy_gap,
    combine,
    decide,
    describe_failure,
    failed,
    gap_effect,
    ratio_effect,
    ratio_interval,
    versus,
)

RECIPES = (ADAM, *SINGLES.values(), *(r.name for r in PAIRS.values()))
ARM = Arm(
    "fashion_mlp",
    RECIPES,
    id="fashion_combinations",
    title="fashion_mnist MLP: pairwise combinations",
)
# the quick look and the standard preset ask the same question on the cheaper MNIST-1D MLP
# (eight recipes on the Fashion-MNIST MLP were over a third of the quick preset's time, and
# about 38 CPU minutes at its standard size, a fifth of the standard preset); full asks it on
# the Fashion-MNIST MLP
QUICK_ARM = Arm(
    "mnist1d_mlp",
    RECIPES,
    id="mnist1d_combinations",
    title="mnist1d MLP: pairwise combinations",
)


def _stacks(status: str, speed: str, lower: tuple[float, tuple[float, float], float] | None) -> str:
    """What a pair's status says of it, in its detail line: ``speed`` is :func:`versus` of its
    epochs ratio interval, ``lower`` the accuracy gap when it is significantly lower, else
    ``None``.

    Example:
        >>> _stacks("inconclusive", "unclear", None)
        'undecided (the interval contains 1)'
        >>> _stacks("not reproduced", "fail", (-2.0, (-3.0, -1.0), 0.01))
        'does not stack (the interval lies at or above 1; test accuracy significantly lower, Welch p = 0.01)'
    """
    if status == "holds":
        return "stacks"
    if status == "inconclusive":
        return "undecided (the interval contains 1)"
    reasons = ["the interval lies at or above 1"] if speed == "fail" else []
    if lower is not None:
        reasons.append(f"test accuracy significantly lower, Welch p = {lower[2]:.3g}")
    return f"does not stack ({'; '.join(reasons)})"


def judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """Does each pair stack (see the claim's rule)?"""
    statuses, details, effects = [], [], []
    for s in summaries.values():
        for (a, b), recipe in PAIRS.items():
            pair, single_a, single_b = recipe.name, SINGLES[a], SINGLES[b]
            label = f"{a} + {b}"
            if failed(s, pair):
                statuses.append("not reproduced")
                details.append(f"{label}: {describe_failure(s, pair)} → not reproduced")
                effects.append(f"{label}: failed")
                continue
            medians = {r: s[r].epochs_to_target for r in (pair, single_a, single_b)}
            if any(not len(t.values) for t in medians.values()):
                statuses.append("inconclusive")
                details.append(f"{label}: not enough finished runs → inconclusive")
                effects.append(f"{label}: too few runs")
                continue
            better = min((single_a, single_b), key=lambda r: medians[r].median)
            gap = accuracy_gap(s, pair, better)
            lower = gap is not None and gap[0] < 0 and gap[2] < 0.05
            speed = versus(ratio_interval(s, pair, better), 1.0, "<")
            status = decide(speed, "fail" if lower else "pass")
            statuses.append(status)
            details.append(
                f"{label}: epochs to target (median) {medians[pair].median:g} vs "
                f"{a} {medians[single_a].median:g}, {b} {medians[single_b].median:g}, "
                f"tuned Adam {s[ADAM].epochs_to_target.median:g}; pair/better single "
                f"({better}) {ratio_effect(s, pair, better)}, "
                f"{ratio_effect(s, pair, better, 'seconds')}, {gap_effect(gap)}; "
                f"{_stacks(status, speed, gap if lower else None)} → {status}"
            )
            effects.append(
                f"{label}: vs better single {ratio_effect(s, pair, better)}, {gap_effect(gap)}"
            )
        ranked = sorted(
            (r for r in s.recipes if len(s[r].seconds_to_target.values)),
            key=lambda r: (s[r].seconds_to_target.median, s[r].epochs_to_target.median),
        )
        if ranked:
            best = ranked[0]
            details.append(
                f"fastest recipe by median seconds to target: {best} "
                f"({s[best].seconds_to_target.median:.3g} s, "
                f"{s[best].epochs_to_target.median:g} epochs; tuned Adam "
                f"{s[ADAM].seconds_to_target.median:.3g} s)"
            )
    return Verdict(
        combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
    )


CLAIM = register_claim(
    Claim(
        name="combinations",
        rank=6,
        paper="Combinations (best combination)",
        statement=(
            "Two techniques together reach the validation target in fewer epochs than either alone."
        ),
        rule=(
            "Per pair: stacks when the pair's median epochs-to-target (misses and failed runs at the "
            "budget) is below both single techniques' (the 95% interval of its ratio to the better "
            "single's, the one with the lower median, lies wholly below 1) and its mean test "
            "accuracy is not significantly below the better single's (Welch p < 0.05); does not "
            "stack when that interval lies wholly at or above 1, the accuracy is significantly "
            "lower or the pair failed; undecided when the interval contains 1. The claim holds "
            "when every pair stacks, partly when some do. Seconds-to-target and the tuned-Adam "
            "baseline are reported alongside." + INTERVAL_RULE
        ),
        sizes=PresetTable(smoke=(ARM,), quick=(QUICK_ARM,), standard=(QUICK_ARM,), full=(ARM,)),
        arms=lambda arms: arms,
        judge=judge,
    )
)
