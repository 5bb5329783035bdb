"""One run: determinism, divergence and error records, what is timed and recorded."""

from __future__ import annotations

import pytest

from boostprop.bench.runner import RunSpec, make_spec, run

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
    return make_spec(**base)  # type: ignore[arg-type]


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


def test_spec_without_resolved_components_is_refused() -> None:
    with pytest.raises(ValueError, match="components"):
        RunSpec(recipe="x", components={}, dataset="iris", lr=0.1, seed=0, epochs=1, batch_size=8)


def test_run_is_built_from_its_components_not_the_registry() -> None:
    """A spec whose components differ from the recipe of the same name trains what the spec
    says: the name is a label."""
    a = _spec()
    comps = {
        **a.components,
        "model": {"name": "mlp", "kwargs": {**a.components["model"]["kwargs"], "widths": [4]}},
    }
    b = RunSpec.from_dict({**a.to_dict(), "components": comps})
    assert b.key() != a.key()
    ra, rb = run(a), run(b)
    assert ra["status"] == rb["status"] == "ok"
    assert ra["history"]["train_loss"] != rb["history"]["train_loss"]
    assert rb["components"]["model"]["kwargs"]["widths"] == [4]


def test_key_ignores_labels_and_covers_content() -> None:
    a = _spec()
    renamed = RunSpec.from_dict({**a.to_dict(), "recipe": "another name", "claim": "c"})
    assert renamed.key() == a.key()
    for change in (
        {"lr": 2e-2},
        {"seed": 4},
        {"epochs": 5},
        {"batch_size": 8},
        {"train_subset": 50},
        {"target": 0.7},
        {"phase": "tune"},
        {"code_version": a.code_version + 1},
    ):
        assert RunSpec.from_dict({**a.to_dict(), **change}).key() != a.key(), change
    loss = {**a.components["loss"], "kwargs": {"label_smoothing": 0.1}}
    changed = RunSpec.from_dict({**a.to_dict(), "components": {**a.components, "loss": loss}})
    assert changed.key() != a.key()
