"""Plots of a comparison: the validation metric (accuracy in %, or bits/char, RMSE in their
units; :class:`~boostprop.bench.recipes._tasks.Metric`) vs epoch (median with an interquartile band
over seeds) and vs training seconds (every run's own line and the median interpolated onto one
time grid), time-to-target bars (median with IQR whiskers, misses marked), and performance
profiles across workloads (Dolan & Moré 2002; MLCommons AlgoPerf).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.png"
    >>> plot_curves({"a": [[0.1, 0.5], [0.2, 0.6]]}, None, p, xlabel="epoch", target=0.5)
    >>> p.exists()
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from boostprop.bench.recipes._tasks import ACCURACY, Metric
from boostprop.bench.stats import (
    TimeToTarget,
    curve_quantiles,
    interpolate_on_grid,
    performance_profile,
    performance_ratios,
)

Curves = Sequence[Sequence[float]]


def curves_figure(
    curves: Mapping[str, Curves],
    times: Mapping[str, Curves] | None,
    *,
    xlabel: str,
    ylabel: str | None = None,
    target: float | None = None,
    title: str = "",
    metric: Metric = ACCURACY,
) -> Figure:
    """Validation curves per recipe of ``metric`` (accuracy by default): a fraction (an
    accuracy in ``curves``) is drawn in %, another metric in its units; ``ylabel`` defaults to
    the metric's axis label.

    Against epochs (``times`` is ``None``): the median over seeds with an interquartile band
    (every run is measured at the same epochs). Against training seconds (``times`` gives each
    run's cumulative training seconds per epoch): every run is a thin line of its own through
    its measured points (gid ``"<recipe>/run<i>"``), and the median of the runs, linearly
    interpolated onto one time grid, is the recipe's labelled line (gid ``"<recipe>/median"``)
    where more than half of its runs were training (from their first to their last point) — runs of one recipe are measured at different
    seconds, so their points are never pooled as they are.

    Example:
        >>> fig = curves_figure({"a": [[0.1, 0.5], [0.2, 0.6]]}, {"a": [[1.0, 2.0], [1.5, 3.0]]},
        ...                     xlabel="training seconds")
        >>> [(ln.get_gid(), ln.get_xdata().tolist()) for ln in fig.axes[0].lines][:2]
        [('a/run0', [1.0, 2.0]), ('a/run1', [1.5, 3.0])]
    """
    fig, ax = new_axes()
    k = metric.scale
    for name, runs in curves.items():
        kept = [i for i, r in enumerate(runs) if len(r)]
        if not kept:
            continue
        if times is None:
            pct = [k * np.asarray(runs[i], dtype=float) for i in kept]
            s = curve_quantiles(pct)
            x, med, lo, hi = s.x, s.median, s.q25, s.q75
            thin = s.count < (len(pct) + 1) // 2  # most runs have stopped (diverged)
            med, lo, hi = (np.where(thin, np.nan, v) for v in (med, lo, hi))
            (line,) = ax.plot(x, med, label=name, lw=1.6, marker="o", ms=2.5)
            line.set_gid(f"{name}/median")
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            continue
        pairs = []
        for i in kept:
            r = np.asarray(runs[i], dtype=float)
            t = np.asarray(times[name][i], dtype=float)[: len(r)]
            pairs.append((t, k * r[: len(t)]))
        color = None
        for i, (t, y) in zip(kept, pairs, strict=True):
            (run_line,) = ax.plot(
                t, y, lw=0.8, alpha=0.45, marker="o", ms=2, color=color, label="_nolegend_"
            )
            run_line.set_gid(f"{name}/run{i}")
            color = run_line.get_color()
        starts = [t[0] for t, _ in pairs if len(t)]
        ends = [t[-1] for t, _ in pairs if len(t)]
        if not starts:
            continue
        x = np.linspace(min(starts), max(ends), 200)
        grid = np.array([interpolate_on_grid(t, y, x) for t, y in pairs])
        count = np.sum(~np.isnan(grid), axis=0)
        with np.errstate(all="ignore"):
            med = np.array(
                [np.nanmedian(col) if n else np.nan for col, n in zip(grid.T, count, strict=True)]
            )
        med[2 * count <= len(pairs)] = np.nan  # most runs not training there: no honest median
        (line,) = ax.plot(x, med, label=name, lw=1.8, color=color)
        line.set_gid(f"{name}/median")
    if target is not None:
        shown = f"{100 * target:.1f}%" if metric.fraction else f"{target:.4g} {metric.units}"
        ax.axhline(k * target, color="k", ls="--", lw=0.8, label=f"target {shown.strip()}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric.axis_label if ylabel is None else ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right" if metric.higher_is_better else "upper right")
    return fig


def plot_curves(
    curves: Mapping[str, Curves],
    times: Mapping[str, Curves] | None,
    path: Path,
    *,
    xlabel: str,
    ylabel: str | None = None,
    target: float | None = None,
    title: str = "",
    metric: Metric = ACCURACY,
) -> None:
    """Write :func:`curves_figure` of the runs to ``path``."""
    fig = curves_figure(
        curves, times, xlabel=xlabel, ylabel=ylabel, target=target, title=title, metric=metric
    )
    save_figure(fig, path)


def profile_figure(
    times: Mapping[str, Mapping[str, float]],
    recipes: Sequence[str] | None = None,
    *,
    title: str = "",
) -> Figure:
    """Performance profiles (Dolan & Moré 2002, as AlgoPerf draws them): per recipe, the % of
    workloads on which it reaches the target within τ× the fastest recipe's time, a step
    function of τ on a log axis. ``times[workload][recipe]`` are median training seconds to
    target (``inf`` for a miss); ``recipes`` (all by default) are the lines drawn, each with
    gid ``"<recipe>"`` and its steps at every ratio it attains.

    Example:
        >>> fig = profile_figure({"w1": {"a": 1.0, "b": 2.0}, "w2": {"a": 4.0, "b": 2.0}})
        >>> ln = fig.axes[0].lines[0]
        >>> ln.get_gid(), ln.get_xdata().tolist(), ln.get_ydata().tolist()
        ('a', [1.0, 2.0, 2.5], [50.0, 100.0, 100.0])
    """
    ratios = performance_ratios(times)
    finite = sorted({v for per in ratios.values() for v in per.values() if math.isfinite(v)})
    tau_max = max(2.0, 1.25 * finite[-1]) if finite else 2.0
    taus = np.unique([1.0, *finite, tau_max])
    profiles = performance_profile(times, taus)
    names = list(profiles) if recipes is None else [r for r in recipes if r in profiles]
    n_rows = math.ceil(len(names) / 2)
    fig, ax = plt.subplots(figsize=(6.4, 3.6 + 0.2 * n_rows), dpi=110)
    styles = ("-", "--", "-.", ":")
    for i, name in enumerate(names):
        n_w = sum(name in per for per in ratios.values())
        never = not any(math.isfinite(per.get(name, math.inf)) for per in ratios.values())
        label = f"{name} ({n_w} workload{'s' if n_w != 1 else ''}" + (
            ", never reached)" if never else ")"
        )
        (line,) = ax.step(
            taus,
            100 * profiles[name],
            where="post",
            label=label,
            lw=1.6,
            ls=styles[(i // 10) % len(styles)],
        )
        line.set_gid(name)
    ax.set_xscale("log")
    ax.set_xlim(1.0, tau_max)
    ax.set_ylim(-3, 103)
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(fmt)
    ax.xaxis.set_minor_formatter(fmt)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("τ: training seconds to target / the fastest recipe's (log scale)")
    ax.set_ylabel("workloads within τ× of the fastest (%)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig


def plot_performance_profile(
    times: Mapping[str, Mapping[str, float]],
    path: Path,
    recipes: Sequence[str] | None = None,
    *,
    title: str = "",
) -> None:
    """Write :func:`profile_figure` to ``path``."""
    save_figure(profile_figure(times, recipes, title=title), path)


def plot_time_to_target(
    results: Mapping[str, TimeToTarget], path: Path, *, xlabel: str, title: str = ""
) -> None:
    """Horizontal bars: median time to target per recipe, IQR whiskers, misses annotated."""
    names = list(results)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.2), dpi=110)
    med = [results[n].median for n in names]
    lo = [results[n].median - results[n].iqr[0] for n in names]
    hi = [results[n].iqr[1] - results[n].median for n in names]
    colors = [
        "#bbbbbb" if results[n].n_missed == len(results[n].values) else "#4c72b0" for n in names
    ]
    ax.barh(names, med, xerr=[lo, hi], color=colors, capsize=3)
    for i, n in enumerate(names):
        if results[n].n_missed:
            ax.text(
                med[i],
                i,
                f"  {results[n].n_missed}/{len(results[n].values)} missed",
                va="center",
                fontsize=7,
            )
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    save_figure(fig, path)


def new_axes() -> tuple[Figure, Axes]:
    """A figure of the report's standard size with one set of axes."""
    return plt.subplots(figsize=(6.4, 4.0), dpi=110)


def save_figure(fig: Figure, path: Path) -> None:
    """Lay out, write ``path`` (creating its folder) and free the figure."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
