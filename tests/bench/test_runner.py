"""One run: determinism, divergence and error records, what is timed and recorded."""

from __future__ import annotations

import pytest

from boostprop.bench.runner import RunSpec, run

TIMING = {"train_seconds", "step_seconds", "seconds_to_target", "env", "finished_at"}


def _spec(**kw: object) -> RunSpec:
    base: dict[str, object] = dict(
        recipe="softmax-ce+adam",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [16]},
        lr=1e-2,
        seed=3,
        epochs=4,
        batch_size=16,
        target=0.6,
    )
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def _strip(rec: dict) -> dict:
    out = {k: v for k, v in rec.items() if k not in TIMING}
    out["history"] = {k: v for k, v in rec["history"].items() if k not in TIMING}
    return out


def test_same_spec_gives_identical_metrics() -> None:
    a, b = run(_spec()), run(_spec())
    assert a["status"] == "ok"
    assert _strip(a) == _strip(b)
    assert len(a["history"]["val_acc"]) == 4
    assert a["history"]["train_seconds"] == sorted(a["history"]["train_seconds"])
    assert 0 <= a["test_acc"] <= 1
    c = run(_spec(seed=4))
    assert c["history"]["train_loss"] != a["history"]["train_loss"]


def test_epochs_to_target_is_first_epoch_reaching_it() -> None:
    rec = run(_spec(target=0.05))
    assert rec["epochs_to_target"] == 1
    accs = rec["history"]["val_acc"]
    rec2 = run(_spec(target=1.0))
    expected = next((i + 1 for i, a in enumerate(rec2["history"]["val_acc"]) if a >= 1.0), None)
    assert rec2["epochs_to_target"] == expected
    assert rec["seconds_to_target"] == rec["history"]["train_seconds"][0]
    assert len(accs) == 4


def test_divergence_is_recorded_not_raised() -> None:
    rec = run(_spec(recipe="softmax-ce+sgd", lr=1e6, epochs=5))
    assert rec["status"] == "diverged"
    assert rec["final_val_acc"] is None
    assert "test_acc" not in rec


def test_error_is_recorded_not_raised() -> None:
    rec = run(_spec(model_kwargs={"widths": [16], "activation": "nope"}))
    assert rec["status"] == "error"
    assert "activation" in rec["error"]


def test_tune_phase_has_no_test_evaluation() -> None:
    assert "test_acc" not in run(_spec(phase="tune", epochs=1))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr": -1.0}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"phase": "x"}, "phase"),
        ({"target": 2.0}, "target"),
    ],
)
def test_bad_spec(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _spec(**kw)
