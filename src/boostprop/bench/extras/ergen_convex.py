"""Extra experiment of Ergen, Gulluk, Lacotte and Pilanci (2023), "Globally Optimal Training of
Neural Networks with Threshold Activation Functions", ICLR, arXiv:2303.03382: convex (Lasso)
training of threshold networks against straight-through estimators.

Per setting (the paper's synthetic teacher task, tabular sets, a Fashion-MNIST class pair in the
full preset): the convex two-layer solution over a sampled dictionary (certified by its duality
gap), the convex three-layer method (random first layer), and the four STE variants trained on
exactly the convex objective, over seeds. Results go to ``<claim folder>/<setting>.json`` as
each setting finishes.

Example:
    >>> Setting("wine", "wine").n_patterns
    1000
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from boostprop.bench.document import Block, Heading, Image, Paragraph, Table
from boostprop.bench.extras import ExtraContext
from boostprop.bench.plots import new_axes, save_figure
from boostprop.bench.store import write_json_atomic
from boostprop.convex import (
    ThresholdNetwork,
    fit_three_layer,
    network_objective,
    sample_patterns,
    solve_lasso,
    train_ste,
)
from boostprop.convex.ste import Variant
from boostprop.data import get_dataset, make_teacher

STE_VARIANTS: tuple[Variant, ...] = ("identity", "relu", "leaky_relu", "clipped_relu")


@dataclass(frozen=True)
class Setting:
    """One data set of the convex-vs-STE comparison."""

    name: str
    dataset: str
    n_train: int | None = None  # teacher: training size; fashion: subset size
    n_patterns: int = 1000
    ste_width: int = 100
    ste_epochs: int = 2000
    seeds: int = 5
    ste_depths: tuple[int, ...] = (2,)  # STE baselines with 2 (and 3) layers


def load_setting(s: Setting) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """float64 (X_train, Y_train, X_test, Y_test, n_classes); binary targets ±1 of shape (n,),
    multi-class targets one-hot of shape (n, C)."""
    if s.dataset == "teacher":
        x_tr, y_tr = make_teacher("train", n_train=s.n_train or 100, seed=0)
        x_te, y_te = make_teacher("test", n_train=s.n_train or 100, seed=0)
        n_classes = 2
    elif s.dataset == "fashion_pair":
        x_tr, y_tr, x_te, y_te = _fashion_pair(s.n_train or 1000)
        n_classes = 2
    else:
        info = get_dataset(s.dataset)
        x_tr, y_tr = info.load("train", 0)
        x_te, y_te = info.load("test", 0)
        n_classes = info.n_classes
    x_tr, x_te = x_tr.double(), x_te.double()
    if n_classes == 2:
        return x_tr, 2.0 * y_tr.double() - 1, x_te, 2.0 * y_te.double() - 1, 2
    eye = torch.eye(n_classes, dtype=torch.float64)
    return x_tr, eye[y_tr], x_te, eye[y_te], n_classes


def _fashion_pair(
    n_train: int, classes: tuple[int, int] = (0, 6), dims: int = 20
) -> tuple[torch.Tensor, ...]:
    """T-shirt vs shirt, PCA to ``dims`` components fitted on the training part, standardised."""
    from boostprop.data import load_fashion_mnist

    def pick(split: str, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = load_fashion_mnist(split, flatten=True)  # type: ignore[arg-type]
        keep = (y == classes[0]) | (y == classes[1])
        x, y = x[keep].double(), (y[keep] == classes[1]).long()
        return (x[:n], y[:n]) if n else (x, y)

    x_tr, y_tr = pick("train", n_train)
    x_te, y_te = pick("test", None)
    mean = x_tr.mean(0)
    _, _, v = torch.linalg.svd(x_tr - mean, full_matrices=False)
    proj = v[:dims].T
    z_tr, z_te = (x_tr - mean) @ proj, (x_te - mean) @ proj
    std = z_tr.std(0).clamp_min(1e-12)
    return z_tr / std, y_tr, z_te / std, y_te


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    if y.ndim == 1:
        return float((torch.sign(out) == torch.sign(y)).double().mean())
    return float((out.argmax(1) == y.argmax(1)).double().mean())


def run_setting(s: Setting, progress: bool = True) -> dict[str, Any]:
    """Convex (2- and 3-layer) and the STE variants on one setting, over seeds."""
    x_tr, y_tr, x_te, y_te, n_classes = load_setting(s)
    n = x_tr.shape[0]
    beta = 1e-3 * n
    convex, convex3, ste = [], [], []
    bar = tqdm(
        total=s.seeds * (2 + len(STE_VARIANTS) * len(s.ste_depths)),
        desc=f"ergen2023 {s.name}",
        disable=not progress,
        leave=False,
    )
    for seed in range(s.seeds):
        start = time.perf_counter()
        pat = sample_patterns(x_tr, s.n_patterns, seed=seed)
        res = solve_lasso(pat.H, y_tr, beta, tol=1e-6)
        net = ThresholdNetwork.from_lasso(pat, res)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            train_out = net(x_tr)
            convex.append(
                {
                    "seed": seed,
                    "objective": res.objective,
                    "network_objective": network_objective(net, x_tr, y_tr, beta),
                    "gap": res.gap,
                    "n_patterns": pat.n_patterns,
                    "n_neurons": int(res.support.numel()),
                    "seconds": seconds,
                    "reproduces_Hc": bool(
                        torch.allclose(
                            train_out, (pat.H @ res.coef).reshape(train_out.shape), atol=1e-9
                        )
                    ),
                    "train_acc": _accuracy(train_out, y_tr),
                    "test_acc": _accuracy(net(x_te), y_te),
                }
            )
        bar.update()
        start = time.perf_counter()
        three = fit_three_layer(x_tr, y_tr, beta, seed=seed)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            convex3.append(
                {
                    "seed": seed,
                    "objective": three.objective,
                    "exact": three.exact,
                    "n_neurons": three.n_neurons,
                    "seconds": seconds,
                    "train_acc": _accuracy(three.network(x_tr), y_tr),
                    "test_acc": _accuracy(three.network(x_te), y_te),
                }
            )
        bar.update()
        for depth, variant in itertools.product(s.ste_depths, STE_VARIANTS):
            r = train_ste(
                x_tr,
                y_tr,
                variant=variant,
                depth=depth,
                width=s.ste_width,
                epochs=s.ste_epochs,
                lr=0.01,
                beta=beta,
                objective="convex",
                seed=seed,
                X_test=x_te,
                y_test=y_te,
            )
            ste.append(
                {
                    "variant": variant,
                    "depth": depth,
                    "seed": seed,
                    "final_objective": r.final_objective,
                    "objective": r.objective[:: max(1, len(r.objective) // 200)],
                    "seconds": r.seconds[:: max(1, len(r.seconds) // 200)],
                    "test_accuracy": r.test_accuracy[:: max(1, len(r.test_accuracy) // 200)],
                    "total_seconds": r.seconds[-1] if r.seconds else float("nan"),
                    "converged_seconds": _converged_seconds(r.objective, r.seconds),
                    "train_acc": r.train_accuracy[-1] if r.train_accuracy else float("nan"),
                    "test_acc": r.test_accuracy[-1] if r.test_accuracy else float("nan"),
                }
            )
            bar.update()
    bar.close()
    return {
        "setting": s.name,
        "dataset": s.dataset,
        "n_train": n,
        "n_test": int(x_te.shape[0]),
        "n_classes": n_classes,
        "beta": beta,
        "ste_width": s.ste_width,
        "ste_epochs": s.ste_epochs,
        "convex": convex,
        "convex3": convex3,
        "ste": ste,
    }


class ConvexVsSTE:
    """The convex-vs-STE experiment over the settings a preset lists (``ctx.sizes``)."""

    def run(self, ctx: ExtraContext) -> None:
        """Solve every setting of ``ctx.sizes`` not in the claim's folder yet."""
        for s in ctx.sizes:
            path = ctx.out_dir / f"{s.name}.json"
            if path.exists():
                continue  # finished earlier: resume
            if s.dataset == "fashion_pair" and not get_dataset("fashion_mnist").is_available():
                (ctx.out_dir / "skipped.txt").write_text(
                    f"{s.name}: Fashion-MNIST is not available\n"
                )
                continue
            write_json_atomic(path, run_setting(s, progress=ctx.progress))

    @staticmethod
    def results(out_dir: Path) -> list[dict[str, Any]]:
        """The finished settings' results."""
        return (
            [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))]
            if out_dir.exists()
            else []
        )

    def blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """Tables and plots of every finished setting."""
        blocks: list[Block] = []
        if (out_dir / "skipped.txt").exists():
            blocks.append(Paragraph(f"Skipped: {(out_dir / 'skipped.txt').read_text().strip()}"))
        for res in self.results(out_dir):
            name = res["setting"]
            rows = [
                _row("convex 2-layer", res["convex"], "objective"),
                _row("convex 3-layer (own objective)", res["convex3"], "objective"),
            ]
            for depth, v in itertools.product((2, 3), STE_VARIANTS):
                runs = [r for r in _ste(res, depth) if r["variant"] == v]
                if runs:
                    label = f"STE {v}" + (" (3-layer; own objective)" if depth == 3 else "")
                    rows.append(_row(label, runs, "final_objective", seconds_key="total_seconds"))
            gaps = [c["gap"] for c in res["convex"]]
            fig_obj, fig_acc = (
                figures / f"ergen2023__{name}__objective.png",
                figures / f"ergen2023__{name}__accuracy.png",
            )
            _plot(res, fig_obj, fig_acc)
            blocks += [
                Heading(f"Threshold networks: {name}", 3, anchor=f"ergen2023-{name}"),
                Paragraph(
                    f"n = {res['n_train']} training / {res['n_test']} test samples, {res['n_classes']} "
                    f"classes, β = 1e-3·n = {res['beta']:g}; STE: width {res['ste_width']}, "
                    f"{res['ste_epochs']} full-batch epochs, SGD lr 0.01 (on the objective / n) with ReduceLROnPlateau, trained "
                    "on the convex objective ½‖f(X) − y‖² + β/2 Σ(s² + ‖a‖²). Convex: sampled dictionary "
                    f"solved to a relative duality gap ≤ {max(gaps):.1e} (largest over seeds); the "
                    "reconstructed network reproduces H·c on the training data: "
                    f"{all(c['reproduces_Hc'] for c in res['convex'])}. The three-layer method uses an "
                    "untrained random first layer; its objective is of a different problem."
                ),
                Table(
                    [
                        "method",
                        "objective (median)",
                        "test acc % (median)",
                        "train acc % (median)",
                        "seconds (median)",
                        "runs",
                    ],
                    rows,
                ),
                Image(
                    fig_obj,
                    f"{name}: training objective vs seconds (STE median per variant; convex solutions as points)",
                ),
                Image(fig_acc, f"{name}: test accuracy vs seconds"),
            ]
        return blocks


def _converged_seconds(objective: list[float], seconds: list[float]) -> float:
    """Training seconds until the objective is within 1% of its total decrease of its final value
    (the time STE needs to get where it ends; inf for a run that diverged)."""
    if not objective or not math.isfinite(objective[-1]):
        return math.inf
    start, end = objective[0], objective[-1]
    threshold = end + 0.01 * max(start - end, 0.0)
    for obj, t in zip(objective, seconds, strict=True):
        if obj <= threshold:
            return float(t)
    return float(seconds[-1])


def _ste(res: dict[str, Any], depth: int) -> list[dict[str, Any]]:
    """The STE runs of ``depth`` layers (records written before depths existed are 2-layer)."""
    return [r for r in res["ste"] if r.get("depth", 2) == depth]


def _row(
    label: str, runs: list[dict[str, Any]], obj_key: str, seconds_key: str = "seconds"
) -> list[str]:
    if not runs:
        return [label, "–", "–", "–", "–", "0"]
    med = statistics.median
    return [
        label,
        f"{med(r[obj_key] for r in runs):.5g}",
        f"{100 * med(r['test_acc'] for r in runs):.2f}",
        f"{100 * med(r['train_acc'] for r in runs):.2f}",
        f"{med(r[seconds_key] for r in runs):.3g}",
        str(len(runs)),
    ]


def _plot(res: dict[str, Any], fig_obj: Path, fig_acc: Path) -> None:
    for path, key, conv_key, ylabel in (
        (fig_obj, "objective", "objective", "training objective (convex form)"),
        (fig_acc, "test_accuracy", "test_acc", "test accuracy"),
    ):
        fig, ax = new_axes()
        for v in STE_VARIANTS:
            runs = [r for r in _ste(res, 2) if r["variant"] == v]
            length = min(len(r[key]) for r in runs)
            if not length:
                continue
            t = np.median([r["seconds"][:length] for r in runs], axis=0)
            val = np.median([r[key][:length] for r in runs], axis=0)
            ax.plot(t, val, label=f"STE {v}", lw=1.3)
        ax.scatter(
            [c["seconds"] for c in res["convex"]],
            [c[conv_key] for c in res["convex"]],
            marker="*",
            s=90,
            color="k",
            zorder=5,
            label="convex 2-layer",
        )
        if key == "test_accuracy":
            ax.scatter(
                [c["seconds"] for c in res["convex3"]],
                [c["test_acc"] for c in res["convex3"]],
                marker="D",
                s=30,
                color="tab:red",
                zorder=5,
                label="convex 3-layer",
            )
        else:
            ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("seconds")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        save_figure(fig, path)
