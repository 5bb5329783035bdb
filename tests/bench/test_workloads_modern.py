"""The practitioners' workloads of issue 14 (ResNet, ViT, U-Net, character LM, matrix
factorisation): registered with a budget per preset, their comparisons build with the preset's
model, and one smoke-size run of each trains (one torch thread, a tiny subset)."""

from __future__ import annotations

import pytest

from boostprop._threads import one_thread_if
from boostprop.bench.presets import Preset, PresetTable
from boostprop.bench.runner import run
from boostprop.bench.workloads import WORKLOADS, Budget, Workload, get_workload
from boostprop.models import MODELS

MODERN = {
    "fashion_resnet": ("fashion_mnist", "resnet"),
    "fashion_vit": ("fashion_mnist", "vit"),
}
CLASSIFIERS = ("fashion_resnet", "fashion_vit")


@pytest.mark.parametrize("name", sorted(MODERN))
def test_workload_is_registered_on_its_data_and_model(name: str) -> None:
    w = get_workload(name)
    assert (w.dataset, w.model) == MODERN[name]
    assert w.model in MODELS
    for preset in Preset:
        b = w.budgets[preset]
        assert b.epochs >= 1 and b.seeds >= (5 if preset in (Preset.STANDARD, Preset.FULL) else 1)


@pytest.mark.parametrize("name", sorted(MODERN))
def test_standard_is_smaller_than_full(name: str) -> None:
    """Standard is sized to fit two hours on two cores; full keeps the workload's own sizes."""
    w = get_workload(name)
    std, full = w.budgets[Preset.STANDARD], w.budgets[Preset.FULL]
    assert full.train_subset is None and full.model_kwargs is None
    assert std.train_subset is not None and std.seeds >= 5


def test_budget_model_kwargs_update_the_workload_and_an_arm_replaces_both() -> None:
    w = Workload(
        "demo",
        "iris",
        "mlp",
        "demo",
        budgets=_same(Budget(1, 8, 1, (1.0,), 0.5, model_kwargs={"activation": "tanh"})),
        model_kwargs={"widths": [8], "activation": "relu"},
    )
    c = w.comparison("x", Preset.SMOKE, ("softmax-ce+adam",))
    assert dict(c.model_kwargs) == {"widths": [8], "activation": "tanh"}
    c = w.comparison("x", Preset.SMOKE, ("softmax-ce+adam",), model_kwargs={"widths": [4]})
    assert dict(c.model_kwargs) == {"widths": [4]}
    assert "demo" not in WORKLOADS  # built, not registered


def _same(b: Budget) -> PresetTable[Budget]:
    return PresetTable(smoke=b, quick=b, standard=b, full=b)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_smoke_run_trains(name: str) -> None:
    """One smoke run of the workload (its smoke model, subsets and epochs) finishes and scores
    its validation split; the model is the preset's small one."""
    w = get_workload(name)
    c = w.comparison("test", Preset.SMOKE, ("softmax-ce+adam",))
    assert dict(c.model_kwargs) == {
        **w.model_kwargs,
        **(w.budgets[Preset.SMOKE].model_kwargs or {}),
    }
    spec = c.tune_specs()[0]
    with one_thread_if(True):
        record = run(spec)
    assert record["status"] == "ok", record.get("error")
    assert record["n_train"] == w.budgets[Preset.SMOKE].train_subset
    assert len(record["history"]["val_acc"]) == c.epochs
    assert 0.0 <= record["history"]["val_acc"][-1] <= 1.0
