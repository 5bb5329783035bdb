"""Claim of Øland, Bansal, Dannenberg and Raj (2017), "Be Careful What You Backpropagate: A Case
For Linear Output Activations & Gradient Boosting", arXiv:1707.04199.

A linear output layer whose backpropagated error is exponentiated (expGB) converges faster than
softmax cross-entropy (the paper quotes ≥ 25% fewer epochs) with equal or better test accuracy.
Recipes: softmax-CE, linear + squared error, sigmoid + BCE, expGB, cubic GB; each with SGD with
momentum and with Adam (the ND-Adam criticism: Adam may undo the effect).

Example:
    >>> [c.id for c in OlandClaim().comparisons("smoke")]
    ['fashion_mlp_sgd', 'fashion_mlp_adam', 'mnist1d_mlp_sgd', 'mnist1d_mlp_adam']
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import (
    Claim,
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
from boostprop.bench.claims.baselines import per_optimizer_comparisons, standard_settings
from boostprop.bench.recipes import ADAM_LR, LOSSES, SGD_LR, LossFn, Recipe, register_recipe
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.sweep import Comparison
from boostprop.losses import cubic_boost_loss, exp_boost_loss


def _boost_factory(fn: Any) -> Any:
    def factory(n_classes: int, **kwargs: Any) -> LossFn:
        return functools.partial(fn, **kwargs)

    return factory


LOSSES["expboost"] = _boost_factory(exp_boost_loss)
LOSSES["cubicboost"] = _boost_factory(cubic_boost_loss)

OPTIMIZERS_LR = {"sgd": ("sgd-momentum", SGD_LR), "adam": ("adam", ADAM_LR)}
LOSS_NAMES = {
    "softmax-ce": "softmax cross-entropy",
    "linear-mse": "linear output, squared error (δ = z − t)",
    "sigmoid-bce": "saturating sigmoid outputs, binary cross-entropy",
    "expboost": "linear output, exponential gradient boosting (alpha 0.1, beta 0)",
    "cubicboost": "linear output, cubic gradient boosting (alpha 1e-3, beta 0)",
}
for _loss, _desc in LOSS_NAMES.items():
    for _opt, (_optimizer, _lr) in OPTIMIZERS_LR.items():
        if _loss == "softmax-ce":
            continue  # the baselines are registered with the harness
        register_recipe(
            Recipe(f"{_loss}+{_opt}", _loss, _optimizer, _lr, description=f"{_desc}, {_opt}")
        )

MAX_EPOCH_RATIO = 0.75  # "≥ 25% fewer epochs"


class OlandClaim(Claim):
    name = "oland2017"
    rank = 1
    paper = "Øland et al. 2017"
    statement = (
        "A linear output with exponentially boosted error gradients (expGB) reaches the target in "
        "≥ 25% fewer epochs than softmax cross-entropy, with equal or better test accuracy."
    )
    rule = (
        "Per data set and optimizer: holds when expboost's median epochs-to-target is ≤ 0.75× "
        "softmax-CE's with the same optimizer and its mean test accuracy is not significantly lower "
        "(a lower mean with Welch p < 0.05 counts as lower); otherwise not reproduced."
    )

    def recipes(self, preset: str, optimizer: str) -> tuple[str, ...]:
        losses = ["softmax-ce", "linear-mse", "expboost"]
        if preset == "full":
            losses += ["sigmoid-bce", "cubicboost"]
        return tuple(f"{loss}+{optimizer}" for loss in losses)

    def comparisons(self, preset: str) -> list[Comparison]:
        """One comparison per data set and optimizer (each with its own plots)."""
        settings = standard_settings(preset)
        return per_optimizer_comparisons(
            self.name, preset, settings, lambda opt: self.recipes(preset, opt), tuple(OPTIMIZERS_LR)
        )

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
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


register_claim(OlandClaim())
