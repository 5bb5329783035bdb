"""Task-aware runs: each task's metric end to end through ``run()``, checked against a hand
computation on the same model state; direction-aware targets, tuning and verdict helpers; loss /
task applicability."""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from boostprop.bench.plan import Comparison
from boostprop.bench.recipes import HOOKS
from boostprop.bench.recipes._tasks import METRICS, first_meeting, metric_of
from boostprop.bench.runner import RunSpec, make_spec, prepare_data, run
from boostprop.bench.summary import summarize_comparison
from boostprop.bench.sweep import select_learning_rates
from boostprop.bench.verdicts import accuracy_gap, gap_effect
from boostprop.data import DATASETS, DatasetInfo, get_dataset

TINY_LM = {"width": 16, "depth": 1, "heads": 2}
TINY_MF = {"n_rows": 500, "n_cols": 400, "rank": 4}


class _Keep:
    """A hook that does nothing but keep the run's model (its state at the end of the run is
    the state of the last validation and of the test evaluation)."""

    models: ClassVar[list[torch.nn.Module]] = []
    validations: ClassVar[list[float]] = []

    def __init__(self, model: torch.nn.Module) -> None:
        self.models.append(model)

    def after_validation(self, epoch: int, val_loss: float, val_metric: float, n: int) -> None:
        self.validations.append(val_metric)

    def after_step(self, x: torch.Tensor) -> None:
        pass

    def on_epoch_end(self, train_x: torch.Tensor) -> None:
        pass


def _run_keeping_model(
    spec: RunSpec, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], torch.nn.Module]:
    _Keep.models, _Keep.validations = [], []
    monkeypatch.setitem(HOOKS, "keep", _Keep)
    comps = {**spec.components, "hooks": [{"name": "keep", "kwargs": {}}]}
    rec = run(RunSpec.from_dict({**spec.to_dict(), "components": comps}))
    assert rec["status"] == "ok", rec.get("error")
    (model,) = _Keep.models
    assert _Keep.validations == rec["history"]["val_metric"]  # hooks get the task's metric
    return rec, model.eval()


def _lm_spec(**kw: Any) -> RunSpec:
    base: dict[str, Any] = dict(
        lr=3e-3, seed=0, epochs=2, batch_size=16, train_subset=64, eval_subset=32
    )
    base.update(kw)
    recipe = base.pop("recipe", "softmax-ce+adam")
    return make_spec(recipe, "text_shakespeare", "char_transformer", TINY_LM, **base)


def _bits(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(F.cross_entropy(model(x).double(), y)) / math.log(2)


@pytest.mark.parametrize("recipe", ["softmax-ce+adam", "rooted-natural-k2+adam"])
def test_language_model_is_scored_in_bits_per_char_whatever_its_loss(
    recipe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, model = _run_keeping_model(_lm_spec(recipe=recipe, target=9.0), monkeypatch)
    data = prepare_data("text_shakespeare", 64, eval_subset=32)
    assert data.val[0].dtype == torch.int64  # token ids are not standardised
    raw_x, _ = get_dataset("text_shakespeare").load("train")
    assert set(data.train[0].unique().tolist()) <= set(raw_x.unique().tolist())
    assert rec["metric"] == {"name": "bits_per_char", "higher_is_better": False}
    assert rec["final_val_metric"] == pytest.approx(_bits(model, *data.val), rel=1e-5)
    assert rec["test_metric"] == pytest.approx(_bits(model, *data.test), rel=1e-5)
    with torch.no_grad():
        acc = float((model(data.test[0]).argmax(1) == data.test[1]).double().mean())
    assert rec["test_acc"] == pytest.approx(acc)
    assert len(rec["history"]["val_metric"]) == 2
    # lower is better: 9 bits/char (above the 8 bits of a uniform guess) is met at once; a
    # target read as "at least" would never be met by a model below 8 bits/char
    assert max(rec["history"]["val_metric"]) < 9.0
    assert rec["epochs_to_target"] == 1
    assert rec["seconds_to_target"] == rec["history"]["train_seconds"][0]


def test_language_model_judged_by_next_char_accuracy_trains_the_same_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same training judged by bits/char and by next-character accuracy: the metric changes
    # what is judged and recorded, never what is trained
    by_bits, _ = _run_keeping_model(_lm_spec(recipe="expboost+sgd", lr=0.05), monkeypatch)
    spec = _lm_spec(recipe="expboost+sgd", lr=0.05, metric_name="next_char_accuracy", target=0.05)
    rec, model = _run_keeping_model(spec, monkeypatch)
    data = prepare_data("text_shakespeare", 64, eval_subset=32)
    assert rec["metric"] == {"name": "next_char_accuracy", "higher_is_better": True}
    for split, judged, bits in (
        (data.val, "final_val_metric", None),
        (data.test, "test_metric", "test_bits_per_char"),
    ):
        with torch.no_grad():
            acc = float((model(split[0]).argmax(1) == split[1]).double().mean())
        assert rec[judged] == pytest.approx(acc)
        if bits is not None:
            assert rec[bits] == pytest.approx(_bits(model, *split), rel=1e-5)
    history, plain = rec["history"], by_bits["history"]
    assert history["val_bits_per_char"] == plain["val_metric"]  # bits/char kept beside it
    assert history["val_metric"] == history["val_acc"] == plain["val_acc"]
    assert history["train_loss"] == plain["train_loss"]
    # higher is better: met at the first epoch whose accuracy reaches the target
    met = [i + 1 for i, v in enumerate(history["val_metric"]) if v >= 0.05]
    assert rec["epochs_to_target"] == (met[0] if met else None)
    # the key: a run judged by its task's metric has the key it had before metric_name existed
    assert (
        "metric_name" not in by_bits["components"]
        and "metric_name" not in RunSpec.from_dict(by_bits).content()
    )
    assert spec.key() != RunSpec.from_dict(by_bits).key()


def test_a_metric_the_task_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"metric_name: expected None or one of \['accuracy'\]"):
        make_spec(
            "softmax-ce+adam",
            "iris",
            lr=0.1,
            seed=0,
            epochs=1,
            batch_size=8,
            target=0.5,
            metric_name="next_char_accuracy",
        )
    with pytest.raises(ValueError, match="target: expected a validation next-character accuracy"):
        _lm_comparison(target=3.9, metric_name="next_char_accuracy")


def test_a_comparison_names_its_metric_in_plan_json_only_when_it_has_one() -> None:
    own = _lm_comparison(target=3.9)
    assert "metric_name" not in own.to_dict()
    assert Comparison.from_dict(own.to_dict()) == own
    judged = _lm_comparison(target=0.25, metric_name="next_char_accuracy")
    assert judged.to_dict()["metric_name"] == "next_char_accuracy"
    assert Comparison.from_dict(judged.to_dict()) == judged
    assert {s.metric_name for s in judged.tune_specs()} == {"next_char_accuracy"}
    assert summarize_comparison(judged, []).metric.name == "next_char_accuracy"


def test_regression_is_scored_by_rmse_with_integer_indices_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = make_spec(
        "mse+adam",
        "matrix_completion",
        "matrix_factorization",
        TINY_MF,
        lr=0.05,
        seed=1,
        epochs=3,
        batch_size=64,
        train_subset=512,
        eval_subset=128,
        target=5.0,
    )
    rec, model = _run_keeping_model(spec, monkeypatch)
    data = prepare_data("matrix_completion", 512, eval_subset=128)
    raw = get_dataset("matrix_completion").load("val")
    assert data.val[0].dtype == torch.int64 and set(map(tuple, data.val[0].tolist())) <= set(
        map(tuple, raw[0].tolist())
    )
    assert rec["metric"] == {"name": "rmse", "higher_is_better": False}
    for split, key in ((data.val, "final_val_metric"), (data.test, "test_metric")):
        with torch.no_grad():
            pred = model(split[0]).double().squeeze(1).numpy()
        by_hand = math.sqrt(float(np.mean((pred - split[1].double().numpy()) ** 2)))
        assert rec[key] == pytest.approx(by_hand, rel=1e-9)
    assert "val_acc" not in rec["history"] and "test_acc" not in rec
    assert rec["epochs_to_target"] == 1  # an RMSE of ~1 is below 5


def _tiny_segmentation(split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed({"train": 0, "val": 1, "test": 2}[split])
    x = torch.rand(24, 1, 8, 8, generator=g)
    y = (x[:, 0] * 3).long().clamp_max(2)  # three classes by intensity
    return x * 5 + 2, y


def test_segmentation_is_scored_by_pixel_accuracy_and_records_mean_iou(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = DatasetInfo(
        name="tiny_seg",
        n_classes=3,
        input_shape=(1, 8, 8),
        description="three intensity bands",
        loader=_tiny_segmentation,  # type: ignore[arg-type]
        task="segmentation",
    )
    monkeypatch.setitem(DATASETS, "tiny_seg", info)
    prepare_data.cache_clear()
    spec = make_spec(
        "softmax-ce+adam",
        "tiny_seg",
        "unet",
        {"width": 4, "levels": 1},
        lr=1e-2,
        seed=0,
        epochs=2,
        batch_size=8,
        target=0.99,
    )
    try:
        rec, model = _run_keeping_model(spec, monkeypatch)
        data = prepare_data("tiny_seg")
    finally:
        prepare_data.cache_clear()
    assert abs(float(data.train[0].mean())) < 1e-5  # float images are standardised
    assert rec["metric"] == {"name": "pixel_accuracy", "higher_is_better": True}
    x, y = data.test
    with torch.no_grad():
        pred = model(x).argmax(1)
    assert rec["test_metric"] == pytest.approx(float((pred == y).double().mean()))
    assert rec["test_acc"] == rec["test_metric"]
    ious = []
    for c in range(3):
        if (y == c).any():
            inter = int(((pred == c) & (y == c)).sum())
            union = int(((pred == c) | (y == c)).sum())
            ious.append(inter / union)
    assert rec["test_miou"] == pytest.approx(sum(ious) / len(ious))
    assert len(rec["history"]["val_miou"]) == 2
    expected = first_meeting(rec["history"]["val_metric"], 0.99, METRICS["pixel_accuracy"])
    assert rec["epochs_to_target"] == expected


def test_classification_records_keep_their_fields_and_add_the_metric() -> None:
    rec = run(
        make_spec(
            "softmax-ce+adam",
            "iris",
            "mlp",
            {"widths": [8]},
            lr=1e-2,
            seed=0,
            epochs=2,
            batch_size=32,
            target=0.5,
        )
    )
    assert rec["metric"] == {"name": "accuracy", "higher_is_better": True}
    assert rec["history"]["val_metric"] == rec["history"]["val_acc"]
    assert rec["final_val_metric"] == rec["final_val_acc"]
    assert rec["test_metric"] == rec["test_acc"]


def test_targets_are_met_in_the_metric_direction() -> None:
    bits, acc = METRICS["bits_per_char"], METRICS["accuracy"]
    history = [3.1, 2.6, 2.4, 2.2]
    assert first_meeting(history, 2.5, bits) == 3
    assert first_meeting(history, 2.0, bits) is None
    assert first_meeting([0.5, 0.81, 0.7], 0.8, acc) == 2
    assert first_meeting([0.2, float("nan"), 0.1], 0.15, METRICS["rmse"]) == 3
    assert metric_of({}).name == "accuracy"  # a record written before the metric was recorded


def test_a_target_must_be_a_value_of_the_task_metric() -> None:
    with pytest.raises(ValueError, match="accuracy in"):
        make_spec("softmax-ce+adam", "iris", lr=0.1, seed=0, epochs=1, batch_size=8, target=2.0)
    spec = _lm_spec(target=2.0)  # 2 bits/char is a fine target for a language model
    assert spec.target == 2.0


@pytest.mark.parametrize(
    ("recipe", "dataset", "model", "kwargs", "loss", "task"),
    [
        ("softmax-ce+adam", "matrix_completion", "matrix_factorization", TINY_MF, "softmax-ce",
         "regression"),
        ("mse+adam", "iris", "mlp", {}, "mse", "classification"),
        ("mse+neuronboost", "text_shakespeare", "char_transformer", TINY_LM, "mse",
         "language_model"),
    ],
)  # fmt: skip
def test_a_loss_that_does_not_apply_to_the_task_is_refused_at_plan_time(
    recipe: str, dataset: str, model: str, kwargs: dict[str, Any], loss: str, task: str
) -> None:
    pattern = rf"{re.escape(recipe)}.*{re.escape(loss)}.*{task}"
    with pytest.raises(ValueError, match=pattern):
        Comparison(
            claim="x",
            id="w",
            title="w",
            dataset=dataset,
            model=model,
            model_kwargs=kwargs,
            recipes=(recipe,),
            target=0.5,
            epochs=1,
            batch_size=8,
            seeds=1,
            lr_factors=(1.0,),
        )
    with pytest.raises(ValueError, match=pattern):
        make_spec(recipe, dataset, model, kwargs, lr=0.1, seed=0, epochs=1, batch_size=8)


@pytest.mark.parametrize("recipe", ["mse+neuronboost", "mse+sgd", "mse+neuronboost-diag"])
def test_neuronboost_and_sgd_train_the_embedding_factorisation(recipe: str) -> None:
    rec = run(
        make_spec(
            recipe,
            "matrix_completion",
            "matrix_factorization",
            TINY_MF,
            lr=0.1,
            seed=0,
            epochs=2,
            batch_size=128,
            train_subset=512,
            eval_subset=64,
        )
    )
    assert rec["status"] == "ok", rec.get("error")
    assert math.isfinite(rec["test_metric"])


def test_neuronboost_trains_the_char_transformer() -> None:
    rec = run(_lm_spec(recipe="neuronboost", lr=0.05, epochs=1))
    assert rec["status"] == "ok", rec.get("error")
    assert 0 < rec["test_metric"] < 9


def _lm_comparison(**kw: Any) -> Comparison:
    base: dict[str, Any] = dict(
        claim="x",
        id="lm",
        title="lm",
        dataset="text_shakespeare",
        model="char_transformer",
        model_kwargs=TINY_LM,
        recipes=("softmax-ce+adam",),
        target=2.5,
        epochs=4,
        batch_size=16,
        seeds=2,
        lr_factors=(0.3, 1.0, 3.0),
        train_subset=64,
        eval_subset=32,
    )
    base.update(kw)
    return Comparison(**base)


BITS = {"name": "bits_per_char", "higher_is_better": False}


def _lm_record(spec: RunSpec, bits: float, ett: int | None = None) -> dict[str, Any]:
    return {
        "key": spec.key(),
        "status": "ok",
        "metric": BITS,
        "epochs_to_target": ett,
        "final_val_metric": bits,
        "final_val_acc": 0.9 - bits / 10,  # a secondary metric that must not decide
        "seed": spec.seed,
        "recipe": spec.recipe,
    }


@pytest.mark.parametrize("tune_metric", ["final_val_acc", "final_val_metric", "epochs_to_target"])
def test_tuning_picks_the_lowest_bits_per_char(tune_metric: str) -> None:
    c = _lm_comparison(tune_metric=tune_metric)
    bits = {0.0003: 2.6, 0.001: 2.2, 0.003: 2.4}
    recs = [_lm_record(s, bits[s.lr]) for s in c.tune_specs()]
    assert select_learning_rates(c, recs) == {"softmax-ce+adam": 0.001}


def _lm_summary() -> Any:
    c = _lm_comparison(recipes=("softmax-ce+adam", "softmax-ce+sgd"), lr_factors=(1.0,))
    recs = [_lm_record(s, 2.0) for s in c.tune_specs()]
    test_bits = {"softmax-ce+adam": [2.0, 2.2], "softmax-ce+sgd": [2.5, 2.7]}
    for s in c.final_specs(select_learning_rates(c, recs)):
        r = _lm_record(s, 2.1, ett=2)
        r["test_metric"] = test_bits[s.recipe][s.seed - 1]
        r.update(
            history={"train_seconds": [0.1, 0.2, 0.3, 0.4], "val_metric": [3.0, 2.4, 2.2, 2.1]},
            epochs=4,
            step_seconds=0.025,
        )
        recs.append(r)
    return summarize_comparison(c, recs)


def test_summary_and_gap_of_a_lower_is_better_metric() -> None:
    s = _lm_summary()
    assert s.metric.name == "bits_per_char"
    assert s["softmax-ce+adam"].test_metric.tolist() == [2.0, 2.2]
    assert s["softmax-ce+adam"].test_metric_mean == pytest.approx(2.1)
    gap = accuracy_gap(s, "softmax-ce+adam", "softmax-ce+sgd")
    assert gap is not None
    assert gap[0] == pytest.approx(0.5)  # Adam is better by 0.5 bits/char: a positive gap
    assert gap[1][0] > 0
    reverse = accuracy_gap(s, "softmax-ce+sgd", "softmax-ce+adam")
    assert reverse is not None and reverse[0] == pytest.approx(-0.5)
    assert "bits/char better by +0.500" in gap_effect(gap)


def test_report_tables_and_plots_are_in_the_metric_units(tmp_path: Any) -> None:
    from boostprop.bench.document import Image, Paragraph, Table
    from boostprop.bench.plots import curves_figure
    from boostprop.bench.report import comparison_blocks

    s = _lm_summary()
    blocks = comparison_blocks(s, tmp_path)
    (table,) = [b for b in blocks if isinstance(b, Table)]
    col = table.header.index("test bits/char, lower is better (mean, 95% CI)")
    row = next(r for r in table.rows if r[0] == "softmax-ce+adam")
    assert row[col].startswith("2.100 [")  # in bits/char, not ×100 as a percentage
    text = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "target validation bits/char ≤ 2.5" in text
    captions = [b.caption for b in blocks if isinstance(b, Image)]
    assert any("validation bits/char vs epoch" in c for c in captions)
    fig = curves_figure(
        {"a": [[3.0, 2.4], [2.8, 2.2]]}, None, xlabel="epoch", target=2.5, metric=s.metric
    )
    (median,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "a/median"]
    assert median.get_ydata().tolist() == pytest.approx([2.9, 2.3])
    assert fig.axes[0].get_ylabel() == "validation bits/char"


def test_a_segmentation_table_shows_pixel_accuracy_and_mean_iou() -> None:
    from boostprop.bench.report import recipe_table
    from boostprop.bench.summary import ComparisonSummary, summarize_recipe

    c = Comparison(
        claim="x",
        id="seg",
        title="seg",
        dataset="fashion_segmentation",
        model="unet",
        model_kwargs={"width": 4, "levels": 1},
        recipes=("softmax-ce+adam",),
        target=0.9,
        epochs=2,
        batch_size=8,
        seeds=2,
        lr_factors=(1.0,),
    )
    pix = {"name": "pixel_accuracy", "higher_is_better": True}
    runs = [
        {"status": "ok", "metric": pix, "test_metric": a, "test_acc": a, "test_miou": m,
         "step_seconds": 0.1, "epochs_to_target": 1, "seconds_to_target": 0.1}
        for a, m in ((0.9, 0.5), (0.92, 0.7))
    ]  # fmt: skip
    r = summarize_recipe("softmax-ce+adam", runs, budget=2)
    table = recipe_table(ComparisonSummary(c, {"softmax-ce+adam": r}, r.metric))
    row = dict(zip(table.header, table.rows[0], strict=True))
    assert row["test pixel accuracy % (mean, 95% CI)"].startswith("91.00 [")
    assert row["test mean IoU % (mean, 95% CI)"].startswith("60.00 [")
