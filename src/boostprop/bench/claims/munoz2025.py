"""Claim of Munoz (2025), "Simple Linear Neuron Boosting", arXiv:2502.01131.

Linear neuron boosting (an input-whitening preconditioner solved by a few CG steps per linear
module) converges fast in epochs and in wall-clock time and is less sensitive to its
hyperparameters than Adam. Recipes: NeuronBoost (CG, 2 iterations), NeuronBoost with the
diagonal metric only, Adam, SGD with momentum; all with softmax cross-entropy.

Example:
    >>> [c.id for c in MunozClaim().comparisons("smoke")]
    ['fashion_mlp800tanh', 'mnist1d_mlp']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import (
    Claim,
    Verdict,
    combine,
    describe_speed,
    ratio_effect,
    speed_ratio,
)
from boostprop.bench.claims.baselines import ADAM, SGD, standard_comparison
from boostprop.bench.recipes import OPTIMIZERS, Recipe, register_recipe
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.sweep import Comparison
from boostprop.optim import NeuronBoost


def _neuronboost(model: nn.Module, lr: float, **kwargs: Any) -> torch.optim.Optimizer:
    return NeuronBoost(model, lr=lr, **kwargs)


OPTIMIZERS["neuronboost"] = _neuronboost
NB, NB_DIAG = "neuronboost", "neuronboost-diag"
register_recipe(
    Recipe(
        NB,
        "softmax-ce",
        "neuronboost",
        0.5,
        description="softmax-CE, NeuronBoost (CG 2 iterations, ridge 0.1)",
    )
)
register_recipe(
    Recipe(
        NB_DIAG,
        "softmax-ce",
        "neuronboost",
        0.5,
        optimizer_kwargs={"approx_metric": True},
        description="softmax-CE, NeuronBoost with the diagonal metric only",
    )
)


class MunozClaim(Claim):
    name = "munoz2025"
    rank = 3
    paper = "Munoz 2025"
    statement = (
        "Linear neuron boosting reaches the validation target in less wall-clock time than tuned "
        "Adam (its lower sensitivity to the learning rate is reported, not judged)."
    )
    rule = (
        "Per data set: holds when NeuronBoost's median training seconds to target (misses and "
        "failed runs counted at the seconds the whole epoch budget takes at the run's step time) is below tuned Adam's. The spread of final validation "
        "accuracy over the learning-rate grid and the per-step time relative to SGD are reported."
    )
    recipes = (NB, NB_DIAG, ADAM, SGD)

    def comparisons(self, preset: str) -> list[Comparison]:
        out = [
            standard_comparison(
                self.name,
                preset,
                "fashion_mnist",
                self.recipes,
                model_kwargs={"widths": [800], "activation": "tanh", "init": "glorot_normal"},
                comparison_id="fashion_mlp800tanh",
                title="fashion_mnist MLP 784-800-10 tanh",
            )
        ]
        if preset == "full":
            out.append(standard_comparison(self.name, preset, "fashion_mnist", self.recipes))
            out.append(standard_comparison(self.name, preset, "fashion_mnist_cnn", self.recipes))
        out.append(standard_comparison(self.name, preset, "mnist1d", self.recipes))
        return out

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
        statuses, details, effects = [], [], []
        for cid, s in summaries.items():
            ratio = speed_ratio(s, NB, ADAM, unit="seconds")
            if ratio is None:
                statuses.append("inconclusive")
                details.append(f"{cid}: no finished runs")
                effects.append(f"{cid}: no finished runs")
                continue
            statuses.append("holds" if ratio[0] < 1 else "not reproduced")
            step = s[NB].step_seconds / s[SGD].step_seconds if s[SGD].step_seconds > 0 else math.nan
            details.append(
                f"{cid}: NeuronBoost vs Adam {describe_speed(ratio, 'seconds')}, "
                f"{describe_speed(speed_ratio(s, NB, ADAM), 'epochs')}; lr-grid spread of val acc "
                f"{100 * s[NB].tuning_spread:.1f} vs {100 * s[ADAM].tuning_spread:.1f} points "
                f"(diverged over the grid: {s[NB].n_tuning_failed} vs {s[ADAM].n_tuning_failed}); "
                f"step time {step:.2f}× SGD"
            )
            effects.append(
                f"{cid}: NB/Adam {ratio_effect(s, NB, ADAM, 'seconds')}, "
                f"{ratio_effect(s, NB, ADAM)}"
            )
        return Verdict(
            combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
        )


register_claim(MunozClaim())
