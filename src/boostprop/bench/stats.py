"""Statistics of runs: curve medians and spreads, time-to-target, bootstrap intervals, Welch's test.

Conventions (MLCommons AlgoPerf, DeepOBS): report medians and interquartile ranges over seeds;
a run that never reaches the target is counted at the budget and flagged as a miss; effect sizes
come with 95% bootstrap intervals; means are compared with Welch's unequal-variance t-test.

Example:
    >>> welch_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]).df
    4.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class CurveSummary:
    """Pointwise median and quartiles of several curves (NaN where no curve has a value)."""

    x: np.ndarray
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    count: np.ndarray


def curve_quantiles(curves: Sequence[ArrayLike], x: ArrayLike | None = None) -> CurveSummary:
    """Median and interquartile band of curves of possibly different lengths.

    Shorter curves (diverged runs) are padded with NaN and ignored where absent.

    Example:
        >>> s = curve_quantiles([[0.1, 0.5], [0.3, 0.7], [0.2]])
        >>> s.median.tolist()
        [0.2, 0.6]
    """
    if not curves:
        raise ValueError("curves: expected at least one curve")
    length = max(len(c) for c in curves)
    grid = np.full((len(curves), length), np.nan)
    for i, c in enumerate(curves):
        grid[i, : len(c)] = np.asarray(c, dtype=float)
    count = np.sum(~np.isnan(grid), axis=0)
    with np.errstate(all="ignore"):
        q25, med, q75 = (
            np.array(
                [np.nanquantile(col, q) if np.any(~np.isnan(col)) else np.nan for col in grid.T]
            )
            for q in (0.25, 0.5, 0.75)
        )
    xs = np.arange(1, length + 1, dtype=float) if x is None else np.asarray(x, dtype=float)
    return CurveSummary(xs, med, q25, q75, count)


def resample_on_grid(times: ArrayLike, values: ArrayLike, grid: ArrayLike) -> np.ndarray:
    """Step-interpolate a curve measured at ``times`` onto ``grid`` (NaN before the first point
    and after the last, so a curve does not pretend to exist beyond its run)."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    g = np.asarray(grid, dtype=float)
    out = np.full(g.shape, np.nan)
    if len(t) == 0:
        return out
    idx = np.searchsorted(t, g, side="right") - 1
    ok = (idx >= 0) & (g <= t[-1] * (1 + 1e-12))
    out[ok] = v[idx[ok]]
    return out


def interpolate_on_grid(times: ArrayLike, values: ArrayLike, grid: ArrayLike) -> np.ndarray:
    """Linearly interpolate a curve measured at increasing ``times`` onto ``grid``; NaN outside
    ``[times[0], times[-1]]`` (a run's curve exists only over the time it trained).

    Example:
        >>> interpolate_on_grid([1.0, 3.0], [10.0, 30.0], [0.0, 1.0, 2.0, 3.0, 4.0]).tolist()
        [nan, 10.0, 20.0, 30.0, nan]
    """
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    g = np.asarray(grid, dtype=float)
    if t.shape != v.shape:
        raise ValueError(f"times, values: expected the same length, got {t.shape} and {v.shape}")
    out = np.full(g.shape, np.nan)
    if len(t) == 0:
        return out
    ok = (g >= t[0]) & (g <= t[-1])
    out[ok] = np.interp(g[ok], t, v)
    return out


def performance_ratios(
    times: Mapping[str, Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """Dolan–Moré performance ratios ρ_{r,w} = t_{r,w} / min_r' t_{r',w} of
    ``times[workload][recipe]`` (``inf`` where a recipe missed the target; every ratio of a
    workload that no recipe solved is ``inf``).

    Example:
        >>> performance_ratios({"w": {"a": 2.0, "b": 3.0, "c": math.inf}})
        {'w': {'a': 1.0, 'b': 1.5, 'c': inf}}
    """
    out: dict[str, dict[str, float]] = {}
    for w, per_recipe in times.items():
        for r, t in per_recipe.items():
            if math.isnan(t) or t <= 0:
                raise ValueError(
                    f"times: expected positive times or inf, got {t!r} for {r!r} on {w!r}"
                )
        best = min(per_recipe.values(), default=math.inf)
        out[w] = {r: (t / best if math.isfinite(best) else math.inf) for r, t in per_recipe.items()}
    return out


def performance_profile(
    times: Mapping[str, Mapping[str, float]], taus: ArrayLike
) -> dict[str, np.ndarray]:
    """AlgoPerf-style performance profiles (Dolan & Moré 2002): for each recipe, the fraction
    of the workloads it ran on whose ratio :func:`performance_ratios` is ≤ τ, for each τ of
    ``taus``. The fastest recipe of a workload sets its reference time, over every recipe
    ``times[workload]`` names.

    Example:
        >>> p = performance_profile({"w1": {"a": 1.0, "b": 2.0},
        ...                          "w2": {"a": 4.0, "b": 2.0}}, [1.0, 2.0])
        >>> {r: v.tolist() for r, v in p.items()}
        {'a': [0.5, 1.0], 'b': [0.5, 1.0]}
    """
    tau = np.asarray(taus, dtype=float)
    per_recipe: dict[str, list[float]] = {}
    for ratios in performance_ratios(times).values():
        for r, rho in ratios.items():
            per_recipe.setdefault(r, []).append(rho)
    return {
        r: (np.asarray(rhos)[:, None] <= tau[None, :]).mean(axis=0)
        for r, rhos in per_recipe.items()
    }


@dataclass(frozen=True)
class TimeToTarget:
    """Per-run time to target, with misses counted at the budget and flagged."""

    values: np.ndarray
    missed: np.ndarray

    @property
    def n_missed(self) -> int:
        """Runs that did not reach the target (counted at the budget)."""
        return int(self.missed.sum())

    @property
    def median(self) -> float:
        """Median over runs, misses at the budget (NaN without runs)."""
        return float(np.median(self.values)) if len(self.values) else math.nan

    @property
    def iqr(self) -> tuple[float, float]:
        """The 25% and 75% quantiles over runs (NaNs without runs)."""
        if not len(self.values):
            return (math.nan, math.nan)
        return (float(np.quantile(self.values, 0.25)), float(np.quantile(self.values, 0.75)))


def time_to_target(
    reached: Sequence[float | None], budget: float | Sequence[float]
) -> TimeToTarget:
    """Collect times to target; ``None`` (never reached) counts as ``budget`` and is flagged.

    ``budget`` is one number (epochs) or one per run (seconds actually trained).

    Example:
        >>> ttt = time_to_target([3, None, 5], budget=10)
        >>> ttt.values.tolist(), ttt.n_missed, ttt.median
        ([3.0, 10.0, 5.0], 1, 5.0)
    """
    budgets = np.broadcast_to(np.asarray(budget, dtype=float), (len(reached),))
    missed = np.array([r is None for r in reached], dtype=bool)
    values = np.array(
        [b if r is None else float(r) for r, b in zip(reached, budgets, strict=True)], dtype=float
    )
    return TimeToTarget(values, missed)


def _rowwise(statistic: Callable[..., float], rows: np.ndarray) -> np.ndarray:
    """``statistic`` of every row: vectorised for numpy reductions that take ``axis``."""
    if statistic in (np.mean, np.median, np.nanmean, np.nanmedian):
        return np.asarray(statistic(rows, axis=1), dtype=float)
    return np.array([statistic(row) for row in rows], dtype=float)


def bootstrap_ci(
    samples: ArrayLike,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    confidence: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``samples``.

    Example:
        >>> bootstrap_ci([1.0, 1.0, 1.0])
        (1.0, 1.0)
    """
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("samples: expected at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boots = _rowwise(statistic, x[idx])
    lo, hi = np.quantile(boots, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def _bootstrap_pair(
    a: ArrayLike,
    b: ArrayLike,
    statistic: Callable[[np.ndarray], float],
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
    confidence: float,
    n_boot: int,
    seed: int,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``combine(statistic(a*), statistic(b*))`` over
    independent resamples a*, b* of the two samples."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.size == 0 or xb.size == 0:
        raise ValueError("a, b: expected at least one value in each sample")
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, xa.size, size=(n_boot, xa.size))
    ib = rng.integers(0, xb.size, size=(n_boot, xb.size))
    values = combine(_rowwise(statistic, xa[ia]), _rowwise(statistic, xb[ib]))
    lo, hi = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def bootstrap_diff_ci(
    a: ArrayLike,
    b: ArrayLike,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    confidence: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(a) − statistic(b)`` (independent samples)."""
    return _bootstrap_pair(a, b, statistic, np.subtract, confidence, n_boot, seed)


def bootstrap_ratio_ci(
    a: ArrayLike,
    b: ArrayLike,
    statistic: Callable[[np.ndarray], float] = np.median,
    *,
    confidence: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(a) / statistic(b)`` (independent samples of
    positive values, e.g. epochs to target)."""
    if np.any(np.asarray(b, dtype=float) <= 0):
        raise ValueError("b: expected positive values (the ratio's denominator)")
    return _bootstrap_pair(a, b, statistic, np.divide, confidence, n_boot, seed)


@dataclass(frozen=True)
class WelchResult:
    """Welch's t statistic, Welch–Satterthwaite degrees of freedom and the p-value."""

    t: float
    df: float
    p: float


def welch_ttest(a: ArrayLike, b: ArrayLike, *, alternative: str = "two-sided") -> WelchResult:
    """Welch's unequal-variance t-test of mean(a) vs mean(b).

    ``alternative``: ``"two-sided"``, ``"less"`` (mean(a) < mean(b)) or ``"greater"``.
    With both samples constant the test is degenerate: t = ±inf (p = 0) if the means differ,
    t = 0 (p = 1) if they are equal.

    Example:
        >>> r = welch_ttest([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
        >>> round(r.t, 4), round(r.p, 4)
        (-3.6742, 0.0213)
    """
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(
            f"alternative: expected 'two-sided', 'less' or 'greater', got {alternative!r}"
        )
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.size < 2 or xb.size < 2:
        raise ValueError("a, b: Welch's test needs at least two values in each sample")
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    diff = xa.mean() - xb.mean()
    se2 = va + vb
    if se2 == 0:
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        df = float(xa.size + xb.size - 2)
    else:
        t = diff / math.sqrt(se2)
        df = se2**2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    if alternative == "two-sided":
        p = 2 * _sps.t.sf(abs(t), df)
    elif alternative == "less":
        p = _sps.t.cdf(t, df)
    else:
        p = _sps.t.sf(t, df)
    return WelchResult(float(t), float(df), float(min(1.0, p)))
