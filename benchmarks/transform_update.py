"""Cost of ShortcutMLP.update_transforms_ relative to a forward pass (Raiko et al. 2012).

T. Raiko, H. Valpola, Y. LeCun, "Deep Learning Made Easier by Linear Transformations in Perceptrons",
AISTATS 2012; T. Vatanen et al., ICONIP 2013 (arXiv:1301.3476).  Target (issue 6): updating the
transformations of a 784-800-800-10 shortcut network on a 10,000-sample batch costs less than 3
forward passes of that batch.  The baseline is a float32 forward pass under ``torch.no_grad()``
(the cheapest forward) of the same model on the same batch, timed in the same process; medians
over repeats, interleaved so that machine load affects both alike.

Run:  .venv/bin/python benchmarks/transform_update.py [--repeats 7] [--batch 10000]
Writes benchmarks/results/transform_update.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from boostprop.bench.environment import environment
from boostprop.nn import ShortcutMLP

SIZES = [784, 800, 800, 10]
TARGET_RATIO = 3.0


def _time(fn: object) -> float:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(transforms: str, gamma: str, batch: int, repeats: int) -> dict[str, object]:
    """Median seconds of a no-grad forward and of update_transforms_ on the same batch."""
    torch.manual_seed(0)
    net = ShortcutMLP(SIZES, transforms=transforms, gamma=gamma)
    x = torch.randn(batch, SIZES[0])
    with torch.no_grad():
        net(x)  # warm-up
    net.update_transforms_(x)  # warm-up (and non-trivial α, β, γ from here on)
    fwd, upd = [], []
    for _ in range(repeats):
        with torch.no_grad():
            fwd.append(_time(lambda: net(x)))
        upd.append(_time(lambda: net.update_transforms_(x)))
    f_med, u_med = statistics.median(fwd), statistics.median(upd)
    return {
        "transforms": transforms,
        "gamma": gamma,
        "forward_s_median": f_med,
        "forward_s_all": fwd,
        "update_s_median": u_med,
        "update_s_all": upd,
        "ratio": u_med / f_med,
        "target_ratio": TARGET_RATIO,
        "meets_target": u_med / f_med < TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "transform_update.json",
    )
    args = parser.parse_args()

    rows = [
        measure("alpha_beta", "balance", args.batch, args.repeats),
        measure("alpha_beta_gamma", "balance", args.batch, args.repeats),
    ]
    print(
        f"update_transforms_ vs no-grad forward, {SIZES}, batch {args.batch}, float32, "
        f"{args.repeats} repeats, {torch.get_num_threads()} threads"
    )
    print(f"{'transforms':<18} {'forward (s)':>12} {'update (s)':>12} {'ratio':>7} {'< 3?':>5}")
    for r in rows:
        print(
            f"{r['transforms']:<18} {r['forward_s_median']:>12.4f} {r['update_s_median']:>12.4f} "
            f"{r['ratio']:>7.2f} {'yes' if r['meets_target'] else 'NO':>5}"
        )
    result = {
        "benchmark": "transform_update",
        "sizes": SIZES,
        "batch": args.batch,
        "dtype": "float32",
        "repeats": args.repeats,
        "baseline": "forward pass under torch.no_grad(), same model and batch, same process",
        "rows": rows,
        "environment": {
            **environment(),
            "threads": torch.get_num_threads(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
