"""Summaries: the right records, and failed runs charged the full budget."""

from __future__ import annotations

import dataclasses
import math

from boostprop.bench.executors import LocalExecutor
from boostprop.bench.store import ResultsStore
from boostprop.bench.summary import budget_seconds, summarize_comparison, summarize_recipe
from boostprop.bench.sweep import Comparison


def _comparison(**kw: object) -> Comparison:
    base: dict[str, object] = dict(
        claim="t",
        id="c",
        title="c",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+adam",),
        target=0.9,
        epochs=4,
        batch_size=10,
        seeds=2,
        lr_factors=(1.0,),
    )
    base.update(kw)
    return Comparison(**base)  # type: ignore[arg-type]


def _record(spec, status="ok", ett=2, acc=0.9, epochs_run=None):  # type: ignore[no-untyped-def]
    n = spec.epochs if epochs_run is None else epochs_run
    return {
        **spec.to_dict(),
        "key": spec.key(),
        "status": status,
        "epochs_to_target": ett if status == "ok" else None,
        "seconds_to_target": 0.2 * ett if status == "ok" and ett else None,
        "final_val_acc": acc if status == "ok" else None,
        "test_acc": acc if status == "ok" else None,
        "step_seconds": 0.01,
        "n_train": 100,
        "history": {"val_acc": [acc] * n, "train_seconds": [0.1 * (i + 1) for i in range(n)]},
    }


def test_records_of_another_setting_under_the_same_id_do_not_mix_in() -> None:
    c = _comparison()
    other = dataclasses.replace(c, epochs=2)  # same claim, id, recipes and lrs; other budget
    recs = [_record(s) for s in c.tune_specs()] + [
        _record(s, acc=0.8) for s in c.final_specs({"softmax-ce+adam": 1e-3})
    ]
    recs += [_record(s) for s in other.tune_specs()] + [
        _record(s, acc=0.1) for s in other.final_specs({"softmax-ce+adam": 1e-3})
    ]
    s = summarize_comparison(c, recs)["softmax-ce+adam"]
    assert s.n_runs == 2
    assert s.test_acc.tolist() == [0.8, 0.8]


def test_a_retried_run_replaces_its_failed_attempt() -> None:
    c = _comparison()
    finals = c.final_specs({"softmax-ce+adam": 1e-3})
    recs = [_record(s) for s in c.tune_specs()] + [
        _record(finals[0], status="error"),
        _record(finals[0]),
        _record(finals[1]),
    ]
    s = summarize_comparison(c, recs)["softmax-ce+adam"]
    assert s.n_runs == 2 and s.n_failed == 0


def test_failed_runs_are_charged_the_full_budget() -> None:
    c = _comparison()
    spec = c.final_specs({"softmax-ce+adam": 1e-3})[0]
    diverged = _record(spec, status="diverged", epochs_run=1)
    # 100 samples / batch 10 = 10 steps per epoch, 4 epochs, 0.01 s per step
    assert budget_seconds(diverged) == 0.4
    ok = _record(spec)
    assert budget_seconds(ok) == ok["history"]["train_seconds"][-1]
    assert budget_seconds({"status": "error"}) == math.inf
    s = summarize_recipe("r", [diverged, ok], budget=4)
    assert s.epochs_to_target.values.tolist() == [4.0, 2.0]
    assert s.seconds_to_target.values.tolist() == [0.4, 0.4]
    assert s.seconds_to_target.missed.tolist() == [True, False]
    assert s.test_acc.tolist() == [0.9]


def test_errored_runs_are_run_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = _comparison(epochs=1, seeds=1)
    spec = c.tune_specs()[0]
    store = ResultsStore(tmp_path / "runs.jsonl")
    store.append({**spec.to_dict(), "key": spec.key(), "status": "error", "error": "boom"})
    LocalExecutor().execute([spec], store, progress=False)
    statuses = [r["status"] for r in store.records()]
    assert statuses == ["error", "ok"]
    LocalExecutor().execute([spec], store, progress=False)  # a finished run is not redone
    assert len(list(store.records())) == 2
