"""Performance profiles (Dolan & Moré 2002, AlgoPerf) against hand-computed ones, and the plots
of the report drawn from the data they are given: every run's validation curve against its
training seconds, and the profile's step lines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boostprop.bench.plots import curves_figure, profile_figure
from boostprop.bench.stats import performance_profile, performance_ratios

INF = math.inf
# three workloads, three recipes; t = median training seconds to target (inf: missed)
TIMES = {
    "w1": {"a": 2.0, "b": 4.0, "c": 3.0},
    "w2": {"a": 6.0, "b": 3.0, "c": INF},
    "w3": {"a": INF, "b": INF, "c": INF},
}


def test_ratios_by_hand() -> None:
    r = performance_ratios(TIMES)
    assert r["w1"] == {"a": 1.0, "b": 2.0, "c": 1.5}
    assert r["w2"] == {"a": 2.0, "b": 1.0, "c": INF}
    assert r["w3"] == {"a": INF, "b": INF, "c": INF}  # nobody reached it: no recipe counts


def test_profile_by_hand() -> None:
    taus = [1.0, 1.5, 2.0, 10.0]
    p = performance_profile(TIMES, taus)
    # a: ratios 1, 2, inf -> ≤1: 1/3, ≤1.5: 1/3, ≤2: 2/3, ≤10: 2/3
    assert p["a"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    # b: 2, 1, inf -> 1/3, 1/3, 2/3, 2/3; c: 1.5, inf, inf -> 0, 1/3, 1/3, 1/3
    assert p["b"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert p["c"].tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3])


def test_profile_of_a_recipe_counts_the_workloads_it_ran_on() -> None:
    # d runs only on w1, where a is fastest: d's ratio 3 on its one workload
    p = performance_profile({"w1": {"a": 1.0, "d": 3.0}, "w2": {"a": 5.0}}, [1.0, 3.0])
    assert p["d"].tolist() == [0.0, 1.0]
    assert p["a"].tolist() == [1.0, 1.0]


def test_profile_rejects_times_that_are_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        performance_ratios({"w": {"a": 0.0}})
    with pytest.raises(ValueError, match="positive"):
        performance_ratios({"w": {"a": math.nan}})


def test_profile_figure_draws_the_hand_computed_steps() -> None:
    fig = profile_figure(TIMES, ["a", "c"], title="t")
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.lines}
    assert sorted(lines) == ["a", "c"]
    # τ at every finite ratio, and at 1.25× the largest (2 at least): 1, 1.5, 2, 2.5
    assert lines["a"].get_xdata().tolist() == [1.0, 1.5, 2.0, 2.5]
    assert lines["a"].get_ydata().tolist() == pytest.approx([100 / 3, 100 / 3, 200 / 3, 200 / 3])
    assert lines["c"].get_ydata().tolist() == pytest.approx([0, 100 / 3, 100 / 3, 100 / 3])
    assert lines["a"].get_drawstyle() == "steps-post"
    assert ax.get_xscale() == "log"
    assert "%" in ax.get_ylabel() and "training seconds" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a (3 workloads)", "c (3 workloads)"]


def test_profile_figure_says_a_recipe_never_reached_the_target() -> None:
    fig = profile_figure({"w": {"a": 1.0, "b": INF}})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["a (1 workload)", "b (1 workload, never reached)"]


def test_curves_vs_seconds_draw_every_run_and_the_median_on_one_grid() -> None:
    # two runs of one recipe measured at different seconds (the cause of the old fragments)
    acc = {"r": [[0.2, 0.4, 0.6], [0.3, 0.5, 0.7]]}
    secs = {"r": [[1.0, 2.0, 3.0], [1.5, 3.5, 5.5]]}
    fig = curves_figure(acc, secs, xlabel="training seconds", target=0.5)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid()}
    assert sorted(lines) == ["r/median", "r/run0", "r/run1"]
    for i in (0, 1):  # each run's own line is its measured points, accuracy in %
        assert lines[f"r/run{i}"].get_xdata().tolist() == secs["r"][i]
        assert lines[f"r/run{i}"].get_ydata().tolist() == pytest.approx(
            [100 * a for a in acc["r"][i]]
        )
    med = lines["r/median"]
    x, y = np.asarray(med.get_xdata()), np.asarray(med.get_ydata())
    assert x[0] == 1.0 and x[-1] == 5.5 and len(x) == 200
    both = (x >= 1.5) & (x <= 3.0)  # the median exists only where both runs trained
    assert np.isfinite(y[both]).all() and np.isnan(y[~both]).all()
    # by hand at t = 2: run0 40 %, run1 30 + 20·(0.5/2) = 35 % -> median 37.5 %
    assert float(np.interp(2.0, x[both], y[both])) == pytest.approx(37.5, abs=0.2)
    assert ax.get_ylabel() == "validation accuracy (%)"
    assert ax.get_xlabel() == "training seconds"
    target = [ln for ln in ax.lines if ln.get_label() == "target 50.0%"]
    assert len(target) == 1 and list(target[0].get_ydata()) == [50.0, 50.0]


def test_curves_vs_epochs_are_medians_in_percent() -> None:
    fig = curves_figure({"r": [[0.1, 0.5], [0.3, 0.7], []]}, None, xlabel="epoch")
    (med,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "r/median"]
    assert med.get_xdata().tolist() == [1.0, 2.0]
    assert med.get_ydata().tolist() == pytest.approx([20.0, 60.0])
