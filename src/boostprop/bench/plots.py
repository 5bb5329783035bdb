"""Plots of a comparison: validation accuracy vs epoch and vs seconds (median with an
interquartile band over seeds), and time-to-target bars (median with IQR whiskers, misses marked).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.png"
    >>> plot_curves({"a": [[0.1, 0.5], [0.2, 0.6]]}, None, p, xlabel="epoch", target=0.5)
    >>> p.exists()
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from boostprop.bench.stats import TimeToTarget, curve_quantiles, resample_on_grid

Curves = Sequence[Sequence[float]]


def plot_curves(
    curves: Mapping[str, Curves],
    times: Mapping[str, Curves] | None,
    path: Path,
    *,
    xlabel: str,
    ylabel: str = "validation accuracy",
    target: float | None = None,
    title: str = "",
) -> None:
    """Median curve with an interquartile band per recipe; x is epochs, or seconds when
    ``times`` gives each run's cumulative training seconds."""
    fig, ax = new_axes()
    for name, runs in curves.items():
        runs = [r for r in runs if len(r)]
        if not runs:
            continue
        if times is None:
            s = curve_quantiles(runs)
            x, med, lo, hi = s.x, s.median, s.q25, s.q75
            thin = s.count < (len(runs) + 1) // 2  # most runs have stopped (diverged)
            med, lo, hi = (np.where(thin, np.nan, v) for v in (med, lo, hi))
        else:
            run_times = [
                t[: len(r)] for t, r in zip(times[name], curves[name], strict=True) if len(r)
            ]
            t_max = max(t[-1] for t in run_times)
            x = np.linspace(0, t_max, 200)
            grid = [resample_on_grid(t, r, x) for t, r in zip(run_times, runs, strict=True)]
            s = curve_quantiles(grid, x)
            thin = s.count < (len(runs) + 1) // 2  # most runs have ended: no honest median
            med, lo, hi = (np.where(thin, np.nan, v) for v in (s.median, s.q25, s.q75))
        (line,) = ax.plot(x, med, label=name, lw=1.6)
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=0.8, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)


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
