"""Extra experiment of Raiko, Valpola and LeCun (2012) and Vatanen et al. (2013): the exact
Hessian of a small shortcut network (torch.func, float64), its conditioning and the angle between
the gradient and the damped Newton direction over μ, with and without transformations during
training. Results go to ``<claim folder>/hessian.json``.

Example:
    >>> HessianAngles().blocks(Path("/nonexistent"), Path("."))
    []
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from boostprop.bench.document import Block, Heading, Image, Paragraph, Table
from boostprop.bench.extras import ExtraContext
from boostprop.bench.plots import new_axes, save_figure
from boostprop.bench.store import write_json_atomic
from boostprop.data import get_dataset
from boostprop.nn import ShortcutMLP, hessian_analysis

HESSIAN_MUS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
RESULTS = "hessian.json"


class HessianAngles:
    """The Hessian analysis at the step counts of ``ctx.sizes.hessian_steps``."""

    def run(self, ctx: ExtraContext) -> None:
        """Run the analysis unless its results are on disk."""
        path = ctx.out_dir / RESULTS
        if not path.exists():
            write_json_atomic(path, hessian_experiment(tuple(ctx.sizes.hessian_steps)))

    @staticmethod
    def mean_angles(out_dir: Path) -> dict[str, float] | None:
        """Mean angle over μ and checkpoints per variant (None before the analysis ran)."""
        path = out_dir / RESULTS
        if not path.exists():
            return None
        res = json.loads(path.read_text())
        return {
            v: float(
                np.mean([np.mean(c["angles"]) for c in res["checkpoints"] if c["variant"] == v])
            )
            for v in ("no transforms", "alpha_beta")
        }

    def blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """The conditioning table and the angle plot."""
        blocks: list[Block] = []
        path = out_dir / RESULTS
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
        return blocks


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
