"""The paper protocols of Øland et al. 2017 and Wang et al. 2023: the learning-rate schedules
against closed forms and torch's schedulers, the paper recipes' constants, the paper arms, and
each claim's paper verdict for every status it can give, from constructed outcomes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from test_claims import fabricate

from boostprop.bench.claims import get_claim, oland2017, wang2023
from boostprop.bench.presets import Preset
from boostprop.bench.recipes import HOOKS, get_recipe
from boostprop.bench.recipes.schedules import Cosine, StepDecay
from boostprop.bench.runner import build_run, make_spec, prepare_data, train_step
from boostprop.bench.summary import ComparisonSummary, summarize_comparison
from boostprop.bench.workloads import get_workload


# ---------------------------------------------------------------------------------- schedules
def _optimizer(lrs: tuple[float, ...] = (0.1, 0.025)) -> torch.optim.Optimizer:
    """SGD with one parameter group per learning rate (a group's base is its own rate)."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0])


def _lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def _cosine_closed_form(base: float, t: int, total: int, min_factor: float = 0.0) -> float:
    """Loshchilov and Hutter's cosine annealing, written out in float64."""
    eta_min = min_factor * base
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2


@pytest.mark.parametrize("min_factor", [0.0, 0.1])
def test_cosine_per_step_is_the_closed_form_and_torchs_scheduler(min_factor: float) -> None:
    steps_per_epoch, epochs = 5, 3
    total = steps_per_epoch * epochs
    ours = _optimizer()
    hook = HOOKS["cosine"](torch.nn.Linear(1, 1), min_factor=min_factor, interval="step")
    hook.bind(ours, steps_per_epoch, epochs)  # type: ignore[attr-defined]
    refs = [_optimizer((lr,)) for lr in (0.1, 0.025)]
    scheds = [
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=min_factor * lr)
        for o, lr in zip(refs, (0.1, 0.025), strict=True)
    ]
    seen = [_lrs(ours)]
    for t in range(1, total + 1):
        for o in refs:
            o.step()
        for s in scheds:
            s.step()
        hook.after_step(torch.zeros(1))
        if t % steps_per_epoch == 0:
            hook.on_epoch_end(torch.zeros(1))  # a per-step schedule ignores epochs
        got = _lrs(ours)
        seen.append(got)
        for base, lr, ref in zip((0.1, 0.025), got, refs, strict=True):
            assert lr == pytest.approx(_cosine_closed_form(base, t, total, min_factor), rel=1e-12)
            assert lr == pytest.approx(float(ref.param_groups[0]["lr"]), rel=1e-9, abs=1e-15)
    assert seen[0] == [0.1, 0.025]  # the first step runs at the base rates
    assert seen[-1] == pytest.approx([min_factor * 0.1, min_factor * 0.025], abs=1e-15)


def test_cosine_per_epoch_is_torchs_scheduler_stepped_per_epoch() -> None:
    """The authors' CosineAnnealingLR(optimizer, n_epochs) stepped once per epoch (without the
    one-epoch lag of their ``scheduler.step(epoch - 1)``): constant within an epoch."""
    steps_per_epoch, epochs = 4, 6
    ours, ref = _optimizer((1e-3,)), _optimizer((1e-3,))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(ref, T_max=epochs)
    hook = HOOKS["cosine"](torch.nn.Linear(1, 1), interval="epoch")
    hook.bind(ours, steps_per_epoch, epochs)  # type: ignore[attr-defined]
    per_epoch = []
    for _ in range(epochs):
        within = []
        for _ in range(steps_per_epoch):
            within.append(_lrs(ours)[0])
            hook.after_step(torch.zeros(1))
        assert within == [within[0]] * steps_per_epoch
        assert within[0] == pytest.approx(float(ref.param_groups[0]["lr"]), rel=1e-9)
        per_epoch.append(within[0])
        hook.on_epoch_end(torch.zeros(1))
        ref.step()
        sched.step()
    # hand values: 1e-3 · (1 + cos(π e / 6)) / 2 for e = 0 … 5
    hand = [1e-3, 0.9330127e-3, 0.75e-3, 0.5e-3, 0.25e-3, 0.0669873e-3]
    assert per_epoch == pytest.approx(hand, rel=1e-6)


def test_step_decay_is_torchs_multistep_scheduler() -> None:
    """Milestones 50% and 75% of 15 epochs: decays after epochs ceil(7.5) = 8 and ceil(11.25) =
    12, as MultiStepLR([8, 12]) stepped per epoch."""
    epochs = 15
    ours, ref = _optimizer((0.01,)), _optimizer((0.01,))
    sched = torch.optim.lr_scheduler.MultiStepLR(ref, milestones=[8, 12], gamma=0.1)
    hook = HOOKS["step-decay"](torch.nn.Linear(1, 1))  # defaults: (0.5, 0.75), 0.1, per epoch
    hook.bind(ours, 3, epochs)  # type: ignore[attr-defined]
    per_epoch = []
    for _ in range(epochs):
        per_epoch.append(_lrs(ours)[0])
        assert per_epoch[-1] == pytest.approx(float(ref.param_groups[0]["lr"]), rel=1e-12)
        hook.after_step(torch.zeros(1))  # a per-epoch schedule ignores steps
        hook.on_epoch_end(torch.zeros(1))
        ref.step()
        sched.step()
    assert per_epoch == pytest.approx([0.01] * 8 + [0.001] * 4 + [0.0001] * 3, rel=1e-12)


def test_step_decay_per_step() -> None:
    steps_per_epoch, epochs = 2, 5  # 10 steps; milestones ceil(3.0) = 3, ceil(8.0) = 8
    ours = _optimizer((1.0,))
    hook = StepDecay(milestones=[0.3, 0.8], gamma=0.5, interval="step")
    hook.bind(ours, steps_per_epoch, epochs)
    seen = [_lrs(ours)[0]]
    for _ in range(steps_per_epoch * epochs):
        hook.after_step(torch.zeros(1))
        seen.append(_lrs(ours)[0])
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_schedule_rebinds_and_stays_at_its_end() -> None:
    opt = _optimizer((0.2,))
    hook = Cosine(interval="epoch")
    hook.bind(opt, 1, 2)
    for _ in range(4):  # more epochs than bound: the schedule stays at its last value
        hook.on_epoch_end(torch.zeros(1))
    assert _lrs(opt) == [0.0]
    opt.param_groups[0]["lr"] = 0.4
    hook.bind(opt, 1, 2)  # a new run: the current rate is the new base
    assert _lrs(opt) == [0.4]


def test_schedule_errors_name_the_argument() -> None:
    model = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match="interval"):
        HOOKS["cosine"](model, interval="batch")
    with pytest.raises(ValueError, match="min_factor"):
        HOOKS["cosine"](model, min_factor=1.5)
    for bad in ([], [0.75, 0.5], [0.5, 0.5], [0.0], [1.0], "0.5"):
        with pytest.raises(ValueError, match="milestones"):
            HOOKS["step-decay"](model, milestones=bad)
    with pytest.raises(ValueError, match="gamma"):
        HOOKS["step-decay"](model, gamma=0.0)
    hook = HOOKS["cosine"](model)
    with pytest.raises(RuntimeError, match="bind"):
        hook.after_step(torch.zeros(1))
    for args, what in (((0, 3), "steps_per_epoch"), ((2, 0), "epochs"), ((2.0, 3), "steps_per")):
        with pytest.raises(ValueError, match=what):
            hook.bind(_optimizer(), *args)  # type: ignore[attr-defined]


def test_the_runner_binds_a_paper_schedule() -> None:
    """Built by the runner from a resolved spec: the schedule starts at the run's learning rate
    and follows the per-epoch cosine through the runner's own step function."""
    spec = make_spec(
        "rooted-paper-k3+adam-cosine", "iris", "mlp", {"widths": [8]}, lr=0.02, seed=0,
        epochs=4, batch_size=32,
    )  # fmt: skip
    data = prepare_data("iris")
    model, loss_fn, optimizer, hooks = build_run(spec, data)
    x, y = data.train
    steps = math.ceil(len(y) / spec.batch_size)
    for epoch in range(spec.epochs):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(
            _cosine_closed_form(0.02, epoch, spec.epochs), rel=1e-12
        )
        for i in range(steps):
            sl = slice(i * spec.batch_size, (i + 1) * spec.batch_size)
            train_step(model, loss_fn, optimizer, hooks, x[sl], y[sl])
        for h in hooks:
            h.on_epoch_end(x)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-18)


# ----------------------------------------------------------------------------- paper recipes
def test_wang_paper_recipes_hold_the_authors_constants() -> None:
    comps = {
        name: get_recipe(name).resolve("cnn", {}, (1, 28, 28))
        for name in wang2023.PAPER_RECIPES.values()
    }
    for name, c in comps.items():
        assert get_recipe(name).lr == 1e-3  # the authors' ResNet rate
        assert c["optimizer"] == {"name": "adam", "kwargs": {"weight_decay": 0.0}}, name
        assert c["hooks"] == [
            {"name": "cosine", "kwargs": {"interval": "epoch", "min_factor": 0.0}}
        ], name
        assert c["loss"]["kwargs"]["label_smoothing"] == 0.0, name
    rlo = comps["rooted-paper-k3+adam-cosine"]["loss"]
    assert rlo["name"] == "rooted"
    assert (rlo["kwargs"]["k"], rlo["kwargs"]["m"], rlo["kwargs"]["form"]) == (3.0, 3.0, "paper")
    focal = comps["focal-paper+adam-cosine"]["loss"]
    assert (focal["name"], focal["kwargs"]["alpha"], focal["kwargs"]["gamma"]) == (
        "focal",
        0.25,
        3.0,
    )
    assert comps["softmax-ce+adam-cosine"]["loss"]["name"] == "softmax-ce"


def test_oland_paper_recipes_share_one_sgd_setup() -> None:
    setups = set()
    for name in oland2017.PAPER_RECIPES.values():
        r = get_recipe(name)
        c = r.resolve("cnn", {}, (1, 28, 28))
        setups.add((r.lr, repr(c["optimizer"]), repr(c["hooks"])))
    assert len(setups) == 1  # every output trains with the same setup, only the loss differs
    (lr, _, _) = setups.pop()
    assert lr == 0.01
    c = get_recipe("expboost+sgd-step").resolve("cnn", {}, (1, 28, 28))
    assert c["optimizer"] == {
        "name": "sgd-momentum",
        "kwargs": {"momentum": 0.9, "weight_decay": 5e-4},
    }
    assert c["hooks"] == [
        {
            "name": "step-decay",
            "kwargs": {"gamma": 0.1, "interval": "epoch", "milestones": [0.5, 0.75]},
        }
    ]
    assert (c["loss"]["kwargs"]["alpha"], c["loss"]["kwargs"]["beta"]) == (0.1, 0.0)


# -------------------------------------------------------------------------------- paper arms
@pytest.mark.parametrize("name", ["oland2017", "wang2023"])
def test_paper_arms_run_in_standard_and_full_only(name: str) -> None:
    claim = get_claim(name)
    assert claim.paper_protocol and claim.paper_judge is not None
    for preset in (Preset.SMOKE, Preset.QUICK):
        assert claim.comparisons(preset, "paper") == []
    for preset in (Preset.STANDARD, Preset.FULL):
        comps = claim.comparisons(preset, "paper")
        assert comps, preset
        for c in comps:
            assert c.protocol == "paper" and c.id.endswith("_paper")
            assert c.lr_extend_max == 0 and len(c.lr_factors) == 1  # untuned
            assert all(len(g) == 1 for g in c.lr_grids.values())
            assert c.seeds >= 5


def test_wang_paper_arms_use_the_authors_batch_and_rates() -> None:
    for preset in (Preset.STANDARD, Preset.FULL):
        for c in get_claim("wang2023").comparisons(preset, "paper"):
            assert c.batch_size == 512
            vit = get_workload(c.id.removesuffix("_paper")).model == "vit"
            assert set(c.lr_grids.values()) == {(1e-4,) if vit else (1e-3,)}
            assert "softmax-ce+adam-cosine" in c.recipes
            assert "rooted-paper-k3+adam-cosine" in c.recipes
    full = get_claim("wang2023").comparisons(Preset.FULL, "paper")
    assert all("focal-paper+adam-cosine" in c.recipes for c in full)


@pytest.mark.parametrize("preset", [Preset.STANDARD, Preset.FULL])
def test_paper_epochs_follow_the_workloads_budgets(preset: Preset) -> None:
    """Wang: as many steps at batch 512 as the workload's budget at its batch (4× the epochs
    at 128); Øland: twice the workload's epochs; both on the workload's subset and model."""
    factors = {"wang2023": None, "oland2017": 2}
    for name, factor in factors.items():
        for c in get_claim(name).comparisons(preset, "paper"):
            w = get_workload(c.id.removesuffix("_paper"))
            b = w.budgets[preset]
            want = math.ceil(b.epochs * 512 / b.batch_size) if factor is None else 2 * b.epochs
            assert c.epochs == want, (name, c.id)
            assert (c.train_subset, c.eval_subset, c.seeds) == (
                b.train_subset,
                b.eval_subset,
                b.seeds,
            )
            assert c.model_kwargs == {**w.model_kwargs, **(b.model_kwargs or {})}
            assert c.target == b.target


def test_wang_paper_rate_is_refused_for_a_model_the_paper_gives_none() -> None:
    assert wang2023.paper_lr_factor("fashion_resnet") == 1.0
    with pytest.raises(ValueError, match=r"workload: .*'fashion_mlp' trains a 'mlp' model"):
        wang2023.paper_lr_factor("fashion_mlp")


def test_oland_paper_arms_use_the_shared_setup() -> None:
    for preset in (Preset.STANDARD, Preset.FULL):
        for c in get_claim("oland2017").comparisons(preset, "paper"):
            assert c.batch_size == 128
            assert set(c.lr_grids.values()) == {(0.01,)}
            assert {"softmax-ce+sgd-step", "expboost+sgd-step"} <= set(c.recipes)
            assert get_workload(c.id.removesuffix("_paper")).model in ("cnn", "resnet")


# ------------------------------------------------------------------------------ paper verdicts
Outcome = tuple[list[int | None], list[float]]  # per seed: epochs to target, test accuracy
SLOW: Outcome = ([4, 4], [0.800, 0.802])
MISS: Outcome = ([None, None], [0.300, 0.310])


def _paper_summaries(
    name: str, outcomes: Callable[[str, str], Outcome] | None
) -> dict[str, ComparisonSummary]:
    """Two paper comparisons of the claim (its first full-preset paper comparison and a copy
    under another id), 10 epochs, 2 seeds; ``outcomes(comparison id, recipe)`` gives each
    recipe's final runs (``None``: no records at all)."""
    first = get_claim(name).comparisons(Preset.FULL, "paper")[0]
    first = dataclasses.replace(first, epochs=10, seeds=2)
    out = {}
    for c in (first, first.with_labels(name, id=f"{first.id}_b")):
        recs = [] if outcomes is None else fabricate(c, {r: outcomes(c.id, r) for r in c.recipes})
        out[c.id] = summarize_comparison(c, recs)
    return out


def _verdict(name: str, outcomes: Callable[[str, str], Outcome] | None, tmp: Path) -> Any:
    return get_claim(name).judge_protocol("paper", _paper_summaries(name, outcomes), tmp)


def _oland(fast: Outcome, only: str | None = None) -> Callable[[str, str], Outcome]:
    """expGB gets ``fast`` (in comparison ``only``, or in all); every other output is SLOW."""
    return lambda cid, r: fast if r == "expboost+sgd-step" and only in (None, cid) else SLOW


FAST_SAME: Outcome = ([3, 3], [0.800, 0.802])  # 0.75× the epochs, same accuracy: holds
NOT_FAST: Outcome = ([4, 4], [0.800, 0.802])  # 1.00× [1.00, 1.00]: excludes 0.75
# median 3.5 / 4 = 0.875 > 0.75, but the interval [0.75, 1.00] contains 0.75: undecided
STRADDLE: Outcome = ([4, 3], [0.800, 0.802])
FAST_WORSE: Outcome = ([1, 1], [0.600, 0.601])  # faster, significantly less accurate
OLAND_FIRST = "fashion_cnn_paper"


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (_oland(FAST_SAME), "holds"),
        (_oland(FAST_SAME, only=OLAND_FIRST), "partly holds"),
        (_oland(NOT_FAST), "not reproduced"),
        (_oland(STRADDLE), "inconclusive"),
        (_oland(FAST_WORSE), "not reproduced"),
        (None, "inconclusive"),  # no finished runs
        # softmax-CE (the paper protocol's baseline) missed the target: no verdict words
        (lambda cid, r: MISS if r == oland2017.PAPER_CE else FAST_SAME, "inconclusive"),
    ],
)
def test_oland_paper_verdict(
    outcomes: Callable[[str, str], Outcome] | None, status: str, tmp_path: Path
) -> None:
    assert get_claim("oland2017").comparisons(Preset.FULL, "paper")[0].id == OLAND_FIRST
    v = _verdict("oland2017", outcomes, tmp_path)
    assert v.status == status, v
    if outcomes is not None and status != "inconclusive":
        assert all("/ sgd-step: expboost vs softmax-CE" in d for d in v.details), v.details


def test_oland_paper_verdict_is_not_the_tuned_rule(tmp_path: Path) -> None:
    """The tuned rule looks for ``expboost+sgd`` / ``+adam``: on the paper's comparisons it
    finds nothing to judge, the paper rule does."""
    summaries = _paper_summaries("oland2017", _oland(FAST_SAME))
    assert oland2017.judge(summaries, tmp_path).status == "inconclusive"
    assert oland2017.paper_judge(summaries, tmp_path).status == "holds"


def _wang(gain: Outcome, only: str | None = None) -> Callable[[str, str], Outcome]:
    """RLO gets ``gain`` (in comparison ``only``, or in all); CE and focal are SLOW."""
    rlo = "rooted-paper-k3+adam-cosine"
    return lambda cid, r: gain if r == rlo and only in (None, cid) else SLOW


GAIN: Outcome = ([3, 3], [0.820, 0.822])  # +2.0 [+1.8, +2.2] points and faster: holds
GAIN_UNCLEAR: Outcome = ([3, 3], [0.813, 0.817])  # +1.4 points, interval contains 1.4
SMALL: Outcome = ([3, 3], [0.810, 0.812])  # +1.0 point only
GAIN_SLOW: Outcome = ([5, 5], [0.820, 0.822])  # +2.0 points but slower
WANG_FIRST = get_claim("wang2023").comparisons(Preset.FULL, "paper")[0].id


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (_wang(GAIN), "holds"),
        (_wang(GAIN, only=WANG_FIRST), "partly holds"),
        (_wang(SMALL), "not reproduced"),
        (_wang(GAIN_SLOW), "not reproduced"),
        (_wang(GAIN_UNCLEAR), "inconclusive"),
        (None, "inconclusive"),  # no finished cross-entropy runs
        (lambda cid, r: MISS if r == wang2023.PAPER_CE else GAIN, "inconclusive"),
    ],
)
def test_wang_paper_verdict(
    outcomes: Callable[[str, str], Outcome] | None, status: str, tmp_path: Path
) -> None:
    v = _verdict("wang2023", outcomes, tmp_path)
    assert v.status == status, v
    if status in ("holds", "not reproduced"):
        for d in v.details:
            assert "/ adam-cosine: best RLO rooted-paper-k3 − softmax-CE test accuracy" in d
            # the gap to the paper's focal baseline is reported (focal: 80.1%, RLO 81.6% or 81.1%)
            assert "− focal (α 0.25, γ 3): Δacc +" in d and "(reported, not judged)" in d


def test_wang_paper_rlo_that_fails_is_not_reproduced(tmp_path: Path) -> None:
    broken = {}
    for cid, s in _paper_summaries("wang2023", _wang(GAIN)).items():
        c = s.comparison
        recs = fabricate(c, {r: GAIN if r.startswith("rooted") else SLOW for r in c.recipes})
        for r in recs:
            if r["recipe"].startswith("rooted") and r["phase"] == "final":
                r.update(status="diverged", epochs_to_target=None, final_val_acc=None)
                r.pop("test_acc")
        broken[cid] = summarize_comparison(c, recs)
    v = get_claim("wang2023").judge_protocol("paper", broken, tmp_path)
    assert v.status == "not reproduced", v
    assert all("every RLO recipe failed" in d for d in v.details)
