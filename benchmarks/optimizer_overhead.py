"""Per-step time and peak memory of NeuronBoost vs SGD, Adam and AdamW (Munoz 2025, arXiv:2502.01131).

Measures a full training iteration (forward, backward, ``step()``, ``zero_grad()``) on random data
of the Fashion-MNIST shape: the MLP 784-256-256-10 (ReLU) at batch 128 and 1000, a small CNN
(conv 1→16 3×3, conv 16→32 3×3 stride 2, linear to 10 on 28×28) at batch 128, and a small ViT
(7×7 patches → 16 tokens, width 128, 4 pre-norm ``nn.TransformerEncoderLayer`` blocks with 4
heads and a 256-wide feed-forward, mean-pooled, linear head) at batch 128. All optimizers of a
workload are timed in the same process, interleaved round-robin so that load from other processes
hits them alike; the per-step time is the median over rounds of the process CPU time
(``time.process_time``, which a descheduled process does not accrue; the ratios use it) and,
for reference, of the wall-clock time. Peak memory is measured in a fresh
subprocess per (workload, optimizer): the resident-set high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``) during a few steps, minus the resident set before the first step, with
``MALLOC_MMAP_THRESHOLD_`` fixed so that freed tensors are returned to the OS.

Targets (issue 15): with ``cg_iters=2``, on the MLP ≤ 3.1× SGD's step time at batch 128 and
≤ 2.8× at batch 1000; on the ViT ≤ 3.5× AdamW's; peak memory ≤ 1.5× Adam's (MLP and ViT).

Timing uses one intra-op thread by default (``--threads``): on a shared 2-core machine two
threads mostly measure the other tenants. On CUDA (``--device cuda``, the default when a GPU is
present) the ratios use wall-clock time between ``torch.cuda.synchronize()`` calls and peak
memory is ``torch.cuda.max_memory_allocated`` above the allocation before the first step.
Usage::

    .venv/bin/python benchmarks/optimizer_overhead.py [--quick] [--device cpu|cuda]
        [--rounds N] [--workloads mlp-b128 vit-b128 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from boostprop.optim import NeuronBoost

RESULTS = Path(__file__).resolve().parent / "results" / "optimizer_overhead.json"

OPTIMIZERS: dict[str, Callable[[nn.Module], torch.optim.Optimizer]] = {
    "sgd": lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
    "adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    "adamw": lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-2),
    "nb-approx": lambda m: NeuronBoost(m, lr=0.1, approx_metric=True),
    "nb-cg1": lambda m: NeuronBoost(m, lr=0.1, cg_iters=1),
    "nb-cg2": lambda m: NeuronBoost(m, lr=0.1, cg_iters=2),
}


def mlp() -> nn.Module:
    """The Fashion-MNIST MLP 784-256-256-10 with ReLU."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


def cnn() -> nn.Module:
    """Small CNN: conv 1→16 3×3, conv 16→32 3×3 stride 2, linear to 10 (28×28 inputs)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 12 * 12, 10),
    )


class ViT(nn.Module):
    """Small Vision Transformer on 28×28 images: 7×7 patches (16 tokens), width 128, 4 pre-norm
    encoder blocks (4 heads, feed-forward 256, no dropout), mean pooling, linear head."""

    def __init__(self, width: int = 128, depth: int = 4, heads: int = 4, patch: int = 7) -> None:
        super().__init__()
        self.patch = patch
        tokens = (28 // patch) ** 2
        self.embed = nn.Linear(patch * patch, width)
        self.pos = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch
        patches = x.unfold(2, p, p).unfold(3, p, p).reshape(x.shape[0], -1, p * p)
        h = self.blocks(self.embed(patches) + self.pos)
        return self.head(self.norm(h).mean(1))


WORKLOADS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "mlp-b128": (mlp, 128),
    "mlp-b1000": (mlp, 1000),
    "cnn-b128": (cnn, 128),
    "vit-b128": (ViT, 128),
}
DEVICE = torch.device("cpu")


def _data(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    return x.to(DEVICE), y.to(DEVICE)


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _iteration(
    model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> None:
    F.cross_entropy(model(x), y).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def time_workload(name: str, rounds: int, steps: int) -> dict[str, dict[str, float]]:
    """Median per-step seconds of every optimizer on one workload, interleaved round-robin."""
    make, batch = WORKLOADS[name]
    x, y = _data(batch)
    runs = {}
    for opt_name, make_opt in OPTIMIZERS.items():
        torch.manual_seed(0)
        model = make().to(DEVICE)
        opt = make_opt(model)
        for _ in range(3):  # warm-up (allocates state, first-call overheads)
            _iteration(model, opt, x, y)
        runs[opt_name] = (model, opt)
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for opt_name in order:
            model, opt = runs[opt_name]
            _sync()
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(steps):
                _iteration(model, opt, x, y)
            _sync()
            cpu[opt_name].append((time.process_time() - c0) / steps)
            wall[opt_name].append((time.perf_counter() - w0) / steps)

    def iqr(v: list[float]) -> float:
        q = statistics.quantiles(v, n=4)
        return q[2] - q[0]

    return {
        k: {
            "median_cpu_s": statistics.median(cpu[k]),
            "iqr_cpu_s": iqr(cpu[k]),
            "median_wall_s": statistics.median(wall[k]),
            "iqr_wall_s": iqr(wall[k]),
        }
        for k in runs
    }


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(workload: str, opt_name: str) -> None:
    """Run in a subprocess: print peak memory increase (bytes) over a few training steps."""
    torch.set_num_threads(1)
    make, batch = WORKLOADS[workload]
    x, y = _data(batch)
    torch.manual_seed(0)
    model = make().to(DEVICE)
    opt = OPTIMIZERS[opt_name](model)
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
        for _ in range(3):
            _iteration(model, opt, x, y)
        torch.cuda.synchronize()
        print(json.dumps({"peak_bytes": torch.cuda.max_memory_allocated() - base_cuda}))
        return
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    base = _rss_kib("VmRSS")
    for _ in range(3):
        _iteration(model, opt, x, y)
    print(json.dumps({"peak_bytes": (_rss_kib("VmHWM") - base) * 1024}))


def measure_memory(workload: str, opt_name: str) -> int:
    """Peak memory increase of training steps, in a fresh process."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, __file__, "--device", DEVICE.type, "--memory-child", workload, opt_name],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return int(json.loads(out.strip().splitlines()[-1])["peak_bytes"])


def main() -> None:
    """Run the benchmark, print the table, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads for the timing (default 1: steadier on a shared machine)",
    )
    ap.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="device (default: cuda when present)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds per workload (default 11, 5 with --quick); more rounds give "
        "steadier medians on a loaded machine",
    )
    ap.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    ap.add_argument(
        "--memory-child", nargs=2, metavar=("WORKLOAD", "OPTIMIZER"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if args.memory_child:
        _memory_child(*args.memory_child)
        return
    torch.set_num_threads(args.threads)
    rounds, steps = (5, 3) if args.quick else (11, 5)
    if args.rounds is not None:
        if args.rounds < 1:
            ap.error("--rounds must be >= 1")
        rounds = args.rounds
    load_start = os.getloadavg()
    results: dict[str, dict] = {}
    key = "median_wall_s" if DEVICE.type == "cuda" else "median_cpu_s"
    for w in args.workloads:
        timing = time_workload(w, rounds, steps)
        sgd = timing["sgd"][key]
        adamw = timing["adamw"][key]
        sgd_wall = timing["sgd"]["median_wall_s"]
        results[w] = {}
        mems = {o: measure_memory(w, o) for o in OPTIMIZERS}
        for o in OPTIMIZERS:
            results[w][o] = {
                **timing[o],
                "x_sgd": timing[o][key] / sgd,
                "x_adamw": timing[o][key] / adamw,
                "x_sgd_wall": timing[o]["median_wall_s"] / sgd_wall,
                "peak_mem_bytes": mems[o],
                "mem_x_adam": mems[o] / mems["adam"],
            }
    header = (
        f"{'workload':<10} {'optimizer':<10} {'cpu ms':>7} {'IQR':>6} {'× SGD':>6} {'× AdamW':>8} "
        f"{'wall ms':>8} {'× SGD':>6} {'peak MiB':>9} {'× Adam':>7}"
    )
    print(header)
    print("-" * len(header))
    for w, rows in results.items():
        for o, r in rows.items():
            print(
                f"{w:<10} {o:<10} {1e3 * r['median_cpu_s']:7.2f} {1e3 * r['iqr_cpu_s']:6.2f} "
                f"{r['x_sgd']:6.2f} {r['x_adamw']:8.2f} "
                f"{1e3 * r['median_wall_s']:8.2f} {r['x_sgd_wall']:6.2f} "
                f"{r['peak_mem_bytes'] / 2**20:9.1f} {r['mem_x_adam']:7.2f}"
            )
    checks = {
        "mlp-b128 nb-cg2 <= 3.1x SGD": ("mlp-b128", "x_sgd", 3.1),
        "mlp-b1000 nb-cg2 <= 2.8x SGD": ("mlp-b1000", "x_sgd", 2.8),
        "vit-b128 nb-cg2 <= 3.5x AdamW": ("vit-b128", "x_adamw", 3.5),
        "mlp-b128 nb-cg2 peak memory <= 1.5x Adam": ("mlp-b128", "mem_x_adam", 1.5),
        "mlp-b1000 nb-cg2 peak memory <= 1.5x Adam": ("mlp-b1000", "mem_x_adam", 1.5),
        "vit-b128 nb-cg2 peak memory <= 1.5x Adam": ("vit-b128", "mem_x_adam", 1.5),
    }
    targets = {
        k: results[w]["nb-cg2"][field] <= limit
        for k, (w, field, limit) in checks.items()
        if w in results
    }
    for k, ok in targets.items():
        print(f"target {k}: {'met' if ok else 'MISSED'}")
    out_path = (
        RESULTS if DEVICE.type == "cpu" else RESULTS.with_name("optimizer_overhead_cuda.json")
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "results": results,
        "targets": targets,
        "settings": {
            "rounds": rounds,
            "steps_per_round": steps,
            "quick": args.quick,
            "threads": args.threads,
            "device": DEVICE.type,
            "ratios_from": key,
        },
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg": os.getloadavg(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cuda_device": torch.cuda.get_device_name() if DEVICE.type == "cuda" else None,
        },
    }
    out_path.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
