"""The practitioners' workloads of issue 14 (ResNet, ViT, U-Net, character LM, matrix
factorisation): registered with a budget per preset, their comparisons build with the preset's
model, and one smoke-size run of each trains (one torch thread, a tiny subset)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from boostprop._threads import one_thread_if
from boostprop.bench.presets import Preset, PresetTable
from boostprop.bench.recipes import dataset_info
from boostprop.bench.runner import run
from boostprop.bench.summary import ComparisonSummary, summarize_recipe
from boostprop.bench.workloads import WORKLOADS, Budget, Workload, get_workload
from boostprop.models import MODELS

MODERN = {
    "fashion_resnet": ("fashion_mnist", "resnet"),
    "fashion_vit": ("fashion_mnist", "vit"),
    "fashion_unet": ("fashion_segmentation", "unet"),
    "shakespeare_lm": ("text_shakespeare", "char_transformer"),
    "matrix_completion": ("matrix_completion", "matrix_factorization"),
}
# workload -> (a recipe that applies to its task, the metric its runs are judged by)
SMOKE_RUNS = {
    "fashion_resnet": ("softmax-ce+adam", "accuracy", True),
    "fashion_vit": ("softmax-ce+sgd", "accuracy", True),
    "fashion_unet": ("neuronboost", "pixel_accuracy", True),
    "shakespeare_lm": ("softmax-ce+adam", "bits_per_char", False),
    "matrix_completion": ("mse+neuronboost", "rmse", False),
}


@pytest.mark.parametrize("name", sorted(MODERN))
def test_workload_is_registered_on_its_data_and_model(name: str) -> None:
    w = get_workload(name)
    assert (w.dataset, w.model) == MODERN[name]
    assert w.model in MODELS
    for preset in Preset:
        b = w.budgets[preset]
        assert b.epochs >= 1 and b.seeds >= (5 if preset in (Preset.STANDARD, Preset.FULL) else 1)


@pytest.mark.parametrize("name", sorted(set(MODERN) - {"matrix_completion"}))
def test_standard_is_smaller_than_full(name: str) -> None:
    """Standard is sized to fit two hours on two cores; full keeps the workload's own sizes
    (matrix completion is cheap enough to train on all its entries in every preset but smoke)."""
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


@pytest.mark.parametrize("name", sorted(MODERN))
def test_subsets_fit_the_data_set_splits(name: str) -> None:
    """Every preset's training and evaluation subsets exist in the data set's splits (a subset
    larger than its split would silently train on fewer samples than the budget says)."""
    w = get_workload(name)
    info = dataset_info(w.dataset)
    n_train, n_val = len(info.load("train")[1]), len(info.load("val")[1])
    for preset in Preset:
        b = w.budgets[preset]
        assert b.train_subset is None or b.train_subset <= n_train, (preset, n_train)
        assert b.eval_subset is None or b.eval_subset <= n_val, (preset, n_val)


@pytest.mark.parametrize("name", sorted(SMOKE_RUNS))
def test_smoke_run_trains(name: str) -> None:
    """One smoke run of the workload (its smoke model, subsets and epochs) finishes and is
    judged by its task's metric in its direction; the model is the preset's small one."""
    recipe, metric, higher_is_better = SMOKE_RUNS[name]
    w = get_workload(name)
    c = w.comparison("test", Preset.SMOKE, (recipe,))
    assert dict(c.model_kwargs) == {
        **w.model_kwargs,
        **(w.budgets[Preset.SMOKE].model_kwargs or {}),
    }
    spec = c.tune_specs()[0]
    with one_thread_if(True):
        record = run(spec)
    assert record["status"] == "ok", record.get("error")
    assert record["metric"] == {"name": metric, "higher_is_better": higher_is_better}
    assert record["n_train"] == w.budgets[Preset.SMOKE].train_subset
    values = record["history"]["val_metric"]
    assert len(values) == c.epochs and all(math.isfinite(v) for v in values)
    if higher_is_better:
        assert all(0.0 <= v <= 1.0 for v in values)
    else:  # bits/char and RMSE: positive, and an untrained LM is near log2(256) = 8 bits
        assert all(v > 0 for v in values)


def test_munoz_runs_the_papers_workload_classes_in_standard() -> None:
    """Munoz's standard preset compares NeuronBoost on the paper's classes (an MLP, a ViT, a
    U-Net, matrix factorisation), the regression with the mean-squared-error recipes."""
    from boostprop.bench.claims import get_claim

    comps = {c.id: c for c in get_claim("munoz2025").comparisons(Preset.STANDARD)}
    assert {"fashion_mlp800tanh", "fashion_vit", "fashion_unet", "matrix_completion"} <= set(comps)
    assert set(comps["matrix_completion"].recipes) == {
        "mse+neuronboost",
        "mse+neuronboost-diag",
        "mse+adam",
        "mse+sgd",
    }
    assert "neuronboost" in comps["fashion_unet"].recipes
    assert comps["fashion_vit"].model_kwargs["width"] == 64  # the standard ViT
    full = {c.id for c in get_claim("munoz2025").comparisons(Preset.FULL)}
    assert set(comps) <= full and "shakespeare_lm" in full


def _mf_summary(nb_seconds: float, adam_seconds: float) -> ComparisonSummary:
    """A matrix-completion comparison of Munoz's standard preset whose NeuronBoost and Adam runs
    (5 seeds each, mean squared error) reached the target after the given training seconds."""
    from boostprop.bench.claims import get_claim

    c = next(
        x
        for x in get_claim("munoz2025").comparisons(Preset.STANDARD)
        if x.id == "matrix_completion"
    )

    def runs(seconds: float) -> list[dict[str, object]]:
        history = {"train_seconds": [seconds * (e + 1) / 4 for e in range(c.epochs)]}
        return [
            {"status": "ok", "epochs_to_target": 4, "seconds_to_target": seconds,
             "step_seconds": 0.001, "epochs": c.epochs, "history": history}
            for _ in range(5)
        ]  # fmt: skip

    times = {"mse+neuronboost": nb_seconds, "mse+adam": adam_seconds}
    return ComparisonSummary(
        c,
        {r: summarize_recipe(r, runs(times.get(r, 9.0)), budget=c.epochs) for r in c.recipes},
    )


@pytest.mark.parametrize(
    ("nb", "adam", "status"), [(1.0, 2.0, "holds"), (3.0, 2.0, "not reproduced")]
)
def test_munoz_judges_the_regression_with_its_mse_recipes(
    nb: float, adam: float, status: str, tmp_path: Path
) -> None:
    """On matrix completion the claim's rule compares mse+neuronboost with mse+adam (the
    softmax recipes are not run there)."""
    from boostprop.bench.claims.munoz2025 import judge

    verdict = judge({"matrix_completion": _mf_summary(nb, adam)}, tmp_path)
    assert verdict.status == status
    assert f"{nb / adam:.2f}×" in verdict.effects[0]
