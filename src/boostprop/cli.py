"""The ``boostprop`` command: reproduce the papers' claims, run ad-hoc sweeps, build reports.

Example:
    $ boostprop reproduce --preset quick --out reports/quick --jobs 2
    $ boostprop bench --dataset mnist1d --recipes softmax-ce+sgd,softmax-ce+adam --out results/adhoc
    $ boostprop report reports/quick
    $ boostprop datasets
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from boostprop.bench.presets import Preset
from boostprop.models import ACTIVATIONS

DESCRIPTION = """\
boostprop: five published "train neural networks faster" techniques, and an honest harness that
checks each paper's claim against tuned baselines (same learning-rate tuning budget for every
recipe, several seeds, training time measured without evaluation)."""

EPILOG = """\
examples:
  boostprop reproduce                       every claim, quick preset, report in reports/quick
  boostprop reproduce --only baselines      one claim
  boostprop reproduce --preset standard --jobs 2   the published verdicts (under 2 hours)
  boostprop reproduce --preset full --estimate  how long a preset takes (measured step times)
  boostprop bench --dataset mnist1d --recipes softmax-ce+sgd,softmax-ce+adam
  boostprop report reports/quick            rebuild the report from a results folder
  boostprop datasets                        which data sets are available, and from where
  boostprop recipes                         the registered recipes

Interrupted? Run the same command again with the same --out: finished runs are kept."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _json_object(text: str) -> dict[str, object]:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _executor_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="who trains the runs: this machine's process pool (default) or a Ray cluster",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="the Ray cluster: auto (a running cluster), HOST:PORT, or ray://HOST:10001",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="add this plan's new claims or comparisons to the folder's plan (never changes one)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``boostprop`` command's argument parser, with its subcommands.

    Example:
        >>> build_parser().prog
        'boostprop'
    """
    from boostprop import __version__

    parser = argparse.ArgumentParser(
        prog="boostprop",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"boostprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    rep = sub.add_parser(
        "reproduce",
        help="run every paper's claim against tuned baselines and write a verdict report",
        description="Run the claims' experiments (tuning, then seeds) into --out and write "
        "report.md and report.html there. Re-running with the same --out resumes.",
    )
    rep.add_argument(
        "--preset",
        choices=[p.value for p in Preset],
        default="quick",
        help=(
            "experiment size: quick (minutes, default), standard (the published verdicts, "
            "under 2 hours with --jobs 2), full (many hours), smoke (seconds, for tests)"
        ),
    )
    rep.add_argument(
        "--only",
        action="append",
        metavar="CLAIM",
        help="run only this claim (repeatable); see `boostprop claims`",
    )
    rep.add_argument(
        "--out", type=Path, default=None, help="results folder (default reports/PRESET)"
    )
    rep.add_argument(
        "--jobs", type=_positive_int, default=1, help="parallel training processes (default 1)"
    )
    _executor_args(rep)
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.add_argument(
        "--estimate",
        action="store_true",
        help="run nothing: time a few steps of every recipe and print how long the preset takes",
    )

    bench = sub.add_parser(
        "bench",
        help="an ad-hoc sweep: your choice of recipes on one data set",
        description="Tune each recipe's learning rate on the validation split (same budget for "
        "all), run the seeds, and write a report into --out.",
    )
    source = bench.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a data set name (see `boostprop datasets`)")
    source.add_argument(
        "--data",
        metavar="MODULE:FUNCTION",
        help="your data: FUNCTION(split) returns (x, y) for split train/val/test "
        "(see docs/your_model.md)",
    )
    bench.add_argument(
        "--recipes", required=True, help="comma-separated recipe names (see `boostprop recipes`)"
    )
    bench.add_argument(
        "--model",
        default="mlp",
        help="mlp, cnn, or your MODULE:FUNCTION(input_shape, n_classes, **kwargs) (default mlp)",
    )
    bench.add_argument(
        "--model-kwargs",
        type=_json_object,
        default=None,
        help="keyword arguments of the model as JSON, e.g. '{\"width\": 64}'",
    )
    bench.add_argument(
        "--widths", type=_int_list, default=None, help="MLP hidden widths (default 256,256)"
    )
    bench.add_argument(
        "--activation",
        default=None,
        choices=sorted(ACTIVATIONS),
        help="MLP activation (default relu)",
    )
    bench.add_argument(
        "--tune-metric",
        choices=["epochs_to_target", "final_val_metric", "final_val_acc"],
        default="epochs_to_target",
        help=(
            "how the learning rate is chosen on the validation split: epochs to target, or the "
            "final validation metric in its direction (final_val_acc: the same, older name; "
            "default epochs_to_target)"
        ),
    )
    bench.add_argument("--title", default=None, help="the comparison's title in the report")
    bench.add_argument("--epochs", type=_positive_int, default=10)
    bench.add_argument("--batch-size", type=_positive_int, default=128)
    bench.add_argument("--seeds", type=_positive_int, default=3)
    bench.add_argument(
        "--target", type=float, default=0.8, help="validation-accuracy target (default 0.8)"
    )
    bench.add_argument(
        "--lr-factors",
        type=_float_list,
        default=[1 / 3, 1.0, 3.0],
        help="multipliers of each recipe's default learning rate (default 0.333,1,3)",
    )
    bench.add_argument(
        "--train-subset", type=_positive_int, default=None, help="use this many training samples"
    )
    bench.add_argument("--out", type=Path, default=Path("results/comparison"))
    bench.add_argument("--jobs", type=_positive_int, default=1)
    _executor_args(bench)
    bench.add_argument("--no-progress", action="store_true")

    report = sub.add_parser("report", help="(re)build the report of a results folder")
    report.add_argument("out", type=Path, metavar="DIR")

    sub.add_parser("datasets", help="the data sets, whether they are available, and from where")
    sub.add_parser("recipes", help="the registered recipes")
    sub.add_parser("claims", help="the registered paper claims")
    return parser


def _cmd_estimate(args: argparse.Namespace) -> int:
    from boostprop.bench.estimate import estimate

    rows = estimate(args.preset, args.only, progress=not args.no_progress)
    by_claim: dict[str, float] = {}
    for r in rows:
        by_claim[r.claim] = by_claim.get(r.claim, 0.0) + r.seconds
    table = [["claim", "new runs", "estimated minutes (one 1-thread job)"]]
    for claim, secs in by_claim.items():
        runs = sum(r.runs for r in rows if r.claim == claim)
        table.append([claim, str(runs), f"{secs / 60:.1f}"])
    total = sum(by_claim.values())
    print(_table(table))
    print(
        f"total: {sum(r.runs for r in rows)} runs, about {total / 60:.0f} min in one 1-thread job, "
        f"{total / 60 / args.jobs:.0f} min with --jobs {args.jobs} on {args.jobs}+ cores (recipe "
        "runs only, from step times measured now; the claims' extra experiments and learning-rate "
        "grid extensions at an edge are not included)"
    )
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from boostprop.bench.executor_factory import make_executor
    from boostprop.bench.pipeline import reproduce

    if args.estimate:
        return _cmd_estimate(args)
    out = args.out or Path("reports") / args.preset
    html = reproduce(
        out,
        preset=args.preset,
        only=args.only,
        jobs=args.jobs,
        executor=make_executor(args.executor, args.jobs, args.ray_address),
        extend=args.extend,
        progress=not args.no_progress,
    )
    print(f"report: {html}")
    print(f"        {html.with_suffix('.md')}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from boostprop.bench.executor_factory import make_executor
    from boostprop.bench.pipeline import compare

    model_kwargs: dict[str, object] = dict(args.model_kwargs or {})
    mlp_flags = {"widths": args.widths, "activation": args.activation}
    given = {k: v for k, v in mlp_flags.items() if v is not None}
    if given and (args.model != "mlp" or args.model_kwargs is not None):
        raise ValueError(
            f"--widths/--activation: they configure the built-in mlp only; with --model "
            f"{args.model}{' and --model-kwargs' if args.model_kwargs is not None else ''} pass "
            "the model's arguments in --model-kwargs"
        )
    if args.model == "mlp" and args.model_kwargs is None:
        model_kwargs = {"widths": args.widths or [256, 256], **given}
    result = compare(
        [r.strip() for r in args.recipes.split(",") if r.strip()],
        data=args.data or args.dataset,
        model=args.model,
        model_kwargs=model_kwargs,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seeds=args.seeds,
        target=args.target,
        lr_factors=args.lr_factors,
        train_subset=args.train_subset,
        tune_metric=args.tune_metric,
        title=args.title,
        jobs=args.jobs,
        executor=make_executor(args.executor, args.jobs, args.ray_address),
        extend=args.extend,
        progress=not args.no_progress,
    )
    print(result.to_markdown())
    print(f"report: {result.report}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from boostprop.bench.report import build_report

    print(f"report: {build_report(args.out)}")
    return 0


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _cmd_datasets(args: argparse.Namespace) -> int:
    from boostprop.data import describe_datasets

    rows = describe_datasets()
    keys = ["name", "task", "classes", "shape", "available", "location"]
    print(_table([keys] + [[str(r.get(k, "")) for k in keys] for r in rows]))
    return 0


def _cmd_recipes(args: argparse.Namespace) -> int:
    from boostprop.bench.recipes import RECIPES

    rows = [["name", "loss", "optimizer", "default lr", "description"]]
    rows += [[r.name, r.loss, r.optimizer, f"{r.lr:g}", r.description] for r in RECIPES.values()]
    print(_table(rows))
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:
    from boostprop.bench.claims import CLAIMS

    rows = [["name", "paper", "claim"]]
    rows += [
        [c.name, c.paper, c.statement]
        for c in sorted(CLAIMS.values(), key=lambda c: c.rank)
        if c.in_reproduce
    ]
    print(_table(rows))
    return 0


COMMANDS = {
    "reproduce": _cmd_reproduce,
    "bench": _cmd_bench,
    "report": _cmd_report,
    "datasets": _cmd_datasets,
    "recipes": _cmd_recipes,
    "claims": _cmd_claims,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``boostprop`` command."""
    args = build_parser().parse_args(argv)
    if "OMP_NUM_THREADS" not in os.environ and getattr(args, "jobs", 1) > 1:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.jobs))
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"boostprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished runs are saved; run the same command again to resume.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
