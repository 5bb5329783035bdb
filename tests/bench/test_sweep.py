"""Sweeps: learning-rate selection, same budget per recipe, and kill-and-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from boostprop.bench.plan import Comparison
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import select_learning_rates
from boostprop.cli import main

TIMING = {"train_seconds", "step_seconds", "seconds_to_target", "env", "finished_at"}


def _comparison(**kw: object) -> Comparison:
    base: dict[str, object] = dict(
        claim="t",
        id="c",
        title="c",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+sgd", "softmax-ce+adam"),
        target=0.9,
        epochs=5,
        batch_size=16,
        seeds=2,
        lr_factors=(0.5, 1.0, 2.0),
    )
    base.update(kw)
    return Comparison(**base)  # type: ignore[arg-type]


def test_same_tuning_budget_for_every_recipe() -> None:
    c = _comparison()
    specs = c.tune_specs()
    per_recipe = {r: [s for s in specs if s.recipe == r] for r in c.recipes}
    assert {len(v) for v in per_recipe.values()} == {3}
    assert all(s.seed == 0 and s.phase == "tune" and s.epochs == 5 for s in specs)
    finals = c.final_specs({"softmax-ce+sgd": 0.1, "softmax-ce+adam": 0.002})
    assert sorted({s.seed for s in finals}) == [1, 2]  # never the tuning seed


def test_select_learning_rates_by_epochs_then_accuracy() -> None:
    c = _comparison(recipes=("softmax-ce+adam",))
    lrs = c.lr_grid("softmax-ce+adam")
    outcome = {lrs[0]: ("ok", 4, 0.95), lrs[1]: ("ok", 2, 0.91), lrs[2]: ("ok", 2, 0.93)}
    recs = [
        {
            "key": s.key(),
            "status": outcome[s.lr][0],
            "epochs_to_target": outcome[s.lr][1],
            "final_val_acc": outcome[s.lr][2],
        }
        for s in c.tune_specs()
    ]
    assert select_learning_rates(c, recs) == {"softmax-ce+adam": lrs[2]}
    recs[2]["status"] = "diverged"
    assert select_learning_rates(c, recs) == {"softmax-ce+adam": lrs[1]}
    c2 = _comparison(recipes=("softmax-ce+adam",), tune_metric="final_val_acc")
    recs[2]["status"] = "ok"
    assert select_learning_rates(c2, recs) == {"softmax-ce+adam": lrs[0]}
    with pytest.raises(RuntimeError, match="not finished"):
        select_learning_rates(c, recs[:2])


def test_bad_comparison_arguments() -> None:
    with pytest.raises(ValueError, match="recipe"):
        _comparison(recipes=("no-such-recipe",))
    with pytest.raises(ValueError, match="lr_factors"):
        _comparison(lr_factors=(0.0,))


BENCH = [
    sys.executable,
    "-m",
    "boostprop.cli",
    "bench",
    "--dataset",
    "digits",
    "--recipes",
    "softmax-ce+sgd,softmax-ce+adam",
    "--widths",
    "32",
    "--epochs",
    "3",
    "--batch-size",
    "8",
    "--seeds",
    "3",
    "--lr-factors",
    "0.5,1,2",
    "--target",
    "0.9",
    "--no-progress",
]
N_RUNS = 2 * 3 + 2 * 3


def _comparable(path: Path) -> dict[str, dict]:
    out = {}
    for r in ResultsStore(path).records():
        r = {k: v for k, v in r.items() if k not in TIMING}
        r["history"] = {k: v for k, v in r["history"].items() if k not in TIMING}
        out[r["key"]] = r
    return out


def test_sweep_killed_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen(
        [*BENCH, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    runs = killed / "runs.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if runs.exists() and runs.read_text().count("\n") >= 3:
            break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.005)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(_comparable(runs))
    assert 3 <= n_before < N_RUNS
    subprocess.run([*BENCH, "--out", str(killed)], env=env, check=True, capture_output=True)
    # uninterrupted, in-process; one torch thread (tests/conftest.py) as in the subprocesses, so
    # float sums are in the same order
    assert main([*BENCH[3:], "--out", str(clean)]) == 0
    resumed, reference = _comparable(runs), _comparable(clean / "runs.jsonl")
    assert len(resumed) == N_RUNS
    lines = [ln for ln in runs.read_text().splitlines() if ln]
    assert len(lines) == N_RUNS  # nothing redone, nothing duplicated
    assert resumed == reference
