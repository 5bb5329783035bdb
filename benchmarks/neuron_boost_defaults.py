"""Which default learning rate and ridge are safe for NeuronBoost (Munoz 2025, arXiv:2502.01131)?

Short training runs on a Fashion-MNIST subset (the first ``--n-train`` images of the training
split, validation on 2,000 images of the validation split), batch 128, one intra-op thread, for
three architectures: a CNN (two 3×3 conv + max-pool stages, 16 and 32 channels, linear head), an
MLP (784-256-10 tanh) and a small ViT (7×7 patches, width 64, two pre-norm encoder blocks, 4
heads). Each (lr, ridge) setting of NeuronBoost (``cg_iters=2``, other arguments at their
defaults) is run with a constant learning rate, and AdamW (lr 1e-3) as a yardstick; the table
gives the validation accuracy after every epoch. Settings run in a pool of ``--jobs`` processes.

``--long`` runs only the candidate defaults, constant and with a cosine decay of the learning
rate to 0 over the run, for longer (use with ``--epochs 12 --models cnn``). Usage::

    .venv/bin/python benchmarks/neuron_boost_defaults.py [--epochs 6] [--n-train 6000] [--jobs 2]
    .venv/bin/python benchmarks/neuron_boost_defaults.py --long --epochs 12 --models cnn vit
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from boostprop.data.fashion_mnist import load_fashion_mnist
from boostprop.optim import NeuronBoost

RESULTS = Path(__file__).resolve().parent / "results" / "neuron_boost_defaults.json"

# (label, lr, ridge, cosine schedule) of NeuronBoost; "adamw" is the yardstick
SETTINGS: list[tuple[str, float, float, bool]] = [
    ("nb lr0.5 ridge0.1 (old default)", 0.5, 0.1, False),
    ("nb lr0.5 ridge1", 0.5, 1.0, False),
    ("nb lr0.2 ridge0.1", 0.2, 0.1, False),
    ("nb lr0.1 ridge0.1", 0.1, 0.1, False),
    ("nb lr0.1 ridge1 (new default)", 0.1, 1.0, False),
    ("nb lr0.05 ridge1", 0.05, 1.0, False),
]
# --long: longer runs of the candidates, constant and with a cosine decay to 0
LONG: list[tuple[str, float, float, bool]] = [
    ("nb lr0.1 ridge0.1", 0.1, 0.1, False),
    ("nb lr0.1 ridge1 (new default)", 0.1, 1.0, False),
    ("nb lr0.1 ridge1 cosine", 0.1, 1.0, True),
]


class ViT(nn.Module):
    """7×7 patches (16 tokens), width 64, two pre-norm encoder blocks, mean pool, linear head."""

    def __init__(self, width: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(49, width)
        self.pos = nn.Parameter(torch.randn(1, 16, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, 4, 2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = x.unfold(2, 7, 7).unfold(3, 7, 7).reshape(x.shape[0], 16, 49)
        return self.head(self.norm(self.blocks(self.embed(p) + self.pos)).mean(1))


def make_model(name: str) -> nn.Module:
    """The three architectures, seeded."""
    torch.manual_seed(0)
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 10),
        )
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 10))
    if name == "vit":
        return ViT()
    raise ValueError(f"unknown model {name!r}")


def run(job: tuple[str, str, float, float, bool, int, int]) -> dict[str, Any]:
    """Train one (model, setting); validation accuracy after every epoch."""
    model_name, label, lr, ridge, cosine, epochs, n_train = job
    torch.set_num_threads(1)
    x, y = load_fashion_mnist("train", download=False)
    xv, yv = load_fashion_mnist("val", download=False)
    x, y, xv, yv = x[:n_train], y[:n_train], xv[:2000], yv[:2000]
    model = make_model(model_name)
    if label == "adamw":
        opt: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    else:
        opt = NeuronBoost(model, lr=lr, ridge=ridge)
    total = epochs * -(-n_train // 128)
    sched = None
    if cosine:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total))
        )
    g = torch.Generator().manual_seed(1)
    accs: list[float] = []
    t0 = time.process_time()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n_train, generator=g)
        for i in range(0, n_train, 128):
            idx = perm[i : i + 128]
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            opt.zero_grad()
            if sched is not None:
                sched.step()
        model.eval()
        with torch.no_grad():
            accs.append(float((model(xv).argmax(1) == yv).float().mean()))
    norm = float(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).norm())
    return {
        "model": model_name,
        "setting": label,
        "lr": lr,
        "ridge": ridge,
        "val_acc": accs,
        "param_norm": norm,
        "cpu_s": time.process_time() - t0,
    }


def main() -> None:
    """Run the grid, print the table, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["cnn", "mlp", "vit"])
    ap.add_argument("--long", action="store_true", help="the candidates only (LONG settings)")
    args = ap.parse_args()
    grid = LONG if args.long else SETTINGS
    jobs = [
        (m, label, lr, ridge, cosine, args.epochs, args.n_train)
        for m in args.models
        for label, lr, ridge, cosine in [*grid, ("adamw", 1e-3, 0.0, False)]
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run, jobs))
    print(f"{'model':<5} {'setting':<33} " + " ".join(f"ep{e + 1:<4}" for e in range(args.epochs)))
    for r in rows:
        accs = " ".join(f"{100 * a:5.1f}" for a in r["val_acc"])
        print(f"{r['model']:<5} {r['setting']:<33} {accs}   |θ|={r['param_norm']:.0f}")
    out = RESULTS.with_name("neuron_boost_defaults_long.json") if args.long else RESULTS
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "rows": rows,
        "settings": vars(args),
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
