"""Baseline comparison: SGD with momentum vs Adam, both with softmax cross-entropy.

Not a paper's claim: it exercises the harness end to end on the baselines every technique is
compared against, and gives the reference numbers (epochs and seconds to target, test accuracy)
for the two standard optimizers with the same tuning budget.

Example:
    >>> [c.id for c in BaselinesClaim().comparisons("smoke")]
    ['fashion_mlp', 'mnist1d_mlp']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import (
    Claim,
    Verdict,
    accuracy_gap,
    combine,
    describe_speed,
    fmt_ci,
    gap_effect,
    ratio_effect,
    speed_ratio,
)
from boostprop.bench.claims.presets import budget
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.sweep import Comparison

SGD, ADAM = "softmax-ce+sgd", "softmax-ce+adam"


def standard_comparison(
    claim: str,
    preset: str,
    setting: str,
    recipes: tuple[str, ...],
    *,
    model: str = "mlp",
    model_kwargs: dict[str, object] | None = None,
    comparison_id: str | None = None,
    title: str | None = None,
    tune_metric: str = "epochs_to_target",
) -> Comparison:
    """A comparison on ``setting`` ("fashion_mnist", "fashion_mnist_cnn" or "mnist1d") with
    the preset's shared budget."""
    b = budget(preset, setting)
    dataset = setting.removesuffix("_cnn")
    cnn = setting.endswith("_cnn")
    if model_kwargs is None:
        model_kwargs = (
            {} if cnn else {"widths": [256, 256] if dataset == "fashion_mnist" else [128, 128]}
        )
    widths = model_kwargs.get("widths")
    if b.max_width is not None and isinstance(widths, (list, tuple)):
        model_kwargs = {**model_kwargs, "widths": [min(int(w), b.max_width) for w in widths]}
    short = {"fashion_mnist": "fashion", "mnist1d": "mnist1d"}[dataset]
    return Comparison(
        claim=claim,
        id=comparison_id or f"{short}_{'cnn' if cnn else model}",
        title=title or f"{dataset} {'CNN' if cnn else model.upper()}",
        dataset=dataset,
        model="cnn" if cnn else model,
        model_kwargs=model_kwargs,
        recipes=recipes,
        target=b.target,
        epochs=b.epochs,
        batch_size=b.batch_size,
        seeds=b.seeds,
        lr_factors=b.lr_factors,
        train_subset=b.train_subset,
        eval_subset=b.eval_subset,
        tune_metric=tune_metric,
    )


def standard_settings(preset: str) -> list[str]:
    """The image settings every classification claim uses (the CNN in the full preset only)."""
    return ["fashion_mnist", *(["fashion_mnist_cnn"] if preset == "full" else []), "mnist1d"]


def per_optimizer_comparisons(
    claim: str,
    preset: str,
    settings: list[str],
    recipes: Callable[[str], tuple[str, ...]],
    optimizers: tuple[str, ...],
    **kwargs: Any,
) -> list[Comparison]:
    """One comparison per setting and optimizer (each with its own plots): ``recipes(opt)``
    names the recipes of optimizer ``opt``; ids and titles get the optimizer as a suffix."""
    out = []
    for setting in settings:
        for opt in optimizers:
            c = standard_comparison(claim, preset, setting, recipes(opt), **kwargs)
            out.append(replace(c, id=f"{c.id}_{opt}", title=f"{c.title}, {opt}"))
    return out


class BaselinesClaim(Claim):
    name = "baselines"
    rank = 9
    paper = "Baselines (no paper)"
    statement = (
        "Tuned Adam reaches the validation target in fewer epochs than tuned SGD with momentum."
    )
    rule = (
        "Holds on a data set when Adam's median epochs-to-target (failed runs counted at the "
        "budget) is below SGD's; the test-accuracy gap Adam − SGD is reported with its 95% "
        "bootstrap interval."
    )

    def comparisons(self, preset: str) -> list[Comparison]:
        return [
            standard_comparison(self.name, preset, "fashion_mnist", (SGD, ADAM)),
            standard_comparison(self.name, preset, "mnist1d", (SGD, ADAM)),
        ]

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
        statuses, details, effects = [], [], []
        for cid, s in summaries.items():
            ratio = speed_ratio(s, ADAM, SGD)
            if ratio is None:
                statuses.append("inconclusive")
                details.append(f"{cid}: no finished runs")
                effects.append(f"{cid}: no finished runs")
                continue
            statuses.append("holds" if ratio[0] < 1 else "not reproduced")
            gap = accuracy_gap(s, ADAM, SGD)
            acc = (
                f"test accuracy gap {gap[0]:+.2f} points, 95% CI {fmt_ci(*gap[1])}, Welch p = {gap[2]:.3g}"
                if gap is not None
                else "test accuracy: fewer than two finished runs on a side"
            )
            details.append(f"{cid}: Adam/SGD {describe_speed(ratio, 'epochs')}; {acc}")
            effects.append(f"{cid}: Adam/SGD {ratio_effect(s, ADAM, SGD)}, {gap_effect(gap)}")
        return Verdict(
            combine(statuses), "; ".join(details) or "no data", tuple(details), tuple(effects)
        )


register_claim(BaselinesClaim())
