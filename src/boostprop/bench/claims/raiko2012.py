"""Claim of Raiko, Valpola and LeCun (2012), "Deep Learning Made Easier by Linear Transformations
in Perceptrons" (AISTATS), and Vatanen, Raiko, Valpola and LeCun (2013), "Pushing Stochastic
Gradient towards Second-Order Methods" (ICONIP, arXiv:1301.3476).

Transforming every tanh unit to zero mean output and zero mean slope (α, β), with shortcut
connections carrying the linear part, makes plain SGD learn faster; the scale γ (2013) speeds it
up further but may end in a worse optimum; the gradient points closer to the Newton direction.
Recipes (all SGD with momentum 0.9, softmax-CE): a plain tanh network, shortcuts without
transformations, with α+β, with α+β+γ. Extras: the exact Hessian of a small network (torch.func,
float64), its conditioning and the gradient/Newton angle over damping μ, with and without
transformations during training; an autoencoder (full preset).

Example:
    >>> [c.id for c in RaikoClaim().comparisons("smoke")]
    ['fashion_shortcut', 'mnist1d_shortcut']
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import (
    Claim,
    ExtraContext,
    Verdict,
    accuracy_gap,
    combine,
    describe_speed,
    fmt_ci,
    gap_effect,
    ratio_effect,
    speed_ratio,
)
from boostprop.bench.claims.baselines import standard_comparison
from boostprop.bench.document import Block, Heading, Image, Paragraph, Table
from boostprop.bench.plots import new_axes, save_figure
from boostprop.bench.recipes import HOOKS, OPTIMIZERS, Recipe, TrainHook, register_recipe
from boostprop.bench.store import write_json_atomic
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.sweep import Comparison
from boostprop.data import get_dataset
from boostprop.models import MODELS, register_model
from boostprop.nn import (
    ShortcutAutoencoder,
    ShortcutMLP,
    TransformSchedule,
    hessian_analysis,
    shortcut_param_groups,
)


def _shortcut_mlp(
    input_shape: tuple[int, ...], n_classes: int, *, widths: list[int], **kwargs: Any
) -> nn.Module:
    kwargs.pop("activation", None)  # the units are (transformed) tanh by construction
    kwargs.pop("init", None)  # the papers' initialisation is built in
    return ShortcutMLP([math.prod(input_shape), *widths, n_classes], **kwargs)


def _sgd_shortcut(model: nn.Module, lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    """SGD with momentum; a weight that skips k extra layers gets lr·2^(−k) (Raiko et al.)."""
    return torch.optim.SGD(shortcut_param_groups(model, lr), lr=lr, momentum=momentum)


def _transforms_hook(model: nn.Module, **kwargs: Any) -> TrainHook:
    return TransformSchedule(model, **kwargs)  # type: ignore[return-value]


if "shortcut-mlp" not in MODELS:
    register_model("shortcut-mlp", _shortcut_mlp)
OPTIMIZERS["sgd-shortcut"] = _sgd_shortcut
HOOKS["transforms"] = _transforms_hook

# Transformations on every minibatch for the first 200 steps, then once per epoch on a sample.
SCHEDULE = {"every_steps": 1, "until_step": 200, "epoch_sample": 10_000}
PLAIN, NONE, AB, ABG = "tanh-mlp", "shortcut-none", "shortcut-ab", "shortcut-abg"
register_recipe(
    Recipe(
        PLAIN,
        "softmax-ce",
        "sgd-momentum",
        0.05,
        model="shortcut-mlp",
        model_kwargs={"transforms": "none", "shortcuts": False},
        description="tanh network without shortcuts or transformations, SGD",
    )
)
register_recipe(
    Recipe(
        NONE,
        "softmax-ce",
        "sgd-shortcut",
        0.05,
        model="shortcut-mlp",
        model_kwargs={"transforms": "none", "shortcuts": True},
        description="shortcut tanh network without transformations, SGD",
    )
)
register_recipe(
    Recipe(
        AB,
        "softmax-ce",
        "sgd-shortcut",
        0.7,
        model="shortcut-mlp",
        model_kwargs={"transforms": "alpha_beta", "shortcuts": True},
        hooks=(("transforms", SCHEDULE),),
        description="shortcut network, transformations α, β, SGD",
    )
)
register_recipe(
    Recipe(
        ABG,
        "softmax-ce",
        "sgd-shortcut",
        0.2,
        model="shortcut-mlp",
        model_kwargs={"transforms": "alpha_beta_gamma", "gamma": "balance", "shortcuts": True},
        hooks=(("transforms", SCHEDULE),),
        description="shortcut network, transformations α, β, γ (balance), SGD",
    )
)

HESSIAN_MUS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


class RaikoClaim(Claim):
    name = "raiko2012"
    rank = 4
    paper = "Raiko et al. 2012 / Vatanen et al. 2013"
    statement = (
        "Transforming tanh units to zero mean output and slope (α, β), with shortcuts, makes SGD "
        "reach the target in fewer epochs, and brings the gradient closer to the Newton direction."
    )
    rule = (
        "Per data set: holds when shortcut-ab's median epochs-to-target is below both tanh-mlp's "
        "and shortcut-none's (each with its own tuned learning rate). The effect of γ "
        "(shortcut-abg vs shortcut-ab: speed and final test accuracy) is reported separately. The "
        "angle part holds when the mean angle between g and (H + μI)⁻¹g over μ and checkpoints is "
        "smaller with transformations."
    )
    recipes = (PLAIN, NONE, AB, ABG)

    def comparisons(self, preset: str) -> list[Comparison]:
        fashion_widths = [800, 800] if preset == "full" else [200, 200]
        mnist1d_widths = [256, 256] if preset == "full" else [128, 128]
        return [
            standard_comparison(
                self.name,
                preset,
                "fashion_mnist",
                self.recipes,
                model_kwargs={"widths": fashion_widths},
                comparison_id="fashion_shortcut",
                title=f"fashion_mnist 784-{'-'.join(map(str, fashion_widths))}-10",
            ),
            standard_comparison(
                self.name,
                preset,
                "mnist1d",
                self.recipes,
                model_kwargs={"widths": mnist1d_widths},
                comparison_id="mnist1d_shortcut",
                title=f"mnist1d 40-{'-'.join(map(str, mnist1d_widths))}-10",
            ),
        ]

    # ------------------------------------------------------------------------------ extras
    def run_extras(self, ctx: ExtraContext) -> None:
        path = ctx.out_dir / "hessian.json"
        if not path.exists():
            steps = {"smoke": (0, 20), "quick": (0, 100, 400), "full": (0, 100, 400, 1500)}[
                ctx.preset
            ]
            write_json_atomic(path, hessian_experiment(steps))
        ae_path = ctx.out_dir / "autoencoder.json"
        fashion = get_dataset("fashion_mnist").is_available()
        if ctx.preset == "full" and fashion and not ae_path.exists():
            write_json_atomic(ae_path, autoencoder_experiment())

    def extra_blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        blocks: list[Block] = []
        path = out_dir / "hessian.json"
        if path.exists():
            res = json.loads(path.read_text())
            fig = figures / "raiko2012__hessian_angles.png"
            _plot_angles(res, fig)
            rows = [
                [
                    r["variant"],
                    str(r["step"]),
                    f"{r['loss']:.4f}",
                    f"{r['condition_number']:.3g}",
                    f"{r['positive_condition_number']:.3g}",
                    str(r["n_negative"]),
                    ", ".join(f"{a:.1f}" for a in r["angles"]),
                ]
                for r in res["checkpoints"]
            ]
            blocks += [
                Heading(
                    "Hessian conditioning and gradient/Newton angle", 3, anchor="raiko2012-hessian"
                ),
                Paragraph(
                    f"Network {res['sizes']} with full shortcuts on `{res['dataset']}` "
                    f"({res['n_train']} training samples), trained by full-batch SGD (lr "
                    f"{res['lr']}, momentum 0.9) with and without transformations (α, β updated on "
                    "the training set before each step). Exact Hessian of the training loss over "
                    "all parameters with torch.func in float64. Angles in degrees for μ = "
                    f"{', '.join(f'{m:g}' for m in res['mus'])}."
                ),
                Table(
                    [
                        "variant",
                        "step",
                        "loss",
                        "cond |λ|",
                        "cond λ>0",
                        "# λ<0",
                        "angle(g, (H+μI)⁻¹g) per μ",
                    ],
                    rows,
                ),
                Image(fig, "Angle between the gradient and the damped Newton direction, per μ"),
            ]
        ae = out_dir / "autoencoder.json"
        if ae.exists():
            res = json.loads(ae.read_text())
            fig = figures / "raiko2012__autoencoder.png"
            _plot_autoencoder(res, fig)
            blocks += [
                Heading("Autoencoder", 3, anchor="raiko2012-autoencoder"),
                Paragraph(
                    f"ShortcutAutoencoder {res['sizes']} on Fashion-MNIST, squared reconstruction error on the validation split."
                ),
                Image(fig, "Validation reconstruction error per epoch"),
            ]
        return blocks

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
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
        path = out_dir / "hessian.json"
        if path.exists():
            res = json.loads(path.read_text())
            mean = {
                v: float(
                    np.mean([np.mean(c["angles"]) for c in res["checkpoints"] if c["variant"] == v])
                )
                for v in ("no transforms", "alpha_beta")
            }
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


def hessian_experiment(
    checkpoints: tuple[int, ...], *, dataset: str = "wine", lr: float = 0.1
) -> dict[str, Any]:
    """Train a small shortcut network with and without transformations (full-batch SGD, same
    initial weights) and analyse the exact Hessian at ``checkpoints`` (step counts)."""

    info = get_dataset(dataset)
    x, y = info.load("train", 0)
    x, y = x.double(), y
    sizes = [x.shape[1], 10, 10, info.n_classes]
    out: list[dict[str, Any]] = []
    for variant, transforms in (("no transforms", "none"), ("alpha_beta", "alpha_beta")):
        torch.manual_seed(0)
        model = ShortcutMLP(sizes, transforms=transforms).double()
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        step = 0
        for target in checkpoints:
            while step < target:
                if transforms != "none":
                    model.update_transforms_(x)
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
                step += 1
            if transforms != "none":
                model.update_transforms_(x)
            rep = hessian_analysis(model, x, y, mus=HESSIAN_MUS)
            out.append({"variant": variant, "step": step, **rep.to_dict()})
            out[-1].pop("eigenvalues")
            out[-1].pop("param_names")
    return {
        "dataset": dataset,
        "sizes": sizes,
        "n_train": len(y),
        "lr": lr,
        "mus": list(HESSIAN_MUS),
        "checkpoints": out,
    }


def autoencoder_experiment(
    epochs: int = 10, lr: float = 0.05, n_train: int = 10_000
) -> dict[str, Any]:
    """Fashion-MNIST autoencoder with and without transformations; validation error per epoch."""
    from boostprop.bench.runner import prepare_data

    data = prepare_data("fashion_mnist", n_train)
    x_tr = data.train[0].flatten(1)
    x_va = data.val[0].flatten(1)
    sizes = [784, 200, 30, 200, 784]
    curves: dict[str, list[float]] = {}
    for transforms in ("none", "alpha_beta"):
        torch.manual_seed(0)
        model = ShortcutAutoencoder(sizes, transforms=transforms)
        opt = torch.optim.SGD(shortcut_param_groups(model, lr), lr=lr, momentum=0.9)
        errs = []
        for _ in range(epochs):
            for idx in torch.randperm(len(x_tr)).split(128):
                xb = x_tr[idx]
                if transforms != "none":
                    model.update_transforms_(xb)
                opt.zero_grad()
                F.mse_loss(model(xb), xb).backward()
                opt.step()
            with torch.no_grad():
                errs.append(float(F.mse_loss(model(x_va), x_va)))
        curves[transforms] = errs
    return {"sizes": sizes, "epochs": epochs, "lr": lr, "curves": curves}


def _plot_angles(res: dict[str, Any], path: Path) -> None:
    fig, ax = new_axes()
    for c in res["checkpoints"]:
        style = "-" if c["variant"] == "alpha_beta" else "--"
        ax.plot(
            res["mus"],
            c["angles"],
            style,
            marker="o",
            ms=3,
            label=f"{c['variant']}, step {c['step']}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("damping μ")
    ax.set_ylabel("angle between g and (H + μI)⁻¹g (degrees)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _plot_autoencoder(res: dict[str, Any], path: Path) -> None:
    fig, ax = new_axes()
    for name, errs in res["curves"].items():
        ax.plot(range(1, len(errs) + 1), errs, marker="o", ms=3, label=f"transforms: {name}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation reconstruction MSE")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


register_claim(RaikoClaim())
