"""Time to a 1e-6 certified relative duality gap: boostprop's Lasso solver vs cvxpy + Clarabel / SCS.

The convex threshold-network Lasso of Ergen et al., ICLR 2023 (arXiv:2303.03382) on the paper's
teacher task: X ~ N(0, I) with n samples and d = 20 features (standardised, bias column appended by
``sample_patterns``), labels sign(tanh(tanh(X W1) W2) W3) with W ~ U(-1, 1) and widths 20, a dictionary
of P sampled arrangement patterns, beta = 1e-3 n. All solvers run in the same process, one after the
other, and every answer is certified by the same dual point (``gap`` column).

Usage:
    python benchmarks/lasso_solver.py --quick
    python benchmarks/lasso_solver.py --time-limit 600
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from boostprop.convex import sample_patterns, solve_lasso


def teacher(
    n: int, d: int = 20, width: int = 20, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Ergen et al. teacher: standardised Gaussian X (n, d) and +-1 labels."""
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, d))
    W1 = g.uniform(-1, 1, (d, width))
    W2 = g.uniform(-1, 1, (width, width))
    W3 = g.uniform(-1, 1, (width, 1))
    y = np.sign(np.tanh(np.tanh(X @ W1) @ W2) @ W3)[:, 0]
    y[y == 0] = 1.0
    X = (X - X.mean(0)) / X.std(0)
    return torch.as_tensor(X), torch.as_tensor(y)


def run_cell(n: int, P: int, solvers: list[str], time_limit: float, repeats: int) -> dict[str, Any]:
    X, y = teacher(n)
    pat = sample_patterns(X, P, seed=0)
    H = pat.H
    beta = 1e-3 * n
    cell: dict[str, Any] = {"n": n, "P_drawn": P, "P": int(H.shape[1]), "beta": beta, "runs": {}}
    for solver in solvers:
        times = []
        res = None
        try:
            for _ in range(repeats if solver == "ours" else 1):
                t0 = time.perf_counter()
                if solver == "ours":
                    res = solve_lasso(H, y, beta, tol=1e-6, time_limit=time_limit)
                elif solver == "clarabel":
                    res = solve_lasso(
                        H,
                        y,
                        beta,
                        backend="cvxpy",
                        cvxpy_solver="CLARABEL",
                        solver_options={"time_limit": time_limit},
                    )
                elif solver == "scs":
                    res = solve_lasso(
                        H,
                        y,
                        beta,
                        backend="cvxpy",
                        cvxpy_solver="SCS",
                        solver_options={
                            "eps_abs": 1e-9,
                            "eps_rel": 1e-9,
                            "time_limit_secs": time_limit,
                        },
                    )
                else:
                    raise ValueError(solver)
                times.append(time.perf_counter() - t0)
            assert res is not None
            cell["runs"][solver] = {
                "seconds": float(np.median(times)),
                "all_seconds": times,
                "gap": res.gap,
                "objective": res.objective,
                "n_iter": res.n_iter,
                "reached_1e-6": bool(res.gap <= 1e-6),
                "within_time_limit": bool(min(times) <= time_limit),
                "nnz": int(res.support.numel()),
            }
        except Exception as exc:  # a reference solver failing is a result, not a crash
            cell["runs"][solver] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  n={n} P={P} {solver}: {cell['runs'][solver]}", flush=True)
    return cell


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="n in {200, 1000} x P in {500, 2000}")
    ap.add_argument("--ns", type=int, nargs="*", default=None)
    ap.add_argument("--ps", type=int, nargs="*", default=None)
    ap.add_argument("--solvers", nargs="*", default=["ours", "clarabel", "scs"])
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solver run")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of our solver (median)")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: Clarabel is single-threaded; 0 = torch default)",
    )
    ap.add_argument(
        "--merge", action="store_true", help="merge the cells into an existing --out file"
    )
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "lasso_solver.json"))
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    ns = args.ns or ([200, 1000] if args.quick else [200, 1000, 5000])
    ps = args.ps or ([500, 2000] if args.quick else [500, 2000, 8000])
    cells = []
    for n in ns:
        for P in ps:
            cells.append(run_cell(n, P, args.solvers, args.time_limit, args.repeats))
    header = f"{'n':>5} {'P':>5} {'P kept':>6} | " + " | ".join(f"{s:>22}" for s in args.solvers)
    if "ours" in args.solvers and "clarabel" in args.solvers:
        header += " | clarabel/ours"
    print("\ntime to 1e-6 certified relative gap, seconds (gap reached in brackets)")
    print(header)
    print("-" * len(header))
    for c in cells:
        row = f"{c['n']:>5} {c['P_drawn']:>5} {c['P']:>6} | "
        parts = []
        for s in args.solvers:
            r = c["runs"][s]
            if "error" in r:
                parts.append(f"{'error':>22}")
            else:
                parts.append(f"{r['seconds']:>10.2f}s [{r['gap']:.1e}]")
        row += " | ".join(parts)
        if "ours" in args.solvers and "clarabel" in args.solvers:
            a, b = c["runs"]["ours"], c["runs"]["clarabel"]
            if "seconds" in a and "seconds" in b:
                c["speedup_vs_clarabel"] = b["seconds"] / a["seconds"]
                row += f" | {c['speedup_vs_clarabel']:>8.1f}x"
        print(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argv": sys.argv[1:] if argv is None else argv,
    }
    try:
        import clarabel
        import cvxpy
        import scs

        env.update(cvxpy=cvxpy.__version__, clarabel=clarabel.__version__, scs=scs.__version__)
    except Exception:
        pass
    if args.merge and out.exists():
        # keep the cells of earlier runs that this run did not redo (one entry per (n, P))
        new_keys = {(c["n"], c["P_drawn"]) for c in cells}
        old = json.loads(out.read_text())
        kept = [c for c in old.get("cells", []) if (c["n"], c["P_drawn"]) not in new_keys]
        cells = sorted(kept + cells, key=lambda c: (c["n"], c["P_drawn"]))
        env = {"runs": [*old.get("environment", {}).get("runs", []), env]}
    else:
        env = {"runs": [env]}
    out.write_text(json.dumps({"environment": env, "cells": cells}, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
