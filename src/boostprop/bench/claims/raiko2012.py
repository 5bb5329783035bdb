"""Claim of Raiko, Valpola and LeCun (2012), "Deep Learning Made Easier by Linear Transformations
in Perceptrons" (AISTATS), and Vatanen, Raiko, Valpola and LeCun (2013), "Pushing Stochastic
Gradient towards Second-Order Methods" (ICONIP, arXiv:1301.3476).

Transforming every tanh unit to zero mean output and zero mean slope (α, β), with shortcut
connections carrying the linear part, makes plain SGD learn faster; the scale γ (2013) speeds it
up further but may end in a worse optimum; the gradient points closer to the Newton direction.
Recipes (:mod:`boostprop.bench.recipes.shortcut`; all SGD with momentum 0.9, softmax-CE): a plain tanh network, shortcuts without
transformations, with α+β, with α+β+γ. Extras (:mod:`boostprop.bench.extras.raiko_hessian`, :mod:`~boostprop.bench.extras.raiko_autoencoder`): the exact Hessian of a small network (torch.func,
float64), its conditioning and the gradient/Newton angle over damping μ, with and without
transformations during training; an autoencoder (full preset).

Example:
    >>> from boostprop.bench.presets import Preset
    >>> [c.id for c in CLAIM.comparisons(Preset.SMOKE)]
    ['fashion_shortcut', 'mnist1d_shortcut']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boostprop.bench.claims._claim import Arm, Claim, register_claim
from boostprop.bench.extras.raiko_autoencoder import Autoencoder
from boostprop.bench.extras.raiko_hessian import HessianAngles
from boostprop.bench.presets import PresetTable
from boostprop.bench.recipes.shortcut import AB, ABG, NONE, PLAIN
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import (
    Verdict,
    accuracy_gap,
    combine,
    describe_speed,
    fmt_ci,
    gap_effect,
    ratio_effect,
    speed_ratio,
)

RECIPES = (PLAIN, NONE, AB, ABG)


@dataclass(frozen=True)
class Sizes:
    """Network widths, Hessian checkpoints and whether the autoencoder runs, per preset."""

    fashion_widths: tuple[int, ...]
    mnist1d_widths: tuple[int, ...]
    hessian_steps: tuple[int, ...]
    autoencoder: bool


SIZES = PresetTable(
    smoke=Sizes((200, 200), (128, 128), (0, 20), False),
    quick=Sizes((200, 200), (128, 128), (0, 100, 400), False),
    # standard: provisional (= full) until sized by measurement (issue 14)
    standard=Sizes((800, 800), (256, 256), (0, 100, 400, 1500), True),
    full=Sizes((800, 800), (256, 256), (0, 100, 400, 1500), True),
)


def arms(sizes: Sizes) -> list[Arm]:
    """The shortcut comparison on Fashion-MNIST and on MNIST-1D."""
    return [
        Arm(
            "fashion_mlp",
            RECIPES,
            id="fashion_shortcut",
            title=f"fashion_mnist 784-{'-'.join(map(str, sizes.fashion_widths))}-10",
            model_kwargs={"widths": list(sizes.fashion_widths)},
        ),
        Arm(
            "mnist1d_mlp",
            RECIPES,
            id="mnist1d_shortcut",
            title=f"mnist1d 40-{'-'.join(map(str, sizes.mnist1d_widths))}-10",
            model_kwargs={"widths": list(sizes.mnist1d_widths)},
        ),
    ]


def judge(summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
    """α, β vs the plain and shortcut-only networks per data set, and the Hessian angle."""
    statuses, details, effects = [], [], []
    for cid, s in summaries.items():
        r_plain, r_none = speed_ratio(s, AB, PLAIN), speed_ratio(s, AB, NONE)
        if r_plain is None or r_none is None:
            statuses.append("inconclusive")
            details.append(f"{cid}: not enough finished runs")
            effects.append(f"{cid}: too few runs")
            continue
        statuses.append("holds" if r_plain[0] < 1 and r_none[0] < 1 else "not reproduced")
        gamma = speed_ratio(s, ABG, AB)
        gap = accuracy_gap(s, ABG, AB)
        gtext = (
            f"γ: abg/ab {describe_speed(gamma, 'epochs')}, test accuracy {gap[0]:+.2f} points "
            f"{fmt_ci(*gap[1])}"
            if gap is not None
            else "γ: not enough runs"
        )
        details.append(
            f"{cid}: shortcut-ab vs tanh-mlp {describe_speed(r_plain, 'epochs')}, vs "
            f"shortcut-none {describe_speed(r_none, 'epochs')}; {gtext}"
        )
        effects.append(
            f"{cid}: α,β vs plain tanh {ratio_effect(s, AB, PLAIN)}, "
            f"{gap_effect(accuracy_gap(s, AB, PLAIN))}"
        )
    mean = HessianAngles.mean_angles(out_dir)
    if mean is not None:
        smaller = mean["alpha_beta"] < mean["no transforms"]
        statuses.append("holds" if smaller else "not reproduced")
        details.append(
            f"Hessian angle: mean ∠(g, (H+μI)⁻¹g) {mean['alpha_beta']:.1f}° with α, β vs "
            f"{mean['no transforms']:.1f}° without"
        )
        effects.append(
            f"wine Hessian: angle {mean['alpha_beta']:.1f}° with α, β vs "
            f"{mean['no transforms']:.1f}° without"
        )
    return Verdict(
        combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
    )


CLAIM = register_claim(
    Claim(
        name="raiko2012",
        rank=4,
        paper="Raiko et al. 2012 / Vatanen et al. 2013",
        statement=(
            "Transforming tanh units to zero mean output and slope (α, β), with shortcuts, makes SGD "
            "reach the target in fewer epochs, and brings the gradient closer to the Newton direction."
        ),
        rule=(
            "Per data set: holds when shortcut-ab's median epochs-to-target is below both tanh-mlp's "
            "and shortcut-none's (each with its own tuned learning rate). The effect of γ "
            "(shortcut-abg vs shortcut-ab: speed and final test accuracy) is reported separately. The "
            "angle part holds when the mean angle between g and (H + μI)⁻¹g over μ and checkpoints is "
            "smaller with transformations."
        ),
        sizes=SIZES,
        arms=arms,
        judge=judge,
        extras=(HessianAngles(), Autoencoder()),
    )
)
