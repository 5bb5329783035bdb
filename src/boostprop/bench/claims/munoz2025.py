"""Claim of Munoz (2025), "Simple Linear Neuron Boosting", arXiv:2502.01131.

Linear neuron boosting (an input-whitening preconditioner solved by a few CG steps per linear
module) converges fast in epochs and in wall-clock time and is less sensitive to its
hyperparameters than Adam. Recipes (:mod:`boostprop.bench.recipes.neuron_boost`): NeuronBoost
(CG, 2 iterations), NeuronBoost with the diagonal metric only, Adam, SGD with momentum; all with
softmax cross-entropy.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> [c.id for c in CLAIM.comparisons(Preset.SMOKE)]
    ['fashion_mlp800tanh', 'mnist1d_mlp']
"""

from __future__ import annotations

import math
from pathlib import Path

from boostprop.bench.claims._claim import Arm, Claim, register_claim
from boostprop.bench.presets import PresetTable
from boostprop.bench.recipes.baselines import ADAM, SGD
from boostprop.bench.recipes.neuron_boost import NB, NB_DIAG, NB_PAPER
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import (
    Verdict,
    combine,
    describe_speed,
    ratio_effect,
    speed_ratio,
)

RECIPES = (NB, NB_DIAG, ADAM, SGD)
# the reference example's network: 784-800-10 tanh, Glorot-normal initialisation
REFERENCE_MLP = Arm(
    "fashion_mlp",
    RECIPES,
    id="fashion_mlp800tanh",
    title="fashion_mnist MLP 784-800-10 tanh",
    model_kwargs={"widths": [800], "activation": "tanh", "init": "glorot_normal"},
)
# The paper's workload classes (MLPs, a ViT, a U-Net, matrix factorisation): the standard
# preset runs them at the workloads' standard sizes; full adds the ReLU MLP and the CNN.
_PAPER_CLASSES = (
    REFERENCE_MLP,
    Arm("mnist1d_mlp", RECIPES),
    Arm("fashion_vit", RECIPES),
)
_FULL = (
    *_PAPER_CLASSES,
    Arm("fashion_mlp", RECIPES),
    Arm("fashion_cnn", RECIPES),
)
SIZES = PresetTable(
    smoke=(REFERENCE_MLP, Arm("mnist1d_mlp", RECIPES)),
    quick=(REFERENCE_MLP, Arm("mnist1d_mlp", RECIPES)),
    standard=_PAPER_CLASSES,
    full=_FULL,
)


# The paper's protocol: the reference example as it is, no tuning (lr_factors 1), batch 1000.
PAPER_ARMS = (
    Arm(
        "fashion_mlp",
        (NB_PAPER, ADAM),
        id="fashion_mlp800tanh_paper",
        title="fashion_mnist MLP 784-800-10 tanh, the reference example's protocol",
        model_kwargs=REFERENCE_MLP.model_kwargs,
        lr_factors=(1.0,),
        batch_size=1000,
    ),
)
PAPER_PROTOCOL = (
    "The reference example (jaxlnb's MNIST notebook) as it is: a 784-800-10 tanh MLP with "
    "Glorot-normal initialisation, batch 1000, constant learning rate 0.5, global gradient-norm "
    "clip 1.0, ridge 1.0, softmax cross-entropy, against Adam at its default learning rate 1e-3 "
    "with the same batch; no learning-rate tuning. It departs from the tuned protocol in the "
    "fixed learning rates (no grid), the batch size (1000 instead of 128), clipping and the "
    "ridge; here it runs on the preset's Fashion-MNIST subset and epochs (the reference trains "
    "on MNIST), so few steps are taken in small presets."
)


def judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """NeuronBoost vs Adam in seconds to target, per data set (see the claim's rule)."""
    return _judge(NB, summaries)


def paper_judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """The same rule for the reference example's NeuronBoost against Adam, both untuned."""
    return _judge(NB_PAPER, summaries)


def _judge(nb: str, summaries: dict[str, ComparisonSummary]) -> Verdict:
    statuses, details, effects = [], [], []
    for cid, s in summaries.items():
        ratio = speed_ratio(s, nb, ADAM, unit="seconds")
        if ratio is None:
            statuses.append("inconclusive")
            details.append(f"{cid}: no finished runs")
            effects.append(f"{cid}: no finished runs")
            continue
        statuses.append("holds" if ratio[0] < 1 else "not reproduced")
        sgd = s.recipes.get(SGD)
        step = (
            s[nb].step_seconds / sgd.step_seconds
            if sgd is not None and sgd.step_seconds > 0
            else math.nan
        )
        details.append(
            f"{cid}: NeuronBoost vs Adam {describe_speed(ratio, 'seconds')}, "
            f"{describe_speed(speed_ratio(s, nb, ADAM), 'epochs')}; lr-grid spread of val acc "
            f"{100 * s[nb].tuning_spread:.1f} vs {100 * s[ADAM].tuning_spread:.1f} points "
            f"(diverged over the grid: {s[nb].n_tuning_failed} vs {s[ADAM].n_tuning_failed}); "
            f"step time {step:.2f}× SGD"
        )
        effects.append(
            f"{cid}: NB/Adam {ratio_effect(s, nb, ADAM, 'seconds')}, {ratio_effect(s, nb, ADAM)}"
        )
    return Verdict(
        combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
    )


CLAIM = register_claim(
    Claim(
        name="munoz2025",
        rank=3,
        paper="Munoz 2025",
        statement=(
            "Linear neuron boosting reaches the validation target in less wall-clock time than tuned "
            "Adam (its lower sensitivity to the learning rate is reported, not judged)."
        ),
        rule=(
            "Per data set: holds when NeuronBoost's median training seconds to target (misses and "
            "failed runs counted at the seconds the whole epoch budget takes at the run's step time) is below tuned Adam's. The spread of final validation "
            "accuracy over the learning-rate grid and the per-step time relative to SGD are reported."
        ),
        sizes=SIZES,
        arms=lambda arms: arms,
        judge=judge,
        paper_arms=lambda arms: PAPER_ARMS,
        paper_judge=paper_judge,
        paper_protocol=PAPER_PROTOCOL,
        baselines=(ADAM,),  # the rule compares with Adam only
    )
)
