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
    >>> [c.id for c in CombinationsClaim().comparisons("smoke")]
    ['fashion_combinations']
"""

from __future__ import annotations

from pathlib import Path

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import (
    Claim,
    Verdict,
    accuracy_gap,
    combine,
    describe_failure,
    failed,
    gap_effect,
    ratio_effect,
)
from boostprop.bench.claims.baselines import ADAM, standard_comparison
from boostprop.bench.claims.munoz2025 import NB
from boostprop.bench.claims.raiko2012 import AB
from boostprop.bench.recipes import Recipe, get_recipe, register_recipe
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.sweep import Comparison

EXPGB, RLO = "expboost+adam", "rooted-paper-k3+adam"
SINGLES = {"expGB": EXPGB, "RLO": RLO, "NeuronBoost": NB, "shortcut": AB}

_shortcut = get_recipe(AB)
_nb = get_recipe(NB)


def _with_neuronboost(loss: str, description: str) -> Recipe:
    """``loss`` on the baseline MLP, optimised by NeuronBoost."""
    return Recipe(f"{loss}+neuronboost", loss, "neuronboost", _nb.lr, description=description)


def _on_shortcut(technique: str, loss: str, optimizer: str, lr: float, description: str) -> Recipe:
    """``shortcut-ab+<technique>``: the shortcut network with α, β and its transformation
    schedule, trained on ``loss`` by ``optimizer``."""
    return Recipe(
        f"shortcut-ab+{technique}",
        loss,
        optimizer,
        lr,
        model=_shortcut.model,
        model_kwargs=_shortcut.model_kwargs,
        hooks=_shortcut.hooks,
        description=description,
    )


PAIRS: dict[tuple[str, str], Recipe] = {
    ("expGB", "NeuronBoost"): _with_neuronboost("expboost", "expGB loss, NeuronBoost"),
    ("RLO", "NeuronBoost"): _with_neuronboost(
        "rooted-paper-k3", "RLO loss (paper form, k = 3), NeuronBoost"
    ),
    ("expGB", "shortcut"): _on_shortcut(
        "expboost",
        "expboost",
        _shortcut.optimizer,
        _shortcut.lr,
        "shortcut network with α, β, expGB loss, SGD",
    ),
    ("RLO", "shortcut"): _on_shortcut(
        "rooted-paper-k3",
        "rooted-paper-k3",
        _shortcut.optimizer,
        _shortcut.lr,
        "shortcut network with α, β, RLO loss (paper form, k = 3), SGD",
    ),
    ("NeuronBoost", "shortcut"): _on_shortcut(
        "neuronboost",
        "softmax-ce",
        "neuronboost",
        _nb.lr,
        "shortcut network with α, β, cross-entropy, NeuronBoost",
    ),
}
for _recipe in PAIRS.values():
    register_recipe(_recipe)


class CombinationsClaim(Claim):
    name = "combinations"
    rank = 6
    paper = "Combinations (best combination)"
    statement = (
        "Two techniques together reach the validation target in fewer epochs than either alone."
    )
    rule = (
        "Per pair: stacks when the pair's median epochs-to-target (misses and failed runs at the "
        "budget) is below both single techniques' and its mean test accuracy is not significantly "
        "below the better single's (Welch p < 0.05); holds when every pair stacks, partly when "
        "some do. Seconds-to-target and the tuned-Adam baseline are reported alongside."
    )

    def recipes(self) -> tuple[str, ...]:
        return (ADAM, *SINGLES.values(), *(r.name for r in PAIRS.values()))

    def comparisons(self, preset: str) -> list[Comparison]:
        return [
            standard_comparison(
                self.name,
                preset,
                "fashion_mnist",
                self.recipes(),
                comparison_id="fashion_combinations",
                title="fashion_mnist MLP: pairwise combinations",
            )
        ]

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
        statuses, details, effects = [], [], []
        for s in summaries.values():
            for (a, b), recipe in PAIRS.items():
                pair, single_a, single_b = recipe.name, SINGLES[a], SINGLES[b]
                label = f"{a} + {b}"
                if failed(s, pair):
                    statuses.append("not reproduced")
                    details.append(f"{label}: {describe_failure(s, pair)}")
                    effects.append(f"{label}: failed")
                    continue
                medians = {r: s[r].epochs_to_target for r in (pair, single_a, single_b)}
                if any(not len(t.values) for t in medians.values()):
                    statuses.append("inconclusive")
                    details.append(f"{label}: not enough finished runs")
                    effects.append(f"{label}: too few runs")
                    continue
                better = min((single_a, single_b), key=lambda r: medians[r].median)
                gap = accuracy_gap(s, pair, better)
                lower = gap is not None and gap[0] < 0 and gap[2] < 0.05
                faster = medians[pair].median < min(
                    medians[single_a].median, medians[single_b].median
                )
                statuses.append("holds" if faster and not lower else "not reproduced")
                details.append(
                    f"{label}: epochs to target (median) {medians[pair].median:g} vs "
                    f"{a} {medians[single_a].median:g}, {b} {medians[single_b].median:g}, "
                    f"tuned Adam {s[ADAM].epochs_to_target.median:g}; pair/better single "
                    f"({better}) {ratio_effect(s, pair, better)}, "
                    f"{ratio_effect(s, pair, better, 'seconds')}, {gap_effect(gap)}"
                    + ("; stacks" if faster and not lower else "; does not stack")
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


register_claim(CombinationsClaim())
