"""The paper's protocol of the Ergen et al. 2023 claim (Figure 2, an extra setting): its verdict
rule on constructed results with known outcomes, which presets run it, how the report shows it,
and that its results resume by content."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.claims.ergen2023 import PAPER_PROTOCOL, paired_gap, paper_judge
from boostprop.bench.extras import ExtraContext, ergen_convex
from boostprop.bench.extras.ergen_convex import (
    FIGURE2,
    STE_VARIANTS,
    ConvexVsSTE,
    Setting,
    setting_fields,
)
from boostprop.bench.pipeline import claims_plan
from boostprop.bench.plan import write_plan
from boostprop.bench.presets import Preset
from boostprop.bench.report import build_report
from boostprop.bench.verdicts import Verdict

N_TEST = 2000


def _outcomes(n_right: int, n: int = N_TEST, first: int = 0) -> str:
    """``n`` test outcomes, the points ``first`` .. ``first + n_right - 1`` right ("1")."""
    return "".join("1" if first <= i < first + n_right else "0" for i in range(n))


def _paper_result(
    *,
    convex: dict[str, str] | None = None,
    ste: dict[str, str] | None = None,
    convex_seconds: float = 0.03,
    ste_seconds: float = 1.0,
    setting: str = "figure2",
) -> dict[str, Any]:
    """What ``ConvexVsSTE`` writes for a paper-protocol setting (one seed): the convex
    reconstructions' and the three-layer STE variants' test outcomes (default: Convex-PI and
    Convex-SVM right on the first 1,600 of 2,000 test points, every STE variant on the first
    1,500), the convex fit taking ``convex_seconds`` and each STE run ``ste_seconds`` to come
    within 1% of its final loss."""
    convex = convex if convex is not None else {"pi": _outcomes(1600), "svm": _outcomes(1600)}
    ste = ste if ste is not None else dict.fromkeys(STE_VARIANTS, _outcomes(1500))
    convex3 = [
        {
            "seed": 0,
            "second_layer": m,
            "width": 1000,
            "objective": 0.2,
            "objective_over_n": 0.002,
            "exact": True,
            "n_neurons": 9,
            "seconds": convex_seconds,
            "train_acc": 1.0,
            "test_acc": o.count("1") / len(o),
            "test_outcomes": o,
        }
        for m, o in convex.items()
    ]
    ste_runs = [
        {
            "variant": v,
            "depth": 3,
            "seed": 0,
            "final_objective": 0.03,
            "objective": [0.5, 0.03, 0.03],
            "seconds": [0.0, ste_seconds, 8 * ste_seconds],
            "test_accuracy": [0.5, o.count("1") / len(o), o.count("1") / len(o)],
            "train_accuracy": [0.5, 1.0, 1.0],
            "total_seconds": 8 * ste_seconds,
            "converged_seconds": ste_seconds,
            "train_acc": 1.0,
            "test_acc": o.count("1") / len(o),
            "test_outcomes": o,
        }
        for v, o in ste.items()
    ]
    return {
        "setting": setting,
        "protocol": "paper",
        "setting_fields": setting_fields(FIGURE2),
        "dataset": "teacher",
        "n_train": 100,
        "n_test": N_TEST,
        "n_classes": 2,
        "beta": 0.1,
        "ste_width": 1000,
        "ste_widths": {"3": [1000, 100]},
        "ste_epochs": 2000,
        "ste_objective": "paper",
        "ste_bias": False,
        "ste_dtype": "float32",
        "teacher_bias": True,
        "convex": [
            {
                "seed": 0,
                "objective": 1.1,
                "network_objective": 1.1,
                "gap": 1e-7,
                "n_patterns": 900,
                "n_neurons": 30,
                "seconds": 0.09,
                "reproduces_Hc": True,
                "train_acc": 1.0,
                "test_acc": 0.7,
            }
        ],
        "convex3": convex3,
        "ste": ste_runs,
    }


def _judge(d: Path, *results: dict[str, Any]) -> Verdict:
    for res in results:
        (d / f"{res['setting']}.json").write_text(json.dumps(res))
    return get_claim("ergen2023").judge_protocol("paper", {}, d)


# The rule (ergen2023.PAPER_PROTOCOL): "per reconstruction: holds when its test accuracy is above
# every STE variant's final test accuracy — the 95% interval of the paired difference over the
# test points lies above zero — and its fit ... takes less time than each STE variant's training
# to come within 1% ... of its final loss ...; not reproduced when some STE variant tests higher
# (interval below zero) or is as fast; inconclusive otherwise (an interval that contains zero).
# The two reconstructions combine as the main protocol's settings do".
RULE_WORDS = [
    "holds when its test accuracy is above every STE variant's final test accuracy",
    "the 95% interval of the paired difference over the test points lies above zero",
    "takes less time than each STE variant's training to come within 1%",
    "not reproduced when some STE variant tests higher (interval below zero) or is as fast",
    "inconclusive otherwise (an interval that contains zero)",
    "both hold: holds; one holds: partly holds",
    "Run in the standard and full presets",
]

# one STE variant right on the points 0..1619: 20 more than Convex-PI's 1,600 (paired: 1.0 points
# [0.56, 1.44] above it), the others as the default
STE_ABOVE = {**dict.fromkeys(STE_VARIANTS, _outcomes(1500)), "relu": _outcomes(1620)}
CASES: dict[str, dict[str, Any]] = {
    "holds": {},
    # Convex-PI ties the best STE variant exactly (interval [0, 0]), Convex-SVM is above all
    "partly holds": {"convex": {"pi": _outcomes(1500), "svm": _outcomes(1600)}},
    # an STE variant tests 1 point above both reconstructions on the same points
    "not reproduced": {"ste": STE_ABOVE},
    # both 0.5 points above the STE variants, but on different points: interval contains zero
    "inconclusive": {
        "convex": {"pi": _outcomes(1510, first=400), "svm": _outcomes(1510, first=400)}
    },
}


def test_the_rule_words_the_cases_were_derived_from() -> None:
    claim = get_claim("ergen2023")
    assert claim.paper_protocol == PAPER_PROTOCOL
    for words in RULE_WORDS:
        assert words in PAPER_PROTOCOL, words
    assert "about 200 s on this machine" in PAPER_PROTOCOL  # its cost is stated


@pytest.mark.parametrize("status", list(CASES))
def test_paper_rule_gives_each_status(status: str, tmp_path: Path) -> None:
    v = _judge(tmp_path, _paper_result(**CASES[status]))
    assert v.status == status, v.measured
    assert v.scope == "seeds: 1; data: figure2 (n = 100, 2000 test points)"
    assert len(v.details) == 2  # one line per reconstruction
    assert v.details[0].startswith("figure2, Convex-PI: ")
    assert v.details[1].startswith("figure2, Convex-SVM: ")
    ends = [d.rsplit(" → ", 1)[1] for d in v.details]  # each line ends with its own status
    assert set(ends) <= {"holds", "not reproduced", "inconclusive"}
    assert (status in ends) or (status == "partly holds" and "holds" in ends)


def test_no_paper_result_is_inconclusive(tmp_path: Path) -> None:
    v = _judge(tmp_path)
    assert (v.status, v.measured) == ("inconclusive", "no data: the Figure 2 run has not finished")


def test_the_interval_is_paired_over_test_points(tmp_path: Path) -> None:
    # Convex-PI is right wherever STE relu is, and on 20 more of the 2,000 points: +1.0 points.
    # Unpaired, 80.0% vs 81.0% on 2,000 points each would give ±2.5 points (inconclusive);
    # paired, the differences are 20 ones and 1,980 zeros: sd = sqrt(20·0.99²+1980·0.01²)/sqrt(1999)
    # = 0.09950, half-width 1.959964 · 0.09950 / sqrt(2000) = 0.00436 → [0.56, 1.44] points.
    convex = {"pi": _outcomes(1620), "svm": _outcomes(1620)}
    ste = {**dict.fromkeys(STE_VARIANTS, _outcomes(1500)), "relu": _outcomes(1600)}
    v = _judge(tmp_path, _paper_result(convex=convex, ste=ste))
    assert v.status == "holds", v.measured
    assert "STE relu 80.00%, Δ +1.00 [+0.56, +1.44] pts" in v.details[0]
    assert v.effects[0] == (
        "figure2 Convex-PI: Δacc vs STE relu +1.00 [+0.56, +1.44] pts (paired over test points), "
        "seconds 0.03×"
    )


def test_paired_gap_by_hand() -> None:
    # d = (0, 0, 1, 1, 0, 0, 0, 0): mean 0.25, sd sqrt((6·0.25² + 2·0.75²)/7) = 0.462910,
    # half-width 1.959964 · 0.462910 / sqrt(8) = 0.320780
    gap, lo, hi = paired_gap("11110000", "11000000")
    assert (gap, lo, hi) == pytest.approx((25.0, 25.0 - 32.0780, 25.0 + 32.0780), abs=1e-3)
    assert paired_gap("1010", "1010") == (0.0, 0.0, 0.0)  # a tie: the interval is [0, 0]
    with pytest.raises(ValueError, match="outcomes"):
        paired_gap("10", "101")


def test_a_slower_convex_fit_is_not_reproduced(tmp_path: Path) -> None:
    v = _judge(tmp_path, _paper_result(convex_seconds=1.0, ste_seconds=1.0))  # as fast: not faster
    assert v.status == "not reproduced"
    assert all(
        "as fast or faster: STE identity, relu, leaky_relu, clipped_relu" in d for d in v.details
    )


def test_a_diverged_ste_run_counts_as_never_converging(tmp_path: Path) -> None:
    res = _paper_result()
    res["ste"][0]["converged_seconds"] = math.inf  # its loss never settled: no time to beat
    assert _judge(tmp_path, res).status == "holds"


def test_missing_test_outcomes_are_inconclusive_not_a_verdict(tmp_path: Path) -> None:
    res = _paper_result()
    for r in res["ste"]:
        del r["test_outcomes"]  # a file of an older extra: nothing to pair
    v = _judge(tmp_path, res)
    assert v.status == "inconclusive"
    assert "STE identity: no test outcomes recorded" in v.details[0]


def _tuned_result(setting: str) -> dict[str, Any]:
    """A main-protocol result (two-layer Lasso vs two-layer STE, no ``protocol`` key as files
    written before it) where the claim's main rule holds: objective 1 vs 2, 90% vs 80% test
    accuracy, 0.5 s vs 5 s."""
    convex = {"objective": 1.0, "test_acc": 0.9, "seconds": 0.5}
    ste = {"depth": 2, "final_objective": 2.0, "test_acc": 0.8, "converged_seconds": 5.0}
    ste["total_seconds"] = 10.0
    return {
        "setting": setting,
        "convex": [{"seed": s, **convex} for s in range(2)],
        "convex3": [],
        "ste": [{"variant": v, "seed": s, **ste} for v in STE_VARIANTS for s in range(2)],
    }


def test_the_two_protocols_read_only_their_own_files(tmp_path: Path) -> None:
    (tmp_path / "teacher_n100.json").write_text(json.dumps(_tuned_result("teacher_n100")))
    (tmp_path / "figure2.json").write_text(json.dumps(_paper_result(ste=STE_ABOVE)))
    claim = get_claim("ergen2023")
    tuned = claim.judge_protocol("tuned", {}, tmp_path)
    assert tuned.status == "holds" and tuned.scope.endswith("data: teacher_n100")
    assert paper_judge({}, tmp_path).status == "not reproduced"
    assert [r["setting"] for r in ConvexVsSTE.results(tmp_path, "paper")] == ["figure2"]
    with pytest.raises(ValueError, match="protocol"):
        ConvexVsSTE.results(tmp_path, "official")


def test_a_main_protocol_file_without_two_layer_ste_is_not_a_verdict(tmp_path: Path) -> None:
    res = {**_paper_result(), "protocol": "tuned"}  # three-layer STE only (as Figure 2)
    (tmp_path / "figure2.json").write_text(json.dumps(res))
    v = get_claim("ergen2023").judge({}, tmp_path)
    assert (v.status, v.details) == (
        "inconclusive",
        ("figure2: no two-layer STE run to compare with → inconclusive",),
    )


@pytest.mark.parametrize("preset", list(Preset))
def test_standard_and_full_run_figure2_smoke_and_quick_do_not(preset: Preset) -> None:
    claim = get_claim("ergen2023")
    runs = preset in (Preset.STANDARD, Preset.FULL)
    assert (FIGURE2 in claim.sizes[preset]) == runs
    plan, _ = claims_plan(["ergen2023"], preset)
    assert claim.paper_extra_planned(plan) is runs
    # claims whose paper protocol, if any, is comparisons are unchanged
    for name, other in CLAIMS.items():
        if name != "ergen2023":
            assert other.paper_extra is None and other.paper_extra_planned(plan) is None


def _report(out: Path, preset: Preset, *results: dict[str, Any]) -> str:
    plan, _ = claims_plan(["ergen2023"], preset)
    write_plan(out, {**plan, "command": "pytest", "env": {}})
    (out / "ergen2023").mkdir()
    for res in results:
        (out / "ergen2023" / f"{res['setting']}.json").write_text(json.dumps(res))
    build_report(out)
    return (out / "report.md").read_text()


def _verdict_row(md: str) -> list[str]:
    table = md.split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    (row,) = [r for r in table.splitlines() if r.startswith("| [Ergen et al. 2023](#")]
    return [c.strip() for c in row.strip("|").split(" | ")]


def test_report_says_the_paper_protocol_is_not_run_in_quick(tmp_path: Path) -> None:
    md = _report(tmp_path, Preset.QUICK)
    assert _verdict_row(md)[-1] == "not run in this preset"
    section = md.split("## Ergen et al. 2023\n", 1)[1]
    assert (
        f"**Verdict (the paper's protocol): not run in this preset.** {PAPER_PROTOCOL}" in section
    )


def test_report_shows_the_paper_verdict_in_standard(tmp_path: Path) -> None:
    md = _report(tmp_path, Preset.STANDARD, _paper_result(**CASES["partly holds"]))
    assert _verdict_row(md)[-1] == "**partly holds**"
    section = md.split("## Ergen et al. 2023\n", 1)[1]
    assert "**Verdict (the paper's protocol): partly holds.**" in section
    assert "| figure2, Convex-SVM | test accuracy 80.00% after 0.03 s" in section
    row = next(line for line in section.splitlines() if line.startswith("| figure2, Convex-SVM |"))
    assert row.endswith("→ holds |")
    assert "Threshold networks: figure2 (the paper's protocol)" in section
    assert "not run in this preset" not in md


def test_results_resume_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, bool]] = []

    def fake_run(s: Setting, progress: bool = True, outcomes: bool = False) -> dict[str, Any]:
        calls.append((s.name, outcomes))
        return {"setting": s.name, "setting_fields": setting_fields(s)}

    monkeypatch.setattr(ergen_convex, "run_setting", fake_run)
    small = Setting("wine", "wine", seeds=2)
    extra = ConvexVsSTE(paper=("figure2",))

    def run(*sizes: Setting) -> list[tuple[str, bool]]:
        calls.clear()
        extra.run(ExtraContext(Preset.STANDARD, sizes, tmp_path, progress=False))
        return list(calls)

    assert run(small, FIGURE2) == [("wine", False), ("figure2", True)]  # outcomes for the paper's
    assert json.loads((tmp_path / "figure2.json").read_text())["protocol"] == "paper"
    assert json.loads((tmp_path / "wine.json").read_text())["protocol"] == "tuned"
    assert run(small, FIGURE2) == []  # the same settings: resumed
    assert run(Setting("wine", "wine", seeds=3), FIGURE2) == [("wine", False)]  # fields differ
    legacy = {"setting": "figure2"}  # a file written before settings recorded their fields
    (tmp_path / "figure2.json").write_text(json.dumps(legacy))
    assert run(Setting("wine", "wine", seeds=3), FIGURE2) == [("figure2", True)]
    assert not ConvexVsSTE().is_done(FIGURE2, tmp_path / "figure2.json")  # protocol differs
    assert extra.is_done(FIGURE2, tmp_path / "figure2.json")
