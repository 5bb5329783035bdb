"""Forward+backward overhead of the boostprop losses against ``F.cross_entropy``.

Losses: exponential / cubic gradient boosting (Øland et al. 2017, arXiv:1707.04199), rooted
logistic objectives (Wang et al. 2023, arXiv:2310.03890), softmax focal loss (Lin et al. 2017).

Time: median over ``--reps`` repetitions of one forward+backward (``loss.backward()`` into a leaf),
all losses interleaved round-robin in the same process so that machine noise hits them alike.
Ratio = median(loss) / median(cross_entropy).

Memory, two measurements:

* ``saved``: bytes of the tensors kept alive between forward and backward (recorded with
  ``torch.autograd.graph.saved_tensors_hooks``, de-duplicated by storage, the input and target
  excluded since they exist anyway). This is the memory a loss adds to a training step's peak.
* ``peak``: the high-water mark of the process's resident memory (Linux ``VmHWM``, reset just
  before the step through ``/proc/self/clear_refs``) during one forward+backward, minus the
  resident memory just before, measured in a fresh subprocess per loss with the input and its
  ``.grad`` already allocated (the CPU allocator returns large blocks to the OS, so this tracks live
  tensors, within page granularity).

Both are reported as ``extra`` = loss − cross_entropy, in units of one (N, C, ...) float32 tensor.

Run: ``.venv/bin/python benchmarks/loss_overhead.py [--quick]``; writes
``benchmarks/results/loss_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from boostprop.losses import (
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "cross_entropy": lambda z, y: F.cross_entropy(z, y),
    "exp_boost": lambda z, y: exp_boost_loss(z, y),
    "cubic_boost": lambda z, y: cubic_boost_loss(z, y),
    "rooted_paper_k3": lambda z, y: rooted_logistic_loss(z, y, k=3.0, form="paper"),
    "rooted_natural_k3": lambda z, y: rooted_logistic_loss(z, y, k=3.0, form="natural"),
    "focal_g2": lambda z, y: focal_loss(z, y, gamma=2.0),
    "focal_paper": lambda z, y: focal_loss(z, y, gamma=3.0, alpha=0.25),
    # the dense paths (label smoothing) for reference, against cross_entropy with smoothing
    "cross_entropy_ls0.1": lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
    "exp_boost_ls0.1": lambda z, y: exp_boost_loss(z, y, label_smoothing=0.1),
    "rooted_paper_k3_ls0.1": lambda z, y: rooted_logistic_loss(z, y, label_smoothing=0.1),
}
BASELINE = {name: "cross_entropy_ls0.1" if "ls0.1" in name else "cross_entropy" for name in LOSSES}

SHAPES: dict[str, tuple[int, ...]] = {
    "N8192_C1000": (8192, 1000),
    "N32_C21_64x64": (32, 21, 64, 64),
}


def make_inputs(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.empty(shape)  # filled in place: no temporary that would raise the RSS high-water mark
    z.normal_(generator=gen).mul_(3.0).requires_grad_()
    y = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=gen)
    return z, y


def step(fn: LossFn, z: torch.Tensor, y: torch.Tensor) -> None:
    z.grad = None
    fn(z, y).backward()


def time_all(shape: tuple[int, ...], names: list[str], reps: int) -> dict[str, list[float]]:
    z, y = make_inputs(shape)
    times: dict[str, list[float]] = {n: [] for n in names}
    for n in names:  # warm-up
        step(LOSSES[n], z, y)
    for _ in range(reps):
        for n in names:
            t0 = time.perf_counter()
            step(LOSSES[n], z, y)
            times[n].append(time.perf_counter() - t0)
    return times


def saved_bytes(name: str, shape: tuple[int, ...]) -> int:
    z, y = make_inputs(shape)
    exclude = {z.untyped_storage().data_ptr(), y.untyped_storage().data_ptr()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in exclude:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = LOSSES[name](z, y)
    loss.backward()
    return sum(seen.values())


def peak_rss_child(name: str, shape_key: str) -> int:
    """In a fresh process: ru_maxrss increase (bytes) over one forward+backward."""
    z, y = make_inputs(SHAPES[shape_key])
    step(LOSSES[name], z[:2].detach().clone().requires_grad_(), y[:2])  # warm up on a slice
    z.grad = torch.zeros_like(z)  # the gradient buffer exists in training anyway
    reset_peak_rss()
    before = read_peak_rss()
    loss = LOSSES[name](z, y)
    loss.backward()
    return read_peak_rss() - before


def reset_peak_rss() -> None:
    """Reset the kernel's resident-set high-water mark (Linux: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def read_peak_rss() -> int:
    """Resident-set high-water mark in bytes (VmHWM; ru_maxrss survives fork/exec, VmHWM resets)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss(name: str, shape_key: str) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, shape_key],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions (default 30)")
    parser.add_argument(
        "--threads",
        type=str,
        default=None,
        help="comma-separated torch intra-op thread counts to time (default: 1 and the default)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        torch.set_num_threads(1)
        print(peak_rss_child(*args.child))
        return
    default_threads = torch.get_num_threads()
    if args.threads:
        thread_counts = [int(v) for v in args.threads.split(",")]
    else:
        thread_counts = sorted({1, default_threads})
    reps = args.reps or (20 if args.quick else 30)
    names = list(LOSSES)
    results: dict[str, Any] = {
        "env": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "default_threads": default_threads,
            "reps": reps,
            "command": " ".join(sys.argv),
        },
        "shapes": {},
    }
    for key, shape in SHAPES.items():
        unit = 4 * math.prod(shape)
        saved = {n: saved_bytes(n, shape) for n in names}
        peak = {n: peak_rss(n, key) for n in names}
        memory = {
            n: {
                "saved_bytes": saved[n],
                "extra_saved_units": (saved[n] - saved[BASELINE[n]]) / unit,
                "peak_rss_bytes": peak[n],
                "extra_peak_units": (peak[n] - peak[BASELINE[n]]) / unit,
            }
            for n in names
        }
        timing: dict[str, Any] = {}
        for threads in thread_counts:
            torch.set_num_threads(threads)
            times = time_all(shape, names, reps)
            med = {n: statistics.median(v) for n, v in times.items()}
            timing[f"threads={threads}"] = {
                n: {
                    "baseline": BASELINE[n],
                    "median_ms": 1e3 * med[n],
                    "iqr_ms": 1e3 * iqr(times[n]),
                    "ratio": med[n] / med[BASELINE[n]],
                }
                for n in names
            }
        torch.set_num_threads(default_threads)
        results["shapes"][key] = {
            "shape": list(shape),
            "unit_bytes": unit,
            "memory": memory,
            "timing": timing,
        }
        print(f"\n{key}  shape={shape}  one float32 (N, C, ...) tensor = {unit / 2**20:.1f} MiB")
        head = f"{'loss':24s}"
        for tk in timing:
            head += f" {tk + ' ms':>14s} {'ratio':>6s}"
        head += f" {'saved MiB':>10s} {'extra':>6s} {'peak MiB':>9s} {'extra':>6s}"
        print(head)
        for n in names:
            line = f"{n:24s}"
            for rows in timing.values():
                line += f" {rows[n]['median_ms']:14.2f} {rows[n]['ratio']:6.2f}"
            m = memory[n]
            line += (
                f" {m['saved_bytes'] / 2**20:10.1f} {m['extra_saved_units']:6.2f}"
                f" {m['peak_rss_bytes'] / 2**20:9.1f} {m['extra_peak_units']:6.2f}"
            )
            print(line)
    print("\nratio = median(loss) / median(baseline); baseline = cross_entropy (with the same")
    print("label smoothing for *_ls0.1); extra = (loss − baseline) in units of one float32 tensor")
    out = Path(__file__).resolve().parent / "results" / "loss_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


def iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


if __name__ == "__main__":
    main()
