"""Statistics against hand-computed values and scipy's independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from boostprop.bench.stats import (
    bootstrap_ci,
    bootstrap_diff_ci,
    curve_quantiles,
    interpolate_on_grid,
    resample_on_grid,
    time_to_target,
    welch_ttest,
)


def test_welch_matches_hand_computation() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    # by hand: mean a = 2.5, var a = 5/3, mean b = 4, var b = 4
    va, vb = (5 / 3) / 4, 4 / 3
    t = (2.5 - 4) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    r = welch_ttest(a, b)
    assert r.t == pytest.approx(t, rel=1e-12)
    assert r.df == pytest.approx(df, rel=1e-12)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert r.p == pytest.approx(ref.pvalue, rel=1e-10)


def test_welch_one_sided_and_degenerate() -> None:
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    assert welch_ttest(a, b, alternative="less").p == pytest.approx(
        sps.ttest_ind(a, b, equal_var=False, alternative="less").pvalue
    )
    assert welch_ttest([1.0, 1.0], [1.0, 1.0]).p == 1.0
    assert welch_ttest([1.0, 1.0], [2.0, 2.0]).p == 0.0
    with pytest.raises(ValueError, match="at least two"):
        welch_ttest([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="alternative"):
        welch_ttest(a, b, alternative="bigger")


def test_curve_quantiles_hand_values() -> None:
    s = curve_quantiles([[1.0, 2.0, 3.0], [3.0, 4.0], [2.0, 6.0, 5.0]])
    assert s.median.tolist() == [2.0, 4.0, 4.0]
    assert s.q25.tolist() == [1.5, 3.0, 3.5]  # numpy's linear interpolation of [1,2,3] etc.
    assert s.count.tolist() == [3, 3, 2]
    assert s.x.tolist() == [1.0, 2.0, 3.0]


def test_time_to_target_counts_misses_at_budget() -> None:
    ttt = time_to_target([2, None, 4, None], budget=10)
    assert ttt.values.tolist() == [2.0, 10.0, 4.0, 10.0]
    assert ttt.missed.tolist() == [False, True, False, True]
    assert ttt.n_missed == 2
    assert ttt.median == 7.0
    per_run = time_to_target([1.5, None], budget=[9.0, 7.0])
    assert per_run.values.tolist() == [1.5, 7.0]


def test_resample_on_grid() -> None:
    out = resample_on_grid([1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [0.5, 1.0, 2.5, 3.0, 4.0])
    assert np.isnan(out[0]) and np.isnan(out[4])
    assert out[1:4].tolist() == [10.0, 20.0, 30.0]


def test_bootstrap_intervals() -> None:
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 2.0, size=400)
    lo, hi = bootstrap_ci(x)
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)  # normal-theory half-width
    assert lo == pytest.approx(x.mean() - half, abs=0.05)
    assert hi == pytest.approx(x.mean() + half, abs=0.05)
    dlo, dhi = bootstrap_diff_ci(x + 1.0, x)
    assert dlo < 1.0 < dhi
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(x, confidence=1.5)


def test_interpolate_on_grid_is_linear_inside_the_run_only() -> None:
    out = interpolate_on_grid([1.0, 2.0, 4.0], [10.0, 20.0, 40.0], [0.5, 1.0, 1.5, 3.0, 4.0, 5.0])
    assert np.isnan(out[0]) and np.isnan(out[5])
    assert out[1:5].tolist() == [10.0, 15.0, 30.0, 40.0]  # by hand: 10 + 0.5·10, 20 + 0.5·20
    assert np.isnan(interpolate_on_grid([], [], [1.0])).all()
    with pytest.raises(ValueError, match="same length"):
        interpolate_on_grid([1.0, 2.0], [1.0], [1.0])
