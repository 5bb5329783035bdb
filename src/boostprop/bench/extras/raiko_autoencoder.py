"""Extra experiment of Raiko, Valpola and LeCun (2012): the shortcut autoencoder on
Fashion-MNIST, validation reconstruction error per epoch with and without transformations.
Results go to ``<claim folder>/autoencoder.json``.

Example:
    >>> Autoencoder().blocks(Path("/nonexistent"), Path("."))
    []
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from boostprop.bench.document import Block, Heading, Image, Paragraph
from boostprop.bench.extras import ExtraContext
from boostprop.bench.plots import new_axes, save_figure
from boostprop.bench.store import write_json_atomic
from boostprop.data import get_dataset
from boostprop.nn import ShortcutAutoencoder, shortcut_param_groups

RESULTS = "autoencoder.json"


class Autoencoder:
    """The autoencoder experiment, where ``ctx.sizes.autoencoder`` asks for it and
    Fashion-MNIST is available."""

    def run(self, ctx: ExtraContext) -> None:
        """Run the experiment unless it is not asked for, the data are absent, or it is done."""
        path = ctx.out_dir / RESULTS
        fashion = get_dataset("fashion_mnist").is_available()
        if ctx.sizes.autoencoder and fashion and not path.exists():
            write_json_atomic(path, autoencoder_experiment())

    def blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """The reconstruction-error plot."""
        blocks: list[Block] = []
        ae = out_dir / RESULTS
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


def _plot_autoencoder(res: dict[str, Any], path: Path) -> None:
    fig, ax = new_axes()
    for name, errs in res["curves"].items():
        ax.plot(range(1, len(errs) + 1), errs, marker="o", ms=3, label=f"transforms: {name}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation reconstruction MSE")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
