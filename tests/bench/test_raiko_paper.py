"""The authors' training loop for raiko2012 (the ``-paper`` recipes and the claim's paper
protocol), checked against hand-computed schedules and a hand-written reference loop that
follows ``ltmlp_train2.m`` of tvatanen/ltmlp-neuralnet."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from boostprop.bench.claims import get_claim
from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset
from boostprop.bench.recipes import get_recipe
from boostprop.bench.recipes.raiko_protocol import (
    FASHION_PIXEL_STD,
    PixelShortcutMLP,
    RaikoProtocol,
    schedule_at,
    sgd_raiko,
)
from boostprop.bench.runner import make_spec, run, train_step
from boostprop.bench.summary import ComparisonSummary, summarize_comparison
from boostprop.nn import ShortcutMLP

NONE_P, AB_P, ABG_P = "shortcut-none-paper", "shortcut-ab-paper", "shortcut-abg-paper"


def _net(sizes: tuple[int, ...] = (3, 4, 4, 2), **kw: Any) -> ShortcutMLP:
    torch.manual_seed(0)
    return ShortcutMLP(list(sizes), transforms=kw.pop("transforms", "alpha_beta"), **kw).double()


# ------------------------------------------------------------------ momentum and lr schedule
def test_schedule_matches_hand_computed_values() -> None:
    # ltmlp_train2.m at the end of epoch e: e < B: m = e/B·0.9 + (1 − e/B)·0.5; e ≥ B: m = 0.5,
    # lr × 0.9. With B = 5, epochs 1…8 (the value in force during each epoch):
    expected = [
        (0.5, 1.0),
        (0.58, 1.0),
        (0.66, 1.0),
        (0.74, 1.0),
        (0.82, 1.0),
        (0.5, 0.9),
        (0.5, 0.81),
        (0.5, 0.729),
    ]
    got = [v for e in range(1, 9) for v in schedule_at(e, 5)]
    assert got == pytest.approx([v for pair in expected for v in pair], abs=1e-12)
    with pytest.raises(ValueError, match="epoch"):
        schedule_at(0, 5)


def test_hook_sets_momentum_and_decayed_lr_per_group_each_epoch() -> None:
    net = _net((3, 4, 4, 2))
    opt = sgd_raiko(net, 0.8)
    hook = RaikoProtocol(net, input_noise=0.0, burnin=2)
    hook.bind(opt, steps_per_epoch=2, epochs=4)
    x = torch.randn(6, 3, dtype=torch.float64)
    seen = []
    for _ in range(8):  # 4 epochs of 2 steps
        hook.train_inputs(x)
        seen.append([(g["role"], g["skip"], g["lr"], g["momentum"]) for g in opt.param_groups])
    # epochs 1..4 with B = 2: weight momentum 0.5, 0.7, 0.5, 0.5; lr factor 1, 1, 0.9, 0.81;
    # biases 0.9 always; a weight skipping k layers has 0.8·2^(−k)
    for epoch, (m_w, f) in enumerate([(0.5, 1.0), (0.7, 1.0), (0.5, 0.9), (0.5, 0.81)], start=1):
        for step in (2 * epoch - 2, 2 * epoch - 1):
            want = [("bias", 0, 0.8 * f, 0.9)] + [
                ("weight", k, 0.8 * 2.0**-k * f, m_w) for k in (0, 1, 2)
            ]
            assert [g[:2] for g in seen[step]] == [w[:2] for w in want]
            got = [v for g in seen[step] for v in g[2:]]
            assert got == pytest.approx([v for w in want for v in w[2:]]), (epoch, step)


def test_burnin_defaults_to_a_third_of_the_run() -> None:
    for epochs, burnin in ((150, 50), (10, 3), (2, 1)):
        net = _net()
        hook = RaikoProtocol(net, input_noise=0.0)
        hook.bind(sgd_raiko(net, 0.1), steps_per_epoch=1, epochs=epochs)
        assert hook.burnin == burnin


def test_bind_needs_the_raiko_optimizer() -> None:
    net = _net()
    with pytest.raises(ValueError, match="sgd-raiko"):
        RaikoProtocol(net).bind(torch.optim.SGD(net.parameters(), lr=0.1), 1, 1)
    with pytest.raises(RuntimeError, match="bind"):
        RaikoProtocol(net).train_inputs(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="switch_error_rate"):
        RaikoProtocol(net, switch_error_rate=2.0)


# --------------------------------------------------------------------------------- noise
def test_noise_is_sigma_in_pixel_units_and_repeatable() -> None:
    net = PixelShortcutMLP([4, 5, 3], input_scale=0.5, transforms="none")
    x = torch.zeros(50_000, 4)

    def noise(**kw: Any) -> torch.Tensor:
        hook = RaikoProtocol(net, **kw)
        hook.bind(sgd_raiko(net, 0.1), steps_per_epoch=1, epochs=1)
        return hook.train_inputs(x)

    a = noise(noise_seed=3)
    # the network multiplies by input_scale 0.5: the noise it sees has σ = 0.3
    assert float((0.5 * a).std()) == pytest.approx(0.3, rel=0.01)
    assert float(a.mean()) == pytest.approx(0.0, abs=0.01)
    assert torch.equal(a, noise(noise_seed=3))
    assert not torch.equal(a, noise(noise_seed=4))
    torch.manual_seed(7)  # noise_seed None: drawn from the run's seeded global generator
    b = noise()
    torch.manual_seed(7)
    assert torch.equal(b, noise())


def test_noise_on_training_batches_only_and_transforms_see_it() -> None:
    """The runner's step hands the noisy batch to the model and to later hooks; the
    transformation statistics are those of the noisy batch; evaluation sees clean inputs."""
    net = _net((3, 6, 2))
    opt = sgd_raiko(net, 0.1)
    hook = RaikoProtocol(net, noise_seed=0)
    hook.bind(opt, steps_per_epoch=1, epochs=1)
    seen: list[torch.Tensor] = []

    class Spy:
        def after_step(self, x: torch.Tensor) -> None:
            seen.append(x)

        def on_epoch_end(self, train_x: torch.Tensor) -> None:
            pass

    x = torch.randn(400, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (400,))
    ref = copy.deepcopy(net)
    noise_gen = torch.Generator().manual_seed(0)
    expected_xb = x + 0.3 * torch.randn(x.shape, generator=noise_gen, dtype=x.dtype)
    ref.update_transforms_(expected_xb)
    train_step(net, torch.nn.functional.cross_entropy, opt, [hook, Spy()], x, y)
    assert torch.equal(seen[0], expected_xb)
    assert float((seen[0] - x).std()) == pytest.approx(0.3, rel=0.1)
    for unit, ref_unit in zip(net.units, ref.units, strict=True):  # stats of the noisy batch
        assert torch.equal(unit.alpha, ref_unit.alpha) and torch.equal(unit.beta, ref_unit.beta)
    assert torch.equal(net(x), net(x))  # the model itself adds nothing: evaluation is clean


# ---------------------------------------------------------------- transform, then step
def _reference(net: ShortcutMLP, x: torch.Tensor, y: torch.Tensor, steps: int, order: str) -> None:
    """ltmlp_train2.m by hand (no noise, epoch 1: biases m = 0.9, weights m = 0.5,
    lr·2^(−k)): v = g + m·v; p −= lr·v; the transformation before the gradient ("transform
    first", the code's order) or after the step."""
    lr = 0.5
    bias_ids = {id(b) for b in net.biases}
    rate = {id(net.weight(m, k)): lr * 2.0 ** -(m - k - 1) for m, k in net.connections}
    params = list(net.parameters())
    vel = [torch.zeros_like(p) for p in params]
    for _ in range(steps):
        if order == "transform first":
            net.update_transforms_(x)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g, v in zip(params, grads, vel, strict=True):
                m = 0.9 if id(p) in bias_ids else 0.5
                v.mul_(m).add_(g)
                p.sub_((lr if id(p) in bias_ids else rate[id(p)]) * v)
        if order == "step first":
            net.update_transforms_(x)


def test_transform_then_step_as_in_the_authors_code() -> None:
    torch.manual_seed(1)
    x = torch.randn(32, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (32,))
    net = _net((3, 5, 5, 2))
    first, after = copy.deepcopy(net), copy.deepcopy(net)
    opt = sgd_raiko(net, 0.5)
    hook = RaikoProtocol(net, input_noise=0.0)
    hook.bind(opt, steps_per_epoch=3, epochs=1)
    for _ in range(3):
        train_step(net, torch.nn.functional.cross_entropy, opt, [hook], x, y)
    _reference(first, x, y, 3, "transform first")
    _reference(after, x, y, 3, "step first")
    ours = {k: v.detach() for k, v in net.named_parameters()}
    step_first = {k: v.detach() for k, v in after.named_parameters()}
    diff_after = 0.0
    for name, p in first.named_parameters():
        torch.testing.assert_close(ours[name], p.detach(), rtol=0, atol=1e-12)
        diff_after = max(diff_after, float((ours[name] - step_first[name]).abs().max()))
    assert diff_after > 1e-4  # the two orders are told apart on this network


# ------------------------------------------------------------------------------ the switch
def test_switch_to_per_epoch_updates_follows_the_validation_errors() -> None:
    net = _net((3, 4, 2))
    calls: list[int] = []
    original = net.update_transforms_

    def spy(x: torch.Tensor, **kw: Any) -> None:
        calls.append(len(x))
        original(x, **kw)

    net.update_transforms_ = spy  # type: ignore[method-assign]
    hook = RaikoProtocol(net, input_noise=0.3, noise_seed=0)
    hook.bind(sgd_raiko(net, 0.1), steps_per_epoch=3, epochs=6)
    train_x = torch.randn(30, 3, dtype=torch.float64)
    # validation errors of 6,000 after epochs 1..5; the threshold is 1% = 60 errors
    errors = [300, 61, 60, 59, 70]
    per_epoch = []
    for epoch in range(1, 7):
        calls.clear()
        for _ in range(3):
            hook.train_inputs(train_x[:10])
        per_epoch.append(list(calls))
        hook.on_epoch_end(train_x)
        if epoch <= len(errors):
            hook.after_validation(epoch, 0.0, 1 - errors[epoch - 1] / 6000, 6000)
    # epochs 1-3 per minibatch (no result yet, 300 > 60, 61 > 60); after 60 errors (not above
    # the threshold) one update on the whole training set at the epoch's start (epochs 4, 5);
    # 70 errors after epoch 5: per minibatch again in epoch 6, as the code re-reads the rule
    assert per_epoch == [[10] * 3, [10] * 3, [10] * 3, [30], [30], [10] * 3]
    assert hook.epoch_updates == 2


def test_switch_does_nothing_without_transformations() -> None:
    net = _net((3, 4, 2), transforms="none")
    hook = RaikoProtocol(net)
    hook.bind(sgd_raiko(net, 0.1), steps_per_epoch=1, epochs=2)
    hook.train_inputs(torch.zeros(4, 3, dtype=torch.float64))
    assert hook.transform_updates == 0


# ---------------------------------------------------------------- recipes, data, a run
def test_paper_recipes_carry_the_authors_constants() -> None:
    lrs = {r: get_recipe(r).lr for r in (NONE_P, AB_P, ABG_P)}
    assert lrs == {NONE_P: 0.05, AB_P: 0.7, ABG_P: 0.2}
    comps = get_recipe(AB_P).resolve("mlp", {"widths": [8]}, (4,))
    assert comps["hooks"][0]["kwargs"]["input_noise"] == 0.3
    assert comps["optimizer"]["name"] == "sgd-raiko"


def test_pixel_std_and_a_smoke_paper_run() -> None:
    """The input scale is the Fashion-MNIST training pixels' std; a smoke paper comparison's
    run trains through the real runner."""
    from boostprop.data import get_dataset

    x, _ = get_dataset("fashion_mnist").load("train", 0)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert float(x.std()) == pytest.approx(FASHION_PIXEL_STD, abs=5e-5)
    (c,) = get_claim("raiko2012").comparisons(Preset.SMOKE, "paper")
    spec = c.final_specs({r: c.lr_grid(r)[0] for r in c.recipes})[2]  # shortcut-ab-paper seed 1
    assert spec.batch_size == 1000 and spec.components["model"]["kwargs"]["input_scale"] == 0.3531
    record = run(spec)
    assert record["status"] == "ok", record.get("error")
    again = run(
        make_spec(
            spec.recipe,
            spec.dataset,
            "mlp",
            spec.components["model"]["kwargs"],
            lr=spec.lr,
            seed=spec.seed,
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            target=spec.target,
            train_subset=spec.train_subset,
            eval_subset=spec.eval_subset,
        )
    )
    assert again["history"]["val_acc"] == record["history"]["val_acc"]  # repeatable


# ------------------------------------------------------------------------ the paper verdict
def _fabricate(
    c: Comparison,
    outcome: dict[str, list[int | None]],
    accs: dict[str, list[float]] | None = None,
) -> ComparisonSummary:
    """Records of ``c``: final runs with the given epochs to target per seed, test accuracy
    0.8 or ``accs[recipe]`` per seed."""
    recs: list[dict[str, Any]] = []
    for s in c.tune_specs():
        recs.append(
            {
                **s.to_dict(),
                "key": s.key(),
                "status": "ok",
                "epochs_to_target": 1,
                "final_val_acc": 0.9,
                "history": {},
            }
        )
    for s in c.final_specs({r: c.lr_grid(r)[0] for r in c.recipes}):
        ett = outcome[s.recipe][s.seed - 1]
        acc = (accs or {}).get(s.recipe, [0.8] * c.seeds)[s.seed - 1]
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
    return summarize_comparison(c, recs)


def _paper(
    outcomes: list[dict[str, list[int | None]]], accs: dict[str, list[float]] | None = None
) -> dict[str, ComparisonSummary]:
    (c,) = get_claim("raiko2012").comparisons(Preset.SMOKE, "paper")
    c = dataclasses.replace(c, epochs=10)
    return {
        f"{c.id}{i}": _fabricate(dataclasses.replace(c, id=f"{c.id}{i}"), o, accs)
        for i, o in enumerate(outcomes)
    }


FAST, SLOW = [2, 2], [4, 4]
HOLDS = {NONE_P: SLOW, AB_P: FAST, ABG_P: FAST}  # 0.50× [0.50, 0.50]: wholly below 1
NOT = {NONE_P: FAST, AB_P: FAST, ABG_P: SLOW}  # equal medians, 1.00× [1.00, 1.00]: not below
# median 3 / 4 = 0.75 < 1, but resampled medians 2, 3 or 4 over 4 give [0.50, 1.00], which
# contains 1: undecided
STRADDLE = {NONE_P: SLOW, AB_P: [2, 4], ABG_P: FAST}


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([HOLDS], "holds"),
        ([NOT], "not reproduced"),
        ([HOLDS, NOT], "partly holds"),
        ([STRADDLE], "inconclusive"),
        ([HOLDS, STRADDLE], "partly holds"),
        ([{NONE_P: [None, None], AB_P: FAST, ABG_P: FAST}], "inconclusive"),  # baseline missed
        ([], "inconclusive"),
    ],
)
def test_paper_verdict(
    outcomes: list[dict[str, list[int | None]]], status: str, tmp_path: Path
) -> None:
    claim = get_claim("raiko2012")
    v = claim.judge_protocol("paper", _paper(outcomes), tmp_path)
    assert v.status == status, v
    if status == "holds":
        assert "shortcut-ab-paper vs shortcut-none-paper" in v.details[0] and "γ" in v.details[0]


def test_paper_verdict_details_end_with_their_status_and_show_the_interval(tmp_path: Path) -> None:
    v = get_claim("raiko2012").judge_protocol("paper", _paper([HOLDS, NOT, STRADDLE]), tmp_path)
    assert v.status == "partly holds", v
    assert [d.rsplit(" → ", 1)[1] for d in v.details] == [
        "holds",
        "not reproduced",
        "inconclusive",
    ]
    assert "0.50× [0.50, 0.50] epochs" in v.details[0]
    assert "1.00× [1.00, 1.00] epochs" in v.details[1]
    assert "0.75× [0.50, 1.00] epochs" in v.details[2]


def test_paper_verdict_significantly_lower_accuracy_is_not_reproduced(tmp_path: Path) -> None:
    """α, β in half the epochs (0.50× [0.50, 0.50]) but 20 points less accurate (Welch p about
    0.001 with two seeds a side): not reproduced; as accurate: holds."""
    claim = get_claim("raiko2012")
    worse = {AB_P: [0.60, 0.61], NONE_P: [0.80, 0.81]}
    v = claim.judge_protocol("paper", _paper([HOLDS], worse), tmp_path)
    assert v.status == "not reproduced", v
    assert "test accuracy -20.00 points" in v.details[0] and v.details[0].endswith(
        "→ not reproduced"
    )
    same = {AB_P: [0.80, 0.81], NONE_P: [0.80, 0.81]}
    assert claim.judge_protocol("paper", _paper([HOLDS], same), tmp_path).status == "holds"


def test_paper_protocol_is_declared() -> None:
    claim = get_claim("raiko2012")
    assert claim.paper_judge is not None and "ltmlp_train2.m" in claim.paper_protocol
    for preset in Preset:
        (c,) = claim.comparisons(preset, "paper")
        assert c.protocol == "paper" and c.lr_factors == (1.0,) and c.batch_size == 1000
        assert set(c.recipes) == {NONE_P, AB_P, ABG_P}
