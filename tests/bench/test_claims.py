"""Verdict rules of the claims, on fabricated run records with known outcomes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset
from boostprop.bench.summary import summarize_comparison
from boostprop.bench.verdicts import Verdict, combine


def fabricate(
    c: Comparison, outcome: dict[str, tuple[list[int | None], list[float]]]
) -> list[dict[str, Any]]:
    """Records of ``c``: every tuning run reaches the target at epoch 1 (the middle learning
    rate wins the tie-break by accuracy); final runs have the given epochs-to-target and test
    accuracies (one entry per seed)."""
    recs: list[dict[str, Any]] = []
    for s in c.tune_specs():
        mid = c.lr_grid(s.recipe)[len(c.lr_factors) // 2]
        recs.append(
            {
                **s.to_dict(),
                "key": s.key(),
                "status": "ok",
                "epochs_to_target": 1,
                "final_val_acc": 0.9 if s.lr == mid else 0.5,
                "history": {},
            }
        )
    best = {r: c.lr_grid(r)[len(c.lr_factors) // 2] for r in c.recipes}
    for s in c.final_specs(best):
        etts, accs = outcome[s.recipe]
        ett, acc = etts[s.seed - 1], accs[s.seed - 1]
        secs = [0.1 * (e + 1) for e in range(c.epochs)]
        recs.append(
            {
                **s.to_dict(),
                "key": s.key(),
                "status": "ok",
                "epochs_to_target": ett,
                "seconds_to_target": None if ett is None else secs[ett - 1],
                "final_val_acc": acc,
                "test_acc": acc,
                "step_seconds": 0.01,
                "history": {
                    "val_acc": [acc] * c.epochs,
                    "train_seconds": secs,
                    "train_loss": [1.0] * c.epochs,
                },
            }
        )
    return recs


def test_every_claim_has_comparisons_or_extras_for_every_preset() -> None:
    for name, claim in CLAIMS.items():
        if not claim.in_reproduce:
            continue
        assert claim.statement and claim.rule and claim.paper, name
        for preset in Preset:
            for c in claim.comparisons(preset):
                assert c.claim == name
                assert c.seeds >= 2  # Welch's test needs two per side


def test_combine() -> None:
    assert combine(["holds", "holds"]) == "holds"
    assert combine(["not reproduced"]) == "not reproduced"
    assert combine(["holds", "not reproduced"]) == "partly holds"
    assert combine(["inconclusive"]) == "inconclusive"
    assert combine(["holds", "inconclusive"]) == "partly holds"
    with pytest.raises(ValueError, match="status"):
        Verdict("maybe", "")


def _judge(
    name: str,
    per_recipe: dict[str, tuple[list[int | None], list[float]]],
    default: tuple[list[int | None], list[float]],
    tmp_path: Path,
) -> Verdict:
    claim = get_claim(name)
    summaries = {}
    for c in claim.comparisons(Preset.SMOKE):
        c = dataclasses.replace(c, epochs=10)
        outcome = {r: per_recipe.get(r, default) for r in c.recipes}
        summaries[c.id] = summarize_comparison(c, fabricate(c, outcome))
    return claim.judge(summaries, tmp_path)


def test_oland_rule(tmp_path: Path) -> None:
    slow = ([4, 4], [0.80, 0.81])
    fast_same = ([3, 3], [0.80, 0.81])  # 0.75× the epochs, same accuracy: holds
    v = _judge("oland2017", {"expboost+sgd": fast_same, "expboost+adam": fast_same}, slow, tmp_path)
    assert v.status == "holds", v
    not_fast = ([4, 3], [0.80, 0.81])  # median 3.5 / 4 = 0.875 > 0.75
    assert (
        _judge(
            "oland2017", {"expboost+sgd": not_fast, "expboost+adam": not_fast}, slow, tmp_path
        ).status
        == "not reproduced"
    )
    fast_worse = ([1, 1], [0.60, 0.61])  # faster but significantly less accurate
    v = _judge(
        "oland2017", {"expboost+sgd": fast_worse, "expboost+adam": fast_same}, slow, tmp_path
    )
    assert v.status == "partly holds"


def test_wang_rule(tmp_path: Path) -> None:
    base = ([4, 4], [0.800, 0.802])
    gain = ([3, 3], [0.815, 0.817])  # +1.5 points and faster
    assert _judge("wang2023", {"rooted-natural-k3+adam": gain}, base, tmp_path).status == "holds"
    small = ([3, 3], [0.810, 0.812])  # +1.0 point only
    assert (
        _judge("wang2023", {"rooted-natural-k3+adam": small}, base, tmp_path).status
        == "not reproduced"
    )


def test_munoz_rule_uses_seconds(tmp_path: Path) -> None:
    base = ([4, 4], [0.8, 0.8])
    assert (
        _judge("munoz2025", {"neuronboost": ([2, 2], [0.8, 0.8])}, base, tmp_path).status == "holds"
    )
    missing = _judge("munoz2025", {"neuronboost": ([None, None], [0.8, 0.8])}, base, tmp_path)
    assert missing.status == "not reproduced"
    assert "misses: 2 vs 0" in missing.measured


def test_raiko_rule(tmp_path: Path) -> None:
    base = ([4, 4], [0.8, 0.8])
    fast = ([2, 2], [0.8, 0.8])
    assert _judge("raiko2012", {"shortcut-ab": fast}, base, tmp_path).status == "holds"
    assert (
        _judge("raiko2012", {"shortcut-ab": fast, "shortcut-none": fast}, base, tmp_path).status
        == "not reproduced"
    )
