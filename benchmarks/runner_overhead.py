"""Harness overhead: one Fashion-MNIST MLP epoch through ``boostprop.bench.runner`` vs a bare loop.

Same process, same prepared tensors, same model (784-256-256-10 ReLU), optimizer (SGD with
momentum) and batch size; the two are interleaved and the median over repetitions is reported.
Measured:
- ``train``: training-step seconds of one epoch (what the harness records) vs the bare loop;
- ``run``: the harness's whole ``run()`` (data lookup, model build, untimed evaluation of the
  validation and test sets) vs the bare loop plus the same evaluation.
Target (issue 2): ``train`` ratio ≤ 1.10.

Run: ``.venv/bin/python benchmarks/runner_overhead.py [--reps 5] [--subset N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from boostprop.bench.environment import environment
from boostprop.bench.runner import RunSpec, evaluate, prepare_data, run
from boostprop.models import build_model

LR, BATCH = 0.05, 128


def bare_epoch(x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[float, torch.nn.Module]:
    torch.manual_seed(seed)
    model = build_model("mlp", (1, 28, 28), 10, widths=(256, 256))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)
    model.train()
    start = time.perf_counter()
    for i in range(0, len(y), BATCH):
        idx = perm[i : i + BATCH]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start, model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--subset", type=int, default=None, help="training samples (default: all 54,000)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "runner_overhead.json"
    )
    args = parser.parse_args()

    data = prepare_data("fashion_mnist", args.subset)
    x, y = data.train
    spec = RunSpec(
        recipe="softmax-ce+sgd",
        dataset="fashion_mnist",
        model="mlp",
        model_kwargs={"widths": [256, 256]},
        lr=LR,
        seed=0,
        epochs=1,
        batch_size=BATCH,
        train_subset=args.subset,
    )
    run(spec)  # warm-up (also fills caches)
    bare_epoch(x, y, 0)
    bare_train, bare_total, harness_train, harness_total = [], [], [], []
    for rep in range(args.reps):
        t0 = time.perf_counter()
        seconds, model = bare_epoch(x, y, rep)
        evaluate(model, F.cross_entropy, *data.val)
        evaluate(model, F.cross_entropy, *data.test)
        bare_total.append(time.perf_counter() - t0)
        bare_train.append(seconds)
        t0 = time.perf_counter()
        record = run(RunSpec(**{**spec.to_dict(), "seed": rep}))
        harness_total.append(time.perf_counter() - t0)
        harness_train.append(record["history"]["train_seconds"][-1])
        print(f"rep {rep}: bare {bare_train[-1]:.3f}s  harness {harness_train[-1]:.3f}s (train)")
    med = statistics.median
    result = {
        "n_train": len(y),
        "batch_size": BATCH,
        "reps": args.reps,
        "bare_train_s": med(bare_train),
        "harness_train_s": med(harness_train),
        "train_ratio": med(harness_train) / med(bare_train),
        "bare_with_eval_s": med(bare_total),
        "harness_run_s": med(harness_total),
        "run_ratio": med(harness_total) / med(bare_total),
        "target_train_ratio": 1.10,
        "env": environment(),
    }
    print()
    print(f"{'measure':<34}{'bare':>10}{'harness':>10}{'ratio':>8}")
    print(
        f"{'training steps of one epoch (s)':<34}{result['bare_train_s']:>10.3f}{result['harness_train_s']:>10.3f}{result['train_ratio']:>8.3f}"
    )
    print(
        f"{'whole run incl. untimed eval (s)':<34}{result['bare_with_eval_s']:>10.3f}{result['harness_run_s']:>10.3f}{result['run_ratio']:>8.3f}"
    )
    verdict = "met" if result["train_ratio"] <= 1.10 else "NOT met"
    print(f"target train ratio <= 1.10: {verdict}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
