"""Forward+backward time and peak memory of the boostprop losses against ``F.cross_entropy``,
eager and compiled.

Losses: exponential / cubic gradient boosting (Øland et al. 2017, arXiv:1707.04199), rooted
logistic objectives (Wang et al. 2023, arXiv:2310.03890), softmax focal loss (Lin et al. 2017);
each with and without label smoothing 0.1, against ``F.cross_entropy`` with the same smoothing.

Time: median over ``--reps`` repetitions of one forward+backward (``loss.backward()`` into a leaf),
all losses interleaved round-robin in the same process so that machine noise hits them alike;
``eager`` runs the functions as they are, ``compiled`` runs ``torch.compile(fn, dynamic=False)``
(Inductor) of the same function, after a warm-up. Ratio = median(loss) / median(baseline), the
baseline being ``F.cross_entropy`` in the same mode.

Allocator: the timing process first makes glibc keep the memory it frees (``mallopt``: no heap
trimming, no ``mmap`` for large blocks), so that after the warm-up no step page-faults. With
glibc's defaults a ``(8192, 1000)`` float32 tensor (31.25 MiB) sits just under the largest dynamic
``mmap`` threshold, and which of the interleaved calls gets fresh pages (about 2.5 µs per 4 KiB page
fault on this virtual machine, 20 ms per tensor) depended on the allocator's state left by the calls
before it: eager ``cross_entropy`` paid 16,000 faults a step in one measured run and none in
another, compiled losses 0 or 8,000. The timings then ranked the allocator, not the losses.
``--default-allocator`` times with glibc's defaults (the median minor page faults per step are in
the JSON either way).

Memory: ``peak`` = the high-water mark of the process's resident memory (Linux ``VmHWM``, reset just
before the step through ``/proc/self/clear_refs``) during one forward+backward, minus the resident
memory just before, measured in a fresh subprocess per loss and mode with the input and its ``.grad``
already allocated and one warm-up step done (the subprocess runs with ``MALLOC_MMAP_THRESHOLD_`` so
that freed large blocks go back to the OS and the mark tracks live tensors). ``extra`` = (loss −
baseline) in units of one ``(N, C, ...)`` float32 tensor; ``≤ 0`` means no more than cross-entropy.
``saved`` (eager only): bytes kept alive between forward and backward (``saved_tensors_hooks``,
de-duplicated by storage, the input and target excluded).

Run: ``.venv/bin/python benchmarks/loss_overhead.py [--quick] [--no-compile] [--default-allocator]``;
writes
``benchmarks/results/loss_overhead.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
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
import torch._dynamo
import torch.nn.functional as F

from boostprop.losses import (
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_BASE: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "exp_boost": exp_boost_loss,
    "cubic_boost": cubic_boost_loss,
    "rooted_paper_k3": lambda z, y, **kw: rooted_logistic_loss(z, y, k=3.0, form="paper", **kw),
    "rooted_natural_k3": lambda z, y, **kw: rooted_logistic_loss(z, y, k=3.0, form="natural", **kw),
    "focal_g2": lambda z, y, **kw: focal_loss(z, y, gamma=2.0, **kw),
    "focal_paper": lambda z, y, **kw: focal_loss(z, y, gamma=3.0, alpha=0.25, **kw),
}


def _bind(fn: Callable[..., torch.Tensor], **kw: Any) -> LossFn:
    return lambda z, y: fn(z, y, **kw)


LOSSES: dict[str, LossFn] = {name: _bind(fn) for name, fn in _BASE.items()}
LOSSES.update({f"{name}_ls0.1": _bind(fn, label_smoothing=0.1) for name, fn in _BASE.items()})
BASELINE = {name: "cross_entropy_ls0.1" if "ls0.1" in name else "cross_entropy" for name in LOSSES}
MODES = ("eager", "compiled")

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


def loss_fn(name: str, mode: str) -> LossFn:
    # every loss is a closure of the same code object: one compiled entry per loss and shape
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    fn = LOSSES[name]
    return torch.compile(fn, dynamic=False) if mode == "compiled" else fn


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this process (no trimming, large blocks from the heap):
    repeated steps then reuse their pages instead of page-faulting fresh ones. ``False`` where
    the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)) and bool(mallopt(_M_MMAP_THRESHOLD, 2**30))


def time_all(
    shape: tuple[int, ...], names: list[str], modes: list[str], reps: int
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[int]]]:
    """Wall times and minor page faults of every (loss, mode) step, interleaved round-robin."""
    z, y = make_inputs(shape)
    fns = {(n, m): loss_fn(n, m) for n in names for m in modes}
    times: dict[tuple[str, str], list[float]] = {key: [] for key in fns}
    faults: dict[tuple[str, str], list[int]] = {key: [] for key in fns}
    for fn in fns.values():  # warm-up (and compilation)
        step(fn, z, y)
        step(fn, z, y)
    for _ in range(reps):
        for key, fn in fns.items():
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            step(fn, z, y)
            times[key].append(time.perf_counter() - t0)
            faults[key].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return times, faults


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


def peak_rss_child(name: str, shape_key: str, mode: str) -> int:
    """In a fresh process: VmHWM increase (bytes) over one forward+backward after a warm-up."""
    z, y = make_inputs(SHAPES[shape_key])
    fn = loss_fn(name, mode)
    step(fn, z, y)  # warm-up (and compilation) on the full shape
    z.grad = torch.zeros_like(z)  # the gradient buffer exists in training anyway
    reset_peak_rss()
    before = read_peak_rss()
    loss = fn(z, y)
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


def peak_rss(name: str, shape_key: str, mode: str) -> int:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 16)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, shape_key, mode],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions (default 30)")
    parser.add_argument("--no-compile", action="store_true", help="eager only")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="time with glibc's default allocator settings (steps may page-fault)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(peak_rss_child(*args.child))
        return
    reps = args.reps or (10 if args.quick else 30)
    kept = False if args.default_allocator else keep_freed_memory()
    print(f"allocator: {'glibc freed memory kept' if kept else 'default'}")
    modes = ["eager"] if args.no_compile else list(MODES)
    names = list(LOSSES)
    results: dict[str, Any] = {
        "env": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "load_average": os.getloadavg(),
            "reps": reps,
            "allocator": "glibc freed memory kept" if kept else "default",
            "command": " ".join(sys.argv),
        },
        "shapes": {},
    }
    for key, shape in SHAPES.items():
        unit = 4 * math.prod(shape)
        saved = {n: saved_bytes(n, shape) for n in names}
        times, faults = time_all(shape, names, modes, reps)
        med = {k: statistics.median(v) for k, v in times.items()}
        peak = {(n, m): peak_rss(n, key, m) for n in names for m in modes}
        rows: dict[str, Any] = {}
        for n in names:
            base = BASELINE[n]
            rows[n] = {"baseline": base, "saved_bytes": saved[n]}
            rows[n]["extra_saved_units"] = (saved[n] - saved[base]) / unit
            for m in modes:
                rows[n][m] = {
                    "median_ms": 1e3 * med[(n, m)],
                    "iqr_ms": 1e3 * iqr(times[(n, m)]),
                    "median_page_faults": statistics.median(faults[(n, m)]),
                    "ratio": med[(n, m)] / med[(base, m)],
                    "peak_rss_bytes": peak[(n, m)],
                    "extra_peak_units": (peak[(n, m)] - peak[(base, m)]) / unit,
                }
        results["shapes"][key] = {"shape": list(shape), "unit_bytes": unit, "losses": rows}
        print(f"\n{key}  shape={shape}  one float32 (N, C, ...) tensor = {unit / 2**20:.1f} MiB")
        head = f"| {'loss':22s} |"
        for m in modes:
            head += f" {m} ms | ratio | {m} peak MiB | extra |"
        print(head)
        print("|---" * (1 + 4 * len(modes)) + "|")
        for n in names:
            line = f"| {n:22s} |"
            for m in modes:
                r = rows[n][m]
                line += (
                    f" {r['median_ms']:.1f} | {r['ratio']:.2f} |"
                    f" {r['peak_rss_bytes'] / 2**20:.1f} | {r['extra_peak_units']:+.2f} |"
                )
            print(line)
    print(
        "\nratio = median(loss) / median(baseline) in the same mode; baseline = cross_entropy with"
    )
    print(
        "the same label smoothing; extra = (peak(loss) − peak(baseline)) in float32 (N, C, ...) units"
    )
    out = Path(__file__).resolve().parent / "results" / "loss_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


def iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


if __name__ == "__main__":
    main()
