"""`boostprop reproduce --estimate`: planned runs counted once, costs from timed steps."""

from __future__ import annotations

import math

import pytest

from boostprop.bench.estimate import estimate, time_steps
from boostprop.bench.recipes.baselines import ADAM, SGD
from boostprop.bench.runner import make_spec


def test_estimate_counts_every_planned_run_once() -> None:
    rows = estimate("smoke", ["baselines"], steps=2, progress=False)
    # 2 data sets × 2 recipes, each 1 tuning lr + 2 seeds, 2 epochs of ⌈256 / 64⌉ steps
    assert sorted((r.comparison, r.recipe) for r in rows) == [
        ("fashion_mlp", ADAM),
        ("fashion_mlp", SGD),
        ("mnist1d_mlp", ADAM),
        ("mnist1d_mlp", SGD),
    ]
    for r in rows:
        assert (r.runs, r.epochs, r.steps_per_epoch) == (3, 2, 4)
        assert r.step_seconds > 0 and r.eval_seconds > 0
        per_epoch = r.steps_per_epoch * r.step_seconds + r.eval_seconds
        assert math.isclose(r.seconds, r.runs * r.epochs * per_epoch)
    # baselines' runs are shared with Øland's softmax-CE recipes: counted where they first appear
    both = estimate("smoke", ["baselines", "oland2017"], steps=2, progress=False)
    oland = {(r.comparison, r.recipe) for r in both if r.claim == "oland2017"}
    assert ("fashion_mlp_sgd", SGD) not in oland and ("fashion_mlp_sgd", "expboost+sgd") in oland


def test_time_steps_rejects_bad_counts() -> None:
    spec = make_spec(ADAM, "iris", "mlp", lr=1e-3, seed=0, epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="steps"):
        time_steps(spec, steps=0)
