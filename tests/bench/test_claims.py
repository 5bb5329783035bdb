"""Verdict rules of the claims, on fabricated run records with known outcomes."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.document import Heading, Image, Paragraph, Table
from boostprop.bench.extras.ergen_convex import STE_VARIANTS
from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset
from boostprop.bench.recipes.combinations import PAIRS, SINGLES
from boostprop.bench.summary import ComparisonSummary, summarize_comparison
from boostprop.bench.verdicts import BASELINE_RECIPES, STATUSES, Verdict, combine


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
            comparisons = claim.comparisons(preset)
            assert comparisons or claim.extras, f"{name} has nothing to run under {preset}"
            for c in comparisons:
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
    not_fast = ([4, 4], [0.80, 0.81])  # 1.00× [1.00, 1.00]: the interval excludes 0.75
    assert (
        _judge(
            "oland2017", {"expboost+sgd": not_fast, "expboost+adam": not_fast}, slow, tmp_path
        ).status
        == "not reproduced"
    )
    # median 3.5 / 4 = 0.875 > 0.75, but its interval [0.75, 1.00] contains 0.75: undecided
    straddle = ([4, 3], [0.80, 0.81])
    v = _judge("oland2017", {"expboost+sgd": straddle, "expboost+adam": straddle}, slow, tmp_path)
    assert v.status == "inconclusive", v
    assert all(d.endswith("→ inconclusive") for d in v.details)
    fast_worse = ([1, 1], [0.60, 0.61])  # faster but significantly less accurate
    v = _judge(
        "oland2017", {"expboost+sgd": fast_worse, "expboost+adam": fast_same}, slow, tmp_path
    )
    assert v.status == "partly holds"


def test_wang_rule(tmp_path: Path) -> None:
    base = ([4, 4], [0.800, 0.802])
    gain = ([3, 3], [0.820, 0.822])  # +2.0 [+1.8, +2.2] points and faster
    assert _judge("wang2023", {"rooted-natural-k3+adam": gain}, base, tmp_path).status == "holds"
    unclear = ([3, 3], [0.813, 0.817])  # +1.4 points: the interval contains the threshold
    assert (
        _judge("wang2023", {"rooted-natural-k3+adam": unclear}, base, tmp_path).status
        == "inconclusive"
    )
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
    fast = ([2, 2], [0.8, 0.8])  # 0.50× [0.50, 0.50]: wholly below 1
    v = _judge("raiko2012", {"shortcut-ab": fast}, base, tmp_path)
    assert v.status == "holds"
    assert all(d.endswith("→ holds") and "0.50× [0.50, 0.50] epochs" in d for d in v.details)
    assert (
        _judge("raiko2012", {"shortcut-ab": fast, "shortcut-none": fast}, base, tmp_path).status
        == "not reproduced"
    )
    # median 3 / 4 = 0.75 < 1, but the interval over seeds is [0.50, 1.00] (resampled medians
    # 2, 3 or 4 over 4): it contains 1, so the data set is undecided
    straddle = ([2, 4], [0.8, 0.8])
    v = _judge("raiko2012", {"shortcut-ab": straddle}, base, tmp_path)
    assert v.status == "inconclusive", v
    assert all(d.endswith("→ inconclusive") for d in v.details)
    assert all(d.count("0.75× [0.50, 1.00] epochs") == 2 for d in v.details)  # vs both


# --------------------------------------------------- every status of every claim's verdict rule
# Each case constructs outcomes whose verdict follows from the claim's `rule` text by hand; the
# expected status is the case's key. A claim registered without a case for every status fails
# `test_every_claim_has_a_case_for_every_status`.

Outcome = tuple[list[int | None], list[float]]  # per seed: epochs to target, test accuracy
SLOW: Outcome = ([4, 4], [0.80, 0.81])
FAST: Outcome = ([2, 2], [0.80, 0.81])
Case = Callable[[Path], Verdict]


def _summaries(
    name: str,
    outcomes: Callable[[str, str], Outcome] | None,
    edit: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, ComparisonSummary]:
    """Summaries of the claim's smoke comparisons over 10 epochs, from fabricated records:
    ``outcomes(comparison id, recipe)`` gives each recipe's final runs, ``edit(comparison id,
    record)`` changes a final record in place; no ``outcomes`` means no records at all."""
    out = {}
    for c in get_claim(name).comparisons(Preset.SMOKE):
        c = dataclasses.replace(c, epochs=10)
        records = (
            [] if outcomes is None else fabricate(c, {r: outcomes(c.id, r) for r in c.recipes})
        )
        for rec in records:
            if edit is not None and rec["phase"] == "final":
                edit(c.id, rec)
        out[c.id] = summarize_comparison(c, records)
    return out


def _verdict(
    name: str,
    tmp_path: Path,
    outcomes: Callable[[str, str], Outcome] | None,
    edit: Callable[[str, dict[str, Any]], None] | None = None,
) -> Verdict:
    return get_claim(name).judge(_summaries(name, outcomes, edit), tmp_path)


def _fast(*recipes: str, only: str | None = None) -> Callable[[str, str], Outcome]:
    """``recipes`` reach the target in 2 epochs (in comparison ``only``, or in all), the rest
    in 4; the same test accuracies everywhere."""
    return lambda cid, r: FAST if r in recipes and only in (None, cid) else SLOW


def _diverge(rec: dict[str, Any]) -> None:
    """Make a final record a run whose loss became NaN in its second epoch."""
    rec.update(
        status="diverged",
        epochs_to_target=None,
        seconds_to_target=None,
        final_val_acc=None,
        n_train=2560,
        history={"train_loss": [1.0, math.nan], "train_seconds": [0.1, 0.2], "val_acc": [0.5]},
    )
    rec.pop("test_acc", None)


# baselines: "Holds on a data set when Adam's median epochs-to-target (failed runs counted at
# the budget) is below SGD's".
ADAM, SGD = "softmax-ce+adam", "softmax-ce+sgd"
BASELINE_CASES: dict[str, Case] = {
    "holds": lambda d: _verdict("baselines", d, _fast(ADAM)),
    "partly holds": lambda d: _verdict("baselines", d, _fast(ADAM, only="fashion_mlp")),
    # equal medians: not below
    "not reproduced": lambda d: _verdict("baselines", d, lambda cid, r: SLOW),
    "inconclusive": lambda d: _verdict("baselines", d, None),
}

# combinations: "Per pair: stacks when the pair's median epochs-to-target ... is below both
# single techniques' and its mean test accuracy is not significantly below the better single's;
# holds when every pair stacks, partly when some do."
PAIR_NAMES = tuple(r.name for r in PAIRS.values())
COMBINATION_CASES: dict[str, Case] = {
    "holds": lambda d: _verdict("combinations", d, _fast(*PAIR_NAMES)),
    "partly holds": lambda d: _verdict("combinations", d, _fast(PAIR_NAMES[0])),
    # every pair as fast as its singles: not below
    "not reproduced": lambda d: _verdict("combinations", d, lambda cid, r: SLOW),
    "inconclusive": lambda d: _verdict("combinations", d, None),
}

# munoz2025: "Per data set: holds when NeuronBoost's median training seconds to target ... is
# below tuned Adam's."
MUNOZ_CASES: dict[str, Case] = {
    "holds": lambda d: _verdict("munoz2025", d, _fast("neuronboost")),
    "partly holds": lambda d: _verdict("munoz2025", d, _fast("neuronboost", only="mnist1d_mlp")),
    "not reproduced": lambda d: _verdict("munoz2025", d, lambda cid, r: SLOW),
    "inconclusive": lambda d: _verdict("munoz2025", d, None),
}

# oland2017: "Per data set and optimizer: holds when expboost's median epochs-to-target is
# ≤ 0.75× softmax-CE's ... and its mean test accuracy is not significantly lower".
OLAND_CASES: dict[str, Case] = {
    "holds": lambda d: _verdict("oland2017", d, _fast("expboost+sgd", "expboost+adam")),
    "partly holds": lambda d: _verdict("oland2017", d, _fast("expboost+sgd")),
    "not reproduced": lambda d: _verdict("oland2017", d, lambda cid, r: SLOW),
    "inconclusive": lambda d: _verdict("oland2017", d, None),
}


# raiko2012: "Per data set: holds when shortcut-ab's median epochs-to-target is below both
# tanh-mlp's and shortcut-none's ... The angle part holds when the mean angle between g and
# (H + μI)⁻¹g over μ and checkpoints is smaller with transformations."
def _hessian_result(angles: dict[str, list[list[float]]]) -> dict[str, Any]:
    """What ``HessianAngles`` writes: per variant, one checkpoint per list of angles (per μ)."""
    mus = [1e-4, 1e-2, 1.0]
    checkpoints = [
        {
            "variant": variant,
            "step": 10 * i,
            "loss": 1.0 / (i + 1),
            "condition_number": 1e4,
            "positive_condition_number": 1e3,
            "n_negative": 2,
            "angles": a,
        }
        for variant, per_step in angles.items()
        for i, a in enumerate(per_step)
    ]
    return {
        "dataset": "wine",
        "sizes": [13, 10, 10, 3],
        "n_train": 100,
        "lr": 0.1,
        "mus": mus,
        "checkpoints": checkpoints,
    }


# mean over checkpoints and μ: no transforms (80+70+60)/3 = 70 and (60+60+60)/3 = 60 → 65°;
# α, β (30+40+50)/3 = 40 and 40 → 40°
SMALLER_WITH_TRANSFORMS = {
    "no transforms": [[80.0, 70.0, 60.0], [60.0, 60.0, 60.0]],
    "alpha_beta": [[30.0, 40.0, 50.0], [40.0, 40.0, 40.0]],
}
LARGER_WITH_TRANSFORMS = {
    "no transforms": SMALLER_WITH_TRANSFORMS["alpha_beta"],
    "alpha_beta": SMALLER_WITH_TRANSFORMS["no transforms"],
}


def _raiko(d: Path, outcomes: Callable[[str, str], Outcome] | None, angles: Any = None) -> Verdict:
    if angles is not None:
        (d / "hessian.json").write_text(json.dumps(_hessian_result(angles)))
    return _verdict("raiko2012", d, outcomes)


RAIKO_CASES: dict[str, Case] = {
    "holds": lambda d: _raiko(d, _fast("shortcut-ab"), SMALLER_WITH_TRANSFORMS),
    "partly holds": lambda d: _raiko(d, _fast("shortcut-ab"), LARGER_WITH_TRANSFORMS),
    "not reproduced": lambda d: _raiko(d, lambda cid, r: SLOW, LARGER_WITH_TRANSFORMS),
    "inconclusive": lambda d: _raiko(d, None),
}

# wang2023: "holds when the best RLO recipe (chosen by validation accuracy) has a mean test
# accuracy that beats softmax-CE's by ≥ 1.4 points and it reaches the target in fewer epochs".
CE_RUNS: Outcome = ([4, 4], [0.800, 0.802])
GAIN: Outcome = ([3, 3], [0.820, 0.822])  # +2.0 [+1.8, +2.2] points, fewer epochs


def _wang(only: str | None = None, rlo: Outcome = GAIN) -> Callable[[str, str], Outcome]:
    return lambda cid, r: rlo if r == "rooted-natural-k3+adam" and only in (None, cid) else CE_RUNS


WANG_CASES: dict[str, Case] = {
    "holds": lambda d: _verdict("wang2023", d, _wang()),
    "partly holds": lambda d: _verdict("wang2023", d, _wang(only="fashion_mlp_adam")),
    # +2.0 points but not in fewer epochs
    "not reproduced": lambda d: _verdict("wang2023", d, _wang(rlo=([4, 4], GAIN[1]))),
    "inconclusive": lambda d: _verdict("wang2023", d, None),
}


# ergen2023 (judged from the extra's files): "Per setting, three conditions. Objective: the
# convex two-layer objective (worst seed ...) is ≤ every STE run's final objective (the same
# function), decided exactly, not by an interval ... Accuracy: the convex mean test accuracy is
# not significantly lower than the best STE variant's ...: a lower mean with Welch p < 0.05
# counts as lower ... Time: the 95% bootstrap interval over seeds of the ratio of the median
# convex solve seconds to the STE runs' median seconds to get within 1% of their final objective
# lies wholly below 1. A setting holds when all three conditions are met, is not reproduced
# when the objective is higher, the accuracy significantly lower or the time interval lies
# wholly at or above 1, and is inconclusive otherwise (a time interval that contains 1) ... a
# diverged STE run is counted and left out of the three comparisons."
def _ergen_result(
    setting: str,
    *,
    objective: float = 1.0,
    acc: float = 0.9,
    seconds: float = 0.5,
    ste_objective: float = 2.0,
    ste_acc: float = 0.8,
    ste_seconds: float = 5.0,
    seeds: int = 2,
    extra_ste: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """What ``ConvexVsSTE`` writes for one setting: every seed of the convex solve has
    ``objective``, ``acc``, ``seconds``; every two-layer STE run of every variant ends at
    ``ste_objective`` with ``ste_acc`` and gets within 1% of it after ``ste_seconds``."""
    convex = [
        {
            "seed": s,
            "objective": objective,
            "network_objective": objective,
            "gap": 1e-7,
            "n_patterns": 200,
            "n_neurons": 7,
            "seconds": seconds,
            "reproduces_Hc": True,
            "train_acc": acc,
            "test_acc": acc,
        }
        for s in range(seeds)
    ]
    convex3 = [
        {
            "seed": s,
            "objective": 3 * objective,
            "exact": True,
            "n_neurons": 9,
            "seconds": seconds,
            "train_acc": acc,
            "test_acc": acc,
        }
        for s in range(seeds)
    ]
    ste = [
        _ste_run(v, s, ste_objective, ste_acc, ste_seconds)
        for v in STE_VARIANTS
        for s in range(seeds)
    ]
    return {
        "setting": setting,
        "dataset": "teacher",
        "n_train": 100,
        "n_test": 50,
        "n_classes": 2,
        "beta": 0.1,
        "ste_width": 20,
        "ste_epochs": 50,
        "convex": convex,
        "convex3": convex3,
        "ste": ste + list(extra_ste),
    }


def _ste_run(
    variant: str, seed: int, final: float, acc: float, converged: float, depth: int = 2
) -> dict[str, Any]:
    return {
        "variant": variant,
        "depth": depth,
        "seed": seed,
        "final_objective": final,
        "objective": [4.0, final, final],
        "seconds": [0.0, converged, 2 * converged],
        "test_accuracy": [0.5, acc, acc],
        "total_seconds": 2 * converged,
        "converged_seconds": converged,
        "train_acc": acc,
        "test_acc": acc,
    }


def _ergen(d: Path, *results: dict[str, Any]) -> Verdict:
    for res in results:
        (d / f"{res['setting']}.json").write_text(json.dumps(res))
    return get_claim("ergen2023").judge({}, d)


ERGEN_CASES: dict[str, Case] = {
    "holds": lambda d: _ergen(d, _ergen_result("a"), _ergen_result("b")),
    "partly holds": lambda d: _ergen(d, _ergen_result("a"), _ergen_result("b", objective=3.0)),
    "not reproduced": lambda d: _ergen(d, _ergen_result("a", objective=3.0)),
    "inconclusive": lambda d: _ergen(d),
}

STATUS_CASES: dict[str, dict[str, Case]] = {
    "baselines": BASELINE_CASES,
    "combinations": COMBINATION_CASES,
    "ergen2023": ERGEN_CASES,
    "munoz2025": MUNOZ_CASES,
    "oland2017": OLAND_CASES,
    "raiko2012": RAIKO_CASES,
    "wang2023": WANG_CASES,
}


# The words of each rule the cases above and the tests below were derived from: a rule that is
# reworded fails here, so its cases are derived again rather than silently kept.
RULE_WORDS = {
    "baselines": ["median epochs-to-target (failed runs counted at the budget) is below SGD's"],
    "combinations": [
        "median epochs-to-target (misses and failed runs at the budget) is below both single",
        "not significantly below the better single's (Welch p < 0.05)",
        "holds when every pair stacks, partly when some do",
    ],
    "ergen2023": [
        "≤ every STE run's final objective (the same function), decided exactly, not by an "
        "interval",
        "not significantly lower than the best STE variant's",
        "a lower mean with Welch p < 0.05 counts as lower",
        "(fewer than two runs on a side: undecided)",
        "ratio of the median convex solve seconds to the STE runs' median seconds to get within "
        "1% of their final objective lies wholly below 1",
        "inconclusive otherwise (a time interval that contains 1)",
        "a diverged STE run is counted and left out of the three comparisons",
    ],
    "munoz2025": [
        "median training seconds to target (misses and failed runs counted",
        "is below tuned Adam's",
    ],
    "oland2017": [
        "median epochs-to-target is ≤ 0.75×",
        "not significantly lower",
        "inconclusive when an interval contains its threshold",
    ],
    "raiko2012": [
        "median epochs-to-target is below both tanh-mlp's and shortcut-none's",
        "is reported separately",
        "over μ and checkpoints is smaller with transformations",
    ],
    "wang2023": [
        "best RLO recipe (chosen by validation accuracy)",
        "by ≥ 1.4 points",
        "fewer epochs (median)",
        "inconclusive when an interval contains its threshold",
    ],
}


def test_every_claim_has_a_case_for_every_status() -> None:
    assert sorted(STATUS_CASES) == sorted(CLAIMS)
    for name, cases in STATUS_CASES.items():
        assert sorted(cases) == sorted(STATUSES), name


@pytest.mark.parametrize("name", sorted(RULE_WORDS))
def test_cases_follow_the_rule_as_worded(name: str) -> None:
    assert sorted(RULE_WORDS) == sorted(CLAIMS)
    rule = get_claim(name).rule
    assert [w for w in RULE_WORDS[name] if w not in rule] == []


@pytest.mark.parametrize(
    ("name", "status"), [(n, s) for n in sorted(STATUS_CASES) for s in STATUSES]
)
def test_verdict_rule_gives_each_status(name: str, status: str, tmp_path: Path) -> None:
    verdict = STATUS_CASES[name][status](tmp_path)
    assert verdict.status == status, verdict
    assert verdict.measured


# ------------------------------------------------------------- particular words of the rules


def test_baselines_count_failed_runs_at_the_budget(tmp_path: Path) -> None:
    """Adam diverges in both seeds: its epochs-to-target is the budget (10), not below SGD's 4."""

    def edit(cid: str, rec: dict[str, Any]) -> None:
        if rec["recipe"] == ADAM:
            _diverge(rec)

    v = _verdict("baselines", tmp_path, lambda cid, r: FAST if r == ADAM else SLOW, edit)
    assert v.status == "not reproduced", v
    assert all("misses: 2 vs 0" in d for d in v.details)


def test_combinations_pair_must_beat_both_singles(tmp_path: Path) -> None:
    """expGB + NeuronBoost in 3 epochs: below expboost+adam's 4 but not below neuronboost's 2
    does not stack; in 1 epoch it does. The other pairs take as long as their singles."""
    pair = PAIRS[("expGB", "NeuronBoost")].name
    nb = SINGLES["NeuronBoost"]

    def outcomes(pair_epochs: int) -> Callable[[str, str], Outcome]:
        epochs: list[int | None] = [pair_epochs, pair_epochs]
        table: dict[str, Outcome] = {
            pair: (epochs, SLOW[1]),
            nb: FAST,
            # the other pairs with NeuronBoost as fast as NeuronBoost alone: not below it
            PAIRS[("NeuronBoost", "shortcut")].name: FAST,
            PAIRS[("RLO", "NeuronBoost")].name: FAST,
        }
        return lambda cid, r: table.get(r, SLOW)

    assert _verdict("combinations", tmp_path, outcomes(3)).status == "not reproduced"
    assert _verdict("combinations", tmp_path, outcomes(1)).status == "partly holds"


def test_combinations_pair_must_not_lose_accuracy(tmp_path: Path) -> None:
    """Every pair faster, but one significantly less accurate than its better single."""
    worse = PAIR_NAMES[0]

    def outcomes(cid: str, r: str) -> Outcome:
        if r == worse:
            return ([2, 2], [0.60, 0.61])
        return FAST if r in PAIR_NAMES else SLOW

    v = _verdict("combinations", tmp_path, outcomes)
    assert v.status == "partly holds", v
    (line,) = [d for d in v.details if d.endswith("→ not reproduced")]
    assert "Δacc -20.00" in line and "test accuracy significantly lower" in line


def test_combinations_pair_is_decided_by_its_interval(tmp_path: Path) -> None:
    """Every pair in 2 epochs against singles in 4 stacks (0.50× [0.50, 0.50]); one pair in 2 or
    4 epochs has a median ratio 0.75× whose interval [0.50, 1.00] contains 1: undecided, so the
    claim partly holds; and a pair in 4 epochs (1.00× [1.00, 1.00]) does not stack."""
    undecided = PAIR_NAMES[1]

    def outcomes(pair: Outcome) -> Callable[[str, str], Outcome]:
        return lambda cid, r: pair if r == undecided else FAST if r in PAIR_NAMES else SLOW

    v = _verdict("combinations", tmp_path, outcomes(([2, 4], SLOW[1])))
    assert v.status == "partly holds", v
    pairs = [d for d in v.details if not d.startswith("fastest recipe")]
    assert len(pairs) == len(PAIR_NAMES)
    assert [d.rsplit("→ ", 1)[1] for d in pairs].count("inconclusive") == 1
    (line,) = [d for d in pairs if d.endswith("→ inconclusive")]
    assert "0.75× [0.50, 1.00] epochs" in line and "undecided" in line
    assert all(d.endswith("stacks → holds") for d in pairs if d != line)
    v = _verdict("combinations", tmp_path, outcomes(SLOW))
    assert v.status == "partly holds", v
    assert any(
        d.endswith("does not stack (the interval lies at or above 1) → not reproduced")
        for d in v.details
    )

    # every pair undecided: nothing is decided
    def straddle(cid: str, r: str) -> Outcome:
        return ([2, 4], SLOW[1]) if r in PAIR_NAMES else SLOW

    assert _verdict("combinations", tmp_path, straddle).status == "inconclusive"


def test_combinations_failed_pair_does_not_stack(tmp_path: Path) -> None:
    failing = PAIR_NAMES[-1]

    def edit(cid: str, rec: dict[str, Any]) -> None:
        if rec["recipe"] == failing:
            _diverge(rec)

    v = _verdict("combinations", tmp_path, _fast(*PAIR_NAMES), edit)
    assert v.status == "partly holds", v
    assert any("failed" in e for e in v.effects)


def test_munoz_judges_seconds_not_epochs(tmp_path: Path) -> None:
    """NeuronBoost in fewer epochs but more seconds than Adam does not hold; in as many epochs
    but fewer seconds it does."""

    def seconds(value: float) -> Callable[[str, dict[str, Any]], None]:
        def edit(cid: str, rec: dict[str, Any]) -> None:
            if rec["recipe"] == "neuronboost":
                rec["seconds_to_target"] = value

        return edit

    # Adam: 4 epochs of 0.1 s → 0.4 s to target
    slower = _verdict("munoz2025", tmp_path, _fast("neuronboost"), seconds(0.9))
    assert slower.status == "not reproduced", slower
    faster = _verdict("munoz2025", tmp_path, lambda cid, r: SLOW, seconds(0.1))
    assert faster.status == "holds", faster


def test_munoz_counts_failed_runs_at_the_budget(tmp_path: Path) -> None:
    def edit(cid: str, rec: dict[str, Any]) -> None:
        if rec["recipe"] == "neuronboost":
            _diverge(rec)

    assert _verdict("munoz2025", tmp_path, _fast("neuronboost"), edit).status == "not reproduced"


def test_oland_failed_candidate_is_not_reproduced(tmp_path: Path) -> None:
    def edit(cid: str, rec: dict[str, Any]) -> None:
        if rec["recipe"].startswith("expboost+"):
            _diverge(rec)

    v = _verdict("oland2017", tmp_path, _fast("expboost+sgd", "expboost+adam"), edit)
    assert v.status == "not reproduced", v


def test_raiko_gamma_is_reported_not_judged(tmp_path: Path) -> None:
    """shortcut-abg never reaching the target and being less accurate changes nothing."""

    def outcomes(cid: str, r: str) -> Outcome:
        if r == "shortcut-abg":
            return ([None, None], [0.60, 0.61])
        return FAST if r == "shortcut-ab" else SLOW

    v = _raiko(tmp_path, outcomes)
    assert v.status == "holds", v
    assert all("γ" in d for d in v.details)


def test_raiko_angle_part_alone(tmp_path: Path) -> None:
    """Without comparison runs only the angle part is judged (the data sets are
    inconclusive), and the mean angle is the one worked out by hand."""
    v = _raiko(tmp_path, None, SMALLER_WITH_TRANSFORMS)
    assert v.status == "partly holds", v
    assert "40.0° with α, β vs 65.0° without" in v.measured


def test_wang_best_rlo_is_chosen_on_validation_accuracy(tmp_path: Path) -> None:
    """rooted-paper-k3 has the best validation accuracy but CE's test accuracy: it is the best
    RLO, so the +2.0 points of rooted-natural-k3 on the test set do not count."""

    def edit(cid: str, rec: dict[str, Any]) -> None:
        if rec["recipe"] == "rooted-paper-k3+adam":
            rec["final_val_acc"] = 0.95

    assert _verdict("wang2023", tmp_path, _wang()).status == "holds"
    v = _verdict("wang2023", tmp_path, _wang(), edit)
    assert v.status == "not reproduced", v
    assert all("best RLO rooted-paper-k3" in d for d in v.details)


def test_wang_only_rlo_recipes_count(tmp_path: Path) -> None:
    """A focal loss that gains 2.0 points does not make the RLO claim hold."""
    v = _verdict("wang2023", tmp_path, lambda cid, r: GAIN if r == "focal-g2+adam" else CE_RUNS)
    assert v.status == "not reproduced", v


def test_ergen_boundaries_are_inclusive_for_objective_and_accuracy(tmp_path: Path) -> None:
    """≤ the STE objective and ≥ its accuracy hold with equality; the time must be below."""
    tie = _ergen_result("a", objective=2.0, acc=0.8)
    assert _ergen(tmp_path, tie).status == "holds"
    assert _ergen(tmp_path, _ergen_result("a", seconds=5.0)).status == "not reproduced"
    assert _ergen(tmp_path, _ergen_result("a", acc=0.7)).status == "not reproduced"


def test_ergen_compares_the_same_function_only(tmp_path: Path) -> None:
    """Three-layer STE runs (another function) with a lower objective do not count."""
    deep = tuple(_ste_run(v, 0, 0.1, 0.99, 0.01, depth=3) for v in STE_VARIANTS)
    v = _ergen(tmp_path, _ergen_result("a", extra_ste=deep))
    assert v.status == "holds", v


def test_ergen_leaves_diverged_ste_runs_out(tmp_path: Path) -> None:
    """A diverged STE run (infinite objective, no accuracy, never converged) is counted and
    left out: the other runs decide."""
    diverged = _ste_run("relu", 9, math.inf, math.nan, math.inf)
    v = _ergen(tmp_path, _ergen_result("a", extra_ste=(diverged,)))
    assert v.status == "holds", v
    assert "1 STE runs diverged" in v.measured


def test_ergen_a_variant_whose_every_run_diverged_is_left_out(tmp_path: Path) -> None:
    """Every relu run diverged: they are left out and the other variants decide."""
    res = _ergen_result("a")
    for r in res["ste"]:
        if r["variant"] == "relu":
            r.update(final_objective=math.inf, test_acc=math.nan, converged_seconds=math.inf)
    v = _ergen(tmp_path, res)
    assert v.status == "holds", v
    assert "2 STE runs diverged" in v.measured


def _per_seed(
    res: dict[str, Any],
    *,
    acc: list[float] | None = None,
    seconds: list[float] | None = None,
    ste_acc: list[float] | None = None,
    ste_seconds: list[float] | None = None,
) -> dict[str, Any]:
    """``res`` of :func:`_ergen_result` with values that vary over seeds: the convex seed ``i``
    gets ``acc[i]``, ``seconds[i]``; the two-layer STE run of seed ``i`` of every variant gets
    ``ste_acc[i]`` and gets within 1% of its objective after ``ste_seconds[i]``."""
    for i, c in enumerate(res["convex"]):
        c.update({} if acc is None else {"test_acc": acc[i]})
        c.update({} if seconds is None else {"seconds": seconds[i]})
    for r in res["ste"]:
        r.update({} if ste_acc is None else {"test_acc": ste_acc[r["seed"]]})
        r.update({} if ste_seconds is None else {"converged_seconds": ste_seconds[r["seed"]]})
    return res


def _ratio_interval(detail: str) -> tuple[float, float]:
    """The seconds ratio's interval printed in an ergen detail line."""
    inner = detail.split("ratio ", 1)[1].split("[", 1)[1].split("]", 1)[0]
    lo, hi = (float(x) for x in inner.split(", "))
    return lo, hi


def test_ergen_a_time_interval_that_contains_1_is_inconclusive(tmp_path: Path) -> None:
    """Median convex 2.0 s vs STE 2.5 s (0.80×: faster by the medians, which the old rule
    counted), but the convex seconds range 0.5–8 over 5 seeds: a resampled median can be any of
    0.5, 1, 2, 4 or 8, so the interval of the ratio contains 1 and decides nothing."""
    res = _per_seed(
        _ergen_result("a", seeds=5), seconds=[0.5, 1.0, 2.0, 4.0, 8.0], ste_seconds=[2.5] * 5
    )
    v = _ergen(tmp_path, res)
    assert v.status == "inconclusive", v
    (detail,) = v.details
    lo, hi = _ratio_interval(detail)
    assert 0.5 / 2.5 <= lo < 1 < hi <= 8.0 / 2.5
    assert "ratio 0.80× [" in detail and "interval contains 1" in detail
    assert detail.endswith("→ inconclusive")
    assert "seconds 0.80× [" in v.effects[0]


def test_ergen_holds_when_every_condition_is_clear(tmp_path: Path) -> None:
    """Convex seconds 0.4–0.6 vs STE 4–6: every resampled median ratio lies in
    [0.4/6, 0.6/4], wholly below 1; accuracy higher on every seed; objective 1 vs 2."""
    res = _per_seed(
        _ergen_result("a", seeds=5),
        acc=[0.88, 0.90, 0.91, 0.89, 0.92],
        seconds=[0.4, 0.5, 0.6, 0.45, 0.55],
        ste_acc=[0.79, 0.80, 0.81, 0.78, 0.82],
        ste_seconds=[4.0, 5.0, 6.0, 4.5, 5.5],
    )
    v = _ergen(tmp_path, res)
    assert v.status == "holds", v
    (detail,) = v.details
    lo, hi = _ratio_interval(detail)
    assert 0.4 / 6.0 - 0.005 <= lo <= hi <= 0.6 / 4.0 + 0.005  # printed to 2 decimals
    assert "(≤, exact)" in detail and "Δacc (means) +10.00 [" in detail
    assert detail.endswith("→ holds")


def test_ergen_significantly_lower_accuracy_is_not_reproduced(tmp_path: Path) -> None:
    """Objective and time hold, but convex tests 10 points below the best STE variant on every
    seed (means 71.0% vs 81.0%): Welch p far below 0.05 on a lower mean."""
    res = _per_seed(
        _ergen_result("a", seeds=5),
        acc=[0.70, 0.71, 0.72, 0.70, 0.72],
        ste_acc=[0.80, 0.81, 0.82, 0.80, 0.82],
    )
    v = _ergen(tmp_path, res)
    assert v.status == "not reproduced", v
    (detail,) = v.details
    assert "Δacc (means) -10.00 [" in detail and "test accuracy significantly lower" in detail
    assert detail.endswith("→ not reproduced")


def test_ergen_a_lower_mean_that_is_not_significant_holds(tmp_path: Path) -> None:
    """Convex mean 80.0% (76–84%) vs STE 81.0% on every run: lower, but not significantly.
    With a constant STE side Welch's test is the one-sample t-test of the convex accuracies
    against 81 (df 4): t = -1 / (s / √5), s = √10 (points), p = 2·P(T4 > 0.707) = 0.519."""
    res = _per_seed(
        _ergen_result("a", seeds=5),
        acc=[0.76, 0.80, 0.84, 0.78, 0.82],
        ste_acc=[0.81] * 5,
    )
    v = _ergen(tmp_path, res)
    assert v.status == "holds", v
    p = float(v.details[0].split("Welch p = ", 1)[1].split(";", 1)[0])
    assert p == pytest.approx(0.519, abs=1e-3)


def test_ergen_one_seed_cannot_decide_the_accuracy(tmp_path: Path) -> None:
    """Welch's test needs two runs a side: a single convex seed leaves the accuracy undecided."""
    v = _ergen(tmp_path, _ergen_result("a", seeds=1))
    assert v.status == "inconclusive", v
    assert "fewer than two runs on a side" in v.details[0]


# ------------------------------------------------------------------------- claims' extras
def _write_hessian(d: Path) -> None:
    (d / "hessian.json").write_text(json.dumps(_hessian_result(SMALLER_WITH_TRANSFORMS)))


def _write_binary(d: Path) -> None:
    rows = [
        {
            "dataset": "breast_cancer",
            "model": "LR",
            "n_iter": 12,
            "train_acc": 0.985,
            "test_acc": 0.97,
            "seconds": 0.0123,
        },
        {
            "dataset": "breast_cancer",
            "model": "RLO k=3",
            "n_iter": 7,
            "train_acc": 0.99,
            "test_acc": 0.9649,
            "seconds": 0.5,
        },
    ]
    (d / "binary_logistic.json").write_text(json.dumps(rows))


def _write_autoencoder(d: Path) -> None:
    res = {
        "sizes": [784, 200, 30, 200, 784],
        "epochs": 2,
        "lr": 0.05,
        "curves": {"none": [0.5, 0.4], "alpha_beta": [0.4, 0.3]},
    }
    (d / "autoencoder.json").write_text(json.dumps(res))


def _write_ergen(d: Path) -> None:
    deep = tuple(_ste_run(v, 0, 1.5, 0.85, 2.0, depth=3) for v in STE_VARIANTS)
    (d / "teacher_n100.json").write_text(json.dumps(_ergen_result("teacher_n100", extra_ste=deep)))


WRITERS: dict[str, Callable[[Path], None]] = {
    "HessianAngles": _write_hessian,
    "BinaryLogistic": _write_binary,
    "Autoencoder": _write_autoencoder,
    "ConvexVsSTE": _write_ergen,
}
EXTRAS = [(name, e) for name in sorted(CLAIMS) for e in CLAIMS[name].extras]


def test_every_extra_has_constructed_results() -> None:
    assert EXTRAS, "no claim has extras"
    assert {type(e).__name__ for _, e in EXTRAS} <= set(WRITERS)
    assert {n for n, _ in EXTRAS} >= {"ergen2023", "raiko2012", "wang2023"}


@pytest.mark.parametrize(
    ("name", "extra"), EXTRAS, ids=[f"{n}-{type(e).__name__}" for n, e in EXTRAS]
)
def test_extra_blocks_come_from_its_results(name: str, extra: Any, tmp_path: Path) -> None:
    out, figures = tmp_path / "claim", tmp_path / "figures"
    out.mkdir()
    figures.mkdir()
    assert extra.blocks(out, figures) == []
    WRITERS[type(extra).__name__](out)
    blocks = extra.blocks(out, figures)
    assert blocks and isinstance(blocks[0], Heading)
    for b in blocks:
        if isinstance(b, Image):
            assert b.path.parent == figures and b.path.stat().st_size > 0
    claim_blocks = get_claim(name).extra_blocks(out, figures)
    assert all(b in claim_blocks for b in blocks)


def test_hessian_blocks_show_every_checkpoint(tmp_path: Path) -> None:
    from boostprop.bench.extras.raiko_hessian import HessianAngles

    _write_hessian(tmp_path)
    blocks = HessianAngles().blocks(tmp_path, tmp_path)
    (table,) = [b for b in blocks if isinstance(b, Table)]
    assert [row[:2] for row in table.rows] == [
        ["no transforms", "0"],
        ["no transforms", "10"],
        ["alpha_beta", "0"],
        ["alpha_beta", "10"],
    ]
    assert table.rows[0][-1] == "80.0, 70.0, 60.0"
    assert table.rows[0][2:6] == ["1.0000", "1e+04", "1e+03", "2"]
    (image,) = [b for b in blocks if isinstance(b, Image)]
    assert image.path.exists()
    paragraph = next(b for b in blocks if isinstance(b, Paragraph))
    assert "`wine`" in paragraph.text and "100 training samples" in paragraph.text
    assert HessianAngles.mean_angles(tmp_path) == {"no transforms": 65.0, "alpha_beta": 40.0}


def test_binary_blocks_show_every_row(tmp_path: Path) -> None:
    from boostprop.bench.extras.wang_binary import BinaryLogistic

    _write_binary(tmp_path)
    blocks = BinaryLogistic().blocks(tmp_path, tmp_path)
    (table,) = [b for b in blocks if isinstance(b, Table)]
    assert list(table.header) == [
        "data set",
        "model",
        "iterations",
        "train acc %",
        "test acc %",
        "seconds",
    ]
    assert [list(r) for r in table.rows] == [
        ["breast_cancer", "LR", "12", "98.50", "97.00", "0.012"],
        ["breast_cancer", "RLO k=3", "7", "99.00", "96.49", "0.500"],
    ]


def test_ergen_blocks_show_every_method(tmp_path: Path) -> None:
    from boostprop.bench.extras.ergen_convex import ConvexVsSTE

    _write_ergen(tmp_path)
    (tmp_path / "skipped.txt").write_text("fashion_pair: Fashion-MNIST is not available\n")
    blocks = ConvexVsSTE().blocks(tmp_path, tmp_path)
    assert blocks[0] == Paragraph("Skipped: fashion_pair: Fashion-MNIST is not available")
    (table,) = [b for b in blocks if isinstance(b, Table)]
    methods = [row[0] for row in table.rows]
    assert methods == [
        "convex 2-layer",
        "convex 3-layer (own objective)",
        *(f"STE {v}" for v in STE_VARIANTS),
        *(f"STE {v} (3-layer; own objective)" for v in STE_VARIANTS),
    ]
    # convex 2-layer: objective 1, 90% test and train accuracy, 0.5 s, two seeds
    assert table.rows[0] == ["convex 2-layer", "1", "90.00", "90.00", "0.5", "2"]
    # STE: final objective 2, 80%, total seconds 2 × 5
    assert table.rows[2][1:] == ["2", "80.00", "80.00", "10", "2"]
    assert sum(isinstance(b, Image) for b in blocks) == 2


# ------------------------------------------- a baseline that missed the target: no verdict words
# Where every baseline recipe of a comparison (softmax-CE with SGD / Adam, the plain tanh
# network) missed the target in most of its final runs, the comparison says nothing about the
# claim: Claim.judge_protocol makes it inconclusive with the reason, whatever the rule says.
MISS: Outcome = ([None, None], [0.30, 0.31])
HOLDS: dict[str, Callable[[str, str], Outcome]] = {  # the candidate is fast: the rule says holds
    "baselines": _fast(ADAM),
    "combinations": _fast(*PAIR_NAMES),
    "munoz2025": _fast("neuronboost"),
    "oland2017": _fast("expboost+sgd", "expboost+adam"),
    "raiko2012": _fast("shortcut-ab"),
    "wang2023": _wang(),
}
GUARDED = sorted(HOLDS)
VERDICT_WORDS = ("holds", "not reproduced", "partly")


def _baselines_miss(
    name: str, only: str | None = None, miss: Outcome = MISS
) -> Callable[[str, str], Outcome]:
    """The claim's outcomes where it holds, except that its baselines get ``miss`` (in
    comparison ``only``, or in all)."""
    holds = HOLDS[name]
    return lambda cid, r: miss if r in BASELINE_RECIPES and only in (None, cid) else holds(cid, r)


def test_every_claim_with_comparisons_has_a_baseline_to_guard() -> None:
    with_comparisons = sorted(n for n, c in CLAIMS.items() if c.comparisons(Preset.SMOKE))
    assert with_comparisons == GUARDED
    for name in GUARDED:
        for c in get_claim(name).comparisons(Preset.SMOKE, None):
            assert set(c.recipes) & set(get_claim(name).baselines), (name, c.id)


@pytest.mark.parametrize("name", GUARDED)
def test_baseline_missing_the_target_makes_the_claim_inconclusive(
    name: str, tmp_path: Path
) -> None:
    claim = get_claim(name)
    summaries = _summaries(name, _baselines_miss(name))
    # the rule alone would judge a candidate that beats a baseline which never got there
    assert claim.judge(summaries, tmp_path).status != "inconclusive"
    v = claim.judge_protocol("tuned", summaries, tmp_path)
    assert v.status == "inconclusive", v
    assert len(v.details) == len(summaries)
    for cid, detail in zip(summaries, v.details, strict=True):
        assert detail.startswith(f"{cid}: the baseline did not reach the target (")
        assert detail.endswith("→ inconclusive")
        assert "missed it in 2 of 2 final runs" in detail
    words = " ".join((v.status, v.measured, *v.details, *v.effects))
    assert [w for w in VERDICT_WORDS if w in words] == []
    # what was measured is still shown, after where the baseline missed
    assert v.effects[0] == f"the baseline missed the target in {', '.join(summaries)}"
    assert len(v.effects) > 1


@pytest.mark.parametrize("name", [n for n in GUARDED if n != "combinations"])
def test_baseline_missing_in_one_comparison_leaves_the_others_judged(
    name: str, tmp_path: Path
) -> None:
    first = get_claim(name).comparisons(Preset.SMOKE)[0].id
    summaries = _summaries(name, _baselines_miss(name, only=first))
    v = get_claim(name).judge_protocol("tuned", summaries, tmp_path)
    # holds in the others, inconclusive in the first: partly holds (as `combine` has it)
    assert v.status == "partly holds", v
    reasons = [d for d in v.details if "the baseline did not reach the target" in d]
    assert len(reasons) == 1 and reasons[0].startswith(f"{first}: the baseline did not reach")
    assert reasons[0].endswith("→ inconclusive")


@pytest.mark.parametrize("name", GUARDED)
def test_baseline_missing_in_half_its_runs_is_judged_by_the_rule(name: str, tmp_path: Path) -> None:
    half: Outcome = ([None, 4], [0.30, 0.31])  # one of two runs missed: not most
    summaries = _summaries(name, _baselines_miss(name, miss=half))
    claim = get_claim(name)
    assert claim.judge_protocol("tuned", summaries, tmp_path) == claim.judge(summaries, tmp_path)


def test_the_paper_protocol_is_guarded_too(tmp_path: Path) -> None:
    claim = get_claim("munoz2025")
    summaries = {}
    for c in claim.comparisons(Preset.SMOKE, "paper"):
        c = dataclasses.replace(c, epochs=10)
        outcome = {r: MISS if r in BASELINE_RECIPES else FAST for r in c.recipes}
        summaries[c.id] = summarize_comparison(c, fabricate(c, outcome))
    assert claim.judge_protocol("paper", summaries, tmp_path).status == "inconclusive"
    assert claim.paper_judge is not None
    assert claim.paper_judge(summaries, tmp_path).status == "holds"


def test_munoz_paper_arm_details_name_its_one_learning_rate_and_missing_sgd(
    tmp_path: Path,
) -> None:
    """The paper protocol's comparison has one learning rate and no SGD recipe: its details say
    so instead of a spread over a one-point grid (0.0 vs 0.0) and a step ratio of NaN."""
    claim = get_claim("munoz2025")
    summaries = {}
    for c in claim.comparisons(Preset.SMOKE, "paper"):
        c = dataclasses.replace(c, epochs=10)
        summaries[c.id] = summarize_comparison(
            c, fabricate(c, {r: (FAST if "neuronboost" in r else SLOW) for r in c.recipes})
        )
    assert summaries, "the smoke preset plans Munoz's paper arm"
    v = claim.judge_protocol("paper", summaries, tmp_path)
    assert v.details and all(
        "one learning rate (no grid)" in d and "no SGD recipe in this comparison" in d
        for d in v.details
    )
    assert not any("nan" in d or "spread" in d for d in v.details)
    # a tuned comparison (the quick preset's three-point grid) still reports the spread
    c = dataclasses.replace(claim.comparisons(Preset.QUICK)[0], epochs=10)
    seeds = ([4] * c.seeds, [0.80] * c.seeds)
    quick = {c.id: summarize_comparison(c, fabricate(c, {r: seeds for r in c.recipes}))}
    tuned = claim.judge(quick, tmp_path)
    assert tuned.details and all("lr-grid spread" in d for d in tuned.details)
