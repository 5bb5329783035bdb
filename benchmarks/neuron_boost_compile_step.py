"""Does compiling NeuronBoost's step pay off? (Munoz 2025, arXiv:2502.01131.)

Times a training iteration (forward, backward, ``step()``, ``zero_grad()``) of the MLP
784-256-256-10 at batch 128 (``optimizer_overhead.py``'s workload), one intra-op thread, with the
eager ``NeuronBoost.step`` and with ``torch.compile(opt.step)`` (inductor), interleaved in one
process; medians of the process CPU time over rounds of 5 iterations, after 3 warm-up iterations
(whose wall time, compilation included, is printed). Usage::

    .venv/bin/python benchmarks/neuron_boost_compile_step.py
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from boostprop.optim import NeuronBoost

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimizer_overhead import _data, mlp


def main() -> None:
    """Run the A/B and print the medians."""
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    x, y = _data(128)
    runs = {}
    for name in ("eager", "compiled"):
        torch.manual_seed(0)
        m = mlp()
        o = NeuronBoost(m, lr=0.1)
        step = torch.compile(o.step) if name == "compiled" else o.step
        t0 = time.perf_counter()
        for _ in range(3):
            F.cross_entropy(m(x), y).backward()
            step()
            o.zero_grad()
        print(f"{name}: warm-up {time.perf_counter() - t0:.1f} s", flush=True)
        runs[name] = (m, o, step)
    ts: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(9):
        for k in list(runs) if r % 2 == 0 else list(reversed(runs)):
            m, o, step = runs[k]
            c = time.process_time()
            for _ in range(5):
                F.cross_entropy(m(x), y).backward()
                step()
                o.zero_grad()
            ts[k].append((time.process_time() - c) / 5)
    med = {k: statistics.median(v) for k, v in ts.items()}
    for k, v in med.items():
        print(f"{k}: {1e3 * v:.2f} ms per iteration")
    print(f"compiled / eager: {med['compiled'] / med['eager']:.2f}")


if __name__ == "__main__":
    main()
