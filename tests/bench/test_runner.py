"""One run: determinism, divergence and error records, what is timed and recorded."""

from __future__ import annotations

import pytest
import torch

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


class _SpyHook:
    """Records every call the runner makes, with what the model and parameters looked like."""

    def __init__(self, model: torch.nn.Module, scale: float = 0.5) -> None:
        self.model, self.scale, self.events = model, scale, []
        self.optimizer: torch.optim.Optimizer | None = None
        model.register_forward_pre_hook(lambda m, args: self.events.append(("forward", args[0])))

    def bind(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int) -> None:
        self.optimizer = optimizer
        self.events.append(("bind", steps_per_epoch, epochs))

    def train_inputs(self, x: torch.Tensor) -> torch.Tensor:
        self.events.append(("inputs", x))
        return x * self.scale

    def before_step(self, x: torch.Tensor) -> None:
        first = next(self.model.parameters())
        self.events.append(("before_step", x, first.detach().clone(), first.grad is not None))

    def after_step(self, x: torch.Tensor) -> None:
        self.events.append(("after_step", x, next(self.model.parameters()).detach().clone()))

    def on_epoch_end(self, train_x: torch.Tensor) -> None:
        self.events.append(("epoch_end",))

    def after_validation(self, epoch: int, val_loss: float, val_acc: float, n_val: int) -> None:
        self.events.append(("validation", epoch, val_acc, n_val))


def test_optional_hook_methods_are_called_in_the_documented_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bind once with the run's optimizer; per step: train_inputs (whose result the model sees),
    forward, before_step (gradients there, parameters not yet stepped), step, after_step;
    after_validation per epoch with that epoch's recorded validation accuracy."""
    from boostprop.bench import runner as runner_mod
    from boostprop.bench.recipes import HOOKS

    spies: list[_SpyHook] = []

    def factory(model: torch.nn.Module, scale: float = 0.5) -> _SpyHook:
        spies.append(_SpyHook(model, scale))
        return spies[-1]

    monkeypatch.setitem(HOOKS, "spy", factory)
    spec = _spec(epochs=2, batch_size=64)
    comps = {**spec.components, "hooks": [{"name": "spy", "kwargs": {"scale": 0.5}}]}
    spec = RunSpec.from_dict({**spec.to_dict(), "components": comps})
    data = runner_mod.prepare_data("iris")
    n_steps = -(-len(data.train[1]) // 64)
    rec = run(spec)
    assert rec["status"] == "ok"
    (spy,) = spies
    names = [e[0] for e in spy.events]
    assert spy.events[0] == ("bind", n_steps, 2) and spy.optimizer is not None
    assert type(spy.optimizer).__name__ == "Adam"
    # drop the evaluation forwards (those not right after a training batch's train_inputs)
    training = [
        n for i, n in enumerate(names) if i and (n != "forward" or names[i - 1] == "inputs")
    ]
    per_epoch = ["inputs", "forward", "before_step", "after_step"] * n_steps + ["epoch_end"]
    assert training == [*per_epoch, "validation", *per_epoch, "validation"]
    steps = [e for e in spy.events if e[0] in ("inputs", "forward", "before_step", "after_step")]
    for i in range(0, 4 * n_steps, 4):
        (_, x_in), (_, x_model), before, after = steps[i : i + 4]
        torch.testing.assert_close(x_model, x_in * 0.5)  # the model saw the hook's inputs
        assert before[1] is x_model and after[1] is x_model
        assert before[3]  # gradients exist before the step
        assert not torch.equal(before[2], after[2])  # and the step happens between the two
    validations = [e for e in spy.events if e[0] == "validation"]
    assert [v[1] for v in validations] == [1, 2]
    assert [v[2] for v in validations] == rec["history"]["val_acc"]
    assert {v[3] for v in validations} == {len(data.val[1])}
