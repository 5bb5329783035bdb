"""Compare three recipes on your own model and data: the runnable example of docs/your_model.md.

Softmax cross-entropy with Adam (the baseline), the rooted logistic objective with Adam (Wang et
al. 2023) and NeuronBoost (Munoz 2025) on the wine data and the small MLP of ``wine_model.py``,
with the harness's tuning budget (every recipe's default learning rate × the same factors, tuned
on the validation split with seed 0), fresh seeds of the selected learning rate, training-step
timing and statistics. It prints the comparison as a table and writes ``report.html`` and
``report.md`` into ``--out``: a descriptive comparison, without any paper verdict.

Run it from the repository root (about 12 s of CPU time with one torch thread)::

    python examples/your_model/compare_wine.py --out results/wine

The same comparison from the command line (the harness imports ``wine_model`` by name, so its
folder goes on ``PYTHONPATH``)::

    PYTHONPATH=examples/your_model boostprop bench --data wine_model:load \\
        --model wine_model:build --model-kwargs '{"width": 32, "depth": 2}' \\
        --recipes softmax-ce+adam,rooted-paper-k3+adam,neuronboost \\
        --epochs 20 --batch-size 16 --seeds 3 --target 0.9 --out results/wine

Both write the same plan, so either one resumes (or re-reads) the other's results.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from boostprop.bench import ComparisonResult, compare

RECIPES = ("softmax-ce+adam", "rooted-paper-k3+adam", "neuronboost")
DATA = "wine_model:load"  # load(split) -> (x, y)
MODEL = "wine_model:build"  # build(input_shape, n_classes, *, width, depth) -> nn.Module
MODEL_KWARGS = {"width": 32, "depth": 2}
EPOCHS = 20
BATCH_SIZE = 16  # 106 training rows: 7 steps per epoch
SEEDS = 3
TARGET = 0.9  # validation accuracy
LR_FACTORS = (1 / 3, 1.0, 3.0)  # each recipe's default learning rate times these


def compare_wine(
    out: Path | str = "results/wine",
    *,
    epochs: int = EPOCHS,
    seeds: int = SEEDS,
    lr_factors: Sequence[float] = LR_FACTORS,
    jobs: int = 1,
    progress: bool = True,
    command: str | None = None,
) -> ComparisonResult:
    """Run (or resume) the comparison into ``out`` and return its table and report path.

    Example:
        >>> # result = compare_wine("results/wine")
        >>> # print(result.to_markdown()); print(result.report)
    """
    return compare(
        list(RECIPES),
        data=DATA,
        model=MODEL,
        model_kwargs=MODEL_KWARGS,
        out=out,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        seeds=seeds,
        target=TARGET,
        lr_factors=lr_factors,
        jobs=jobs,
        progress=progress,
        command=command,
    )


def _factors(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> ComparisonResult:
    """Parse ``argv``, run the comparison, print its table and the report's path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("results/wine"))
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument(
        "--lr-factors", type=_factors, default=list(LR_FACTORS), help="e.g. 0.333,1,3"
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel training processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    result = compare_wine(
        args.out,
        epochs=args.epochs,
        seeds=args.seeds,
        lr_factors=args.lr_factors,
        jobs=args.jobs,
        progress=not args.no_progress,
        command=shlex.join(["python", "examples/your_model/compare_wine.py", *given]),
    )
    print(result.to_markdown())
    print(f"report: {result.report}")
    return result


if __name__ == "__main__":
    main()
