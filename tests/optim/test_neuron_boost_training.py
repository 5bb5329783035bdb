"""NeuronBoost (Munoz 2025, arXiv:2502.01131) in real training loops: gradient accumulation,
parameter groups, mixed precision, ``torch.compile`` and robustness.

References are independent of the code under test: one batch instead of micro-batches, a float64
closed form, eager instead of compiled, a run without the skipped batch.
"""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from boostprop.optim import NeuronBoost, decay_groups

DT = torch.float64


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 8),
        nn.LayerNorm(8),
        nn.Tanh(),
        nn.Linear(8, 3),
    ).to(DT)


def _batches(n: int, size: int, seed: int = 1) -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(size, 1, 7, 7, generator=g, dtype=DT) + 0.3,
            torch.randint(0, 3, (size,), generator=g),
        )
        for _ in range(n)
    ]


# --------------------------------------------------------------------------- accumulation
@pytest.mark.parametrize("zero_first", [False, True])
def test_accumulated_micro_batches_equal_one_batch(zero_first):
    """k micro-batches (loss / k each, one step) take the step of the concatenated batch, over
    several steps (both zero_grad placements: before the forwards or after the step)."""
    k, size = 4, 16
    data = _batches(3, size)
    kw = dict(lr=0.3, cg_iters=3, grad_clip=2.0)
    ref = _net()
    opt = NeuronBoost(ref, **kw)
    for xb, yb in data:
        F.cross_entropy(ref(xb), yb).backward()
        opt.step()
        opt.zero_grad()
    acc = _net()
    opt = NeuronBoost(acc, **kw)
    for xb, yb in data:
        if zero_first:
            opt.zero_grad()
        for xm, ym in zip(xb.chunk(k), yb.chunk(k), strict=True):
            (F.cross_entropy(acc(xm), ym) / k).backward()
        opt.step()
        if not zero_first:
            opt.zero_grad()
    for a, b in zip(acc.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert any(
        not torch.allclose(a, b) for a, b in zip(ref.parameters(), _net().parameters(), strict=True)
    )


def test_zero_grad_forgets_forwards_of_discarded_gradients():
    data = _batches(2, 8)
    ref = _net()
    opt = NeuronBoost(ref, lr=0.3)
    F.cross_entropy(ref(data[1][0]), data[1][1]).backward()
    opt.step()
    net = _net()
    opt = NeuronBoost(net, lr=0.3)
    F.cross_entropy(net(data[0][0]), data[0][1]).backward()  # discarded
    opt.zero_grad()
    F.cross_entropy(net(data[1][0]), data[1][1]).backward()
    opt.step()
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------- parameter groups
def _ridge_h(gw: Tensor, gb: Tensor, feats: Tensor, ridge: float) -> tuple[Tensor, Tensor]:
    xt = torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=DT)], 1)
    d = torch.ones(xt.shape[1], dtype=DT)
    d[-1] = 0.0
    sol = torch.linalg.solve(
        xt.T @ xt / xt.shape[0] + ridge * torch.diag(d), torch.cat([gw, gb[:, None]], 1).T
    ).T
    return sol[:, :-1], sol[:, -1]


def test_parameter_groups_set_lr_weight_decay_ridge_and_exclusion():
    """First step against the closed form: per-group lr, weight decay and ridge; a group with
    ``precondition=False`` gets the identity metric; one global normaliser s."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 2)).to(
        DT
    )
    l1, l2, l3 = net[0], net[2], net[4]
    groups = [
        {"params": [l1.weight], "lr": 0.2, "weight_decay": 0.1, "ridge": 0.5},
        {"params": [l1.bias, l2.bias], "lr": 0.4, "weight_decay": 0.0},
        {"params": [l2.weight]},  # constructor defaults
        {"params": list(l3.parameters()), "precondition": False, "lr": 0.05},
    ]
    opt = NeuronBoost(
        net, lr=0.3, ridge=0.1, weight_decay=0.01, cg_iters=40, min_norm=1e-2, params=groups
    )
    x = torch.randn(30, 4, dtype=DT) + 0.2
    before = [p.detach().clone() for p in net.parameters()]
    out = net(x)
    (out * torch.randn_like(out)).sum().div(30).backward()
    g = [p.grad.clone() for p in net.parameters()]
    with torch.no_grad():
        a1 = torch.tanh(l1(x))
    h1w, h1b = _ridge_h(g[0], g[1], x, 0.5)  # l1's ridge: its weight's group
    h2w, h2b = _ridge_h(g[2], g[3], a1, 0.1)
    h = [h1w, h1b, h2w, h2b, g[4], g[5]]
    s = max(1e-2, math.sqrt(sum(float((hi * gi).sum()) for hi, gi in zip(h, g, strict=True))))
    lrs, wds = [0.2, 0.4, 0.3, 0.4, 0.05, 0.05], [0.1, 0.0, 0.01, 0.0, 0.01, 0.01]
    opt.step()
    for p, b, hi, lr, wd in zip(net.parameters(), before, h, lrs, wds, strict=True):
        torch.testing.assert_close(b - p.detach(), lr * (hi / s + wd * b), rtol=1e-8, atol=1e-12)


def test_decay_groups_split_and_lr_scheduler_on_groups():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)).to(DT)
    groups = decay_groups(net, weight_decay=0.05)
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert {id(p) for p in groups[0]["params"]} == {id(net[0].weight), id(net[2].weight)}
    assert len(groups[1]["params"]) == 4  # two biases, the norm's weight and bias
    data = [(torch.randn(12, 4, dtype=DT), torch.randint(0, 2, (12,))) for _ in range(3)]

    def run(use_scheduler: bool) -> list[Tensor]:
        m = copy.deepcopy(net)
        opt = NeuronBoost(m, lr=0.2, params=decay_groups(m, 0.05))
        opt.param_groups[1]["lr"] = 0.1
        sched = (
            torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5) if use_scheduler else None
        )
        for t, (xb, yb) in enumerate(data):
            if sched is None:  # the reference: the same per-group values set by hand
                opt.param_groups[0]["lr"] = 0.2 * 0.5**t
                opt.param_groups[1]["lr"] = 0.1 * 0.5**t
            F.cross_entropy(m(xb), yb).backward()
            opt.step()
            opt.zero_grad()
            if sched is not None:
                sched.step()
        return [p.detach() for p in m.parameters()]

    for a, b in zip(run(True), run(False), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bad_parameter_groups_raise():
    net = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="betas"):
        NeuronBoost(net, params=[{"params": [net.weight], "betas": (0.5, 0.5, 0.5)}])
    with pytest.raises(ValueError, match="lr"):
        NeuronBoost(net, params=[{"params": [net.weight], "lr": -1.0}])
    with pytest.raises(ValueError, match="callable"):
        NeuronBoost(net, lr=lambda t: 0.1, params=[{"params": [net.weight], "lr": 0.1}])
    with pytest.raises(TypeError, match="precondition"):
        NeuronBoost(net, params=[{"params": [net.weight], "precondition": "no"}])


# --------------------------------------------------------------------------- robustness
def test_load_state_dict_names_the_mismatch():
    net = _net()
    adam = torch.optim.Adam(net.parameters())
    F.cross_entropy(net(_batches(1, 4)[0][0]), torch.zeros(4, dtype=torch.long)).backward()
    adam.step()
    opt = NeuronBoost(net)
    with pytest.raises(ValueError, match="not a NeuronBoost state"):
        opt.load_state_dict(adam.state_dict())
    other = nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 5),
        nn.LayerNorm(5),
        nn.Tanh(),
        nn.Linear(5, 3),
    ).to(DT)
    o2 = NeuronBoost(other)
    xb, yb = _batches(1, 4)[0]
    F.cross_entropy(other(xb), yb).backward()
    o2.step()
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(o2.state_dict())
    with pytest.raises(ValueError, match="parameter groups"):
        with pytest.warns(UserWarning, match="already hooked"):
            grouped = NeuronBoost(net, params=decay_groups(net))
        opt.load_state_dict(grouped.state_dict())


def test_empty_batch_raises_clear_error():
    net = _net()
    opt = NeuronBoost(net)
    net(torch.zeros(0, 1, 7, 7, dtype=DT)).sum().backward()
    with pytest.raises(ValueError, match="empty batch"):
        opt.step()
    assert not opt.state  # nothing was written


def test_non_finite_gradient_skips_step_and_leaves_state_untouched():
    data = _batches(3, 8)
    ref = _net()
    ro = NeuronBoost(ref, lr=0.3)
    for xb, yb in (data[0], data[2]):  # never sees the bad batch
        F.cross_entropy(ref(xb), yb).backward()
        ro.step()
        ro.zero_grad()
    net = _net()
    opt = NeuronBoost(net, lr=0.3)
    for t, (xb, yb) in enumerate(data):
        if t == 1:
            xb = xb.clone()
            xb[3] = float("nan")  # one NaN sample
            saved = copy.deepcopy(opt.state_dict())
            params = [p.detach().clone() for p in net.parameters()]
        F.cross_entropy(net(xb), yb).backward()
        if t == 1:
            with pytest.warns(RuntimeWarning, match="skipped"):
                opt.step()
            assert opt.skipped_steps == 1
            for a, b in zip(net.parameters(), params, strict=True):
                assert torch.equal(a, b)
            buf_a, buf_b = io.BytesIO(), io.BytesIO()
            torch.save(saved, buf_a)
            torch.save(opt.state_dict(), buf_b)
            assert buf_a.getvalue() == buf_b.getvalue()
        else:
            opt.step()
        opt.zero_grad()
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_second_optimizer_on_the_same_model_warns_and_takes_over():
    net = _net()
    first = NeuronBoost(net)
    with pytest.warns(UserWarning, match="already hooked"):
        second = NeuronBoost(net)
    xb, yb = _batches(1, 4)[0]
    F.cross_entropy(net(xb), yb).backward()
    second.step()
    with pytest.raises(RuntimeError, match="remove_hooks"):
        first.step()


def test_gradient_clipping_norm_in_float64():
    """The global norm is computed in the gradients' own precision (float64 here): the clipped
    step equals the float64 closed form far below float32 round-off."""
    torch.manual_seed(6)
    net = nn.Linear(3, 2).to(DT)
    with torch.no_grad():
        net.weight.mul_(1 + 1e-3)
    opt = NeuronBoost(
        net, lr=1e6, min_norm=1e6, approx_metric=True, weight_decay=0.0, grad_clip=1e-3
    )
    x = torch.randn(20, 3, dtype=DT) * (1 + 1e-7 * torch.arange(20, dtype=DT))[:, None]
    before = [p.detach().clone() for p in net.parameters()]
    (net(x) ** 2).mean().backward()
    g = [p.grad.clone() for p in net.parameters()]
    gn = torch.cat([t.reshape(-1) for t in g]).norm()
    opt.step()
    # approx metric with s = min_norm: step = lr·P ḡ / min_norm, ḡ = g·clip/‖g‖, linear in ḡ
    mu, nu = x.mean(0), x.pow(2).mean(0)
    var = (nu - mu**2).clamp_min(0)
    var = 0.9 * var + 0.1 * var.mean()
    gw, gb = g[0] * (1e-3 / gn), g[1] * (1e-3 / gn)
    zw = (gw - gb[:, None] * mu) / var
    zb = gb - zw @ mu
    torch.testing.assert_close(before[0] - net.weight.detach(), zw, rtol=1e-12, atol=0)
    torch.testing.assert_close(before[1] - net.bias.detach(), zb, rtol=1e-12, atol=0)


def test_cg_iters_and_approx_metric_have_one_meaning():
    with pytest.raises(ValueError, match="approx_metric=True"):
        NeuronBoost(nn.Linear(2, 2), cg_iters=0)
    out = []
    for iters in (0, 7):  # cg_iters is ignored by the diagonal metric
        net = _net()
        opt = NeuronBoost(net, approx_metric=True, cg_iters=iters)
        xb, yb = _batches(1, 6)[0]
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
        out.append([p.detach() for p in net.parameters()])
    for a, b in zip(*out, strict=True):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- mixed precision
def test_bf16_autocast_metric_in_float32_matches_closed_form():
    """Under bf16 autocast the second layer's input is bf16; its metric is accumulated in
    float32 and the step equals the float64 closed form on the same (bf16) inputs."""
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    opt = NeuronBoost(net, lr=0.3, ridge=0.2, cg_iters=30, weight_decay=0.0)
    feats: list[Tensor] = []
    net[2].register_forward_hook(lambda m, a, o: feats.append(a[0].detach()))
    x = torch.randn(64, 6) + 0.5
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
        loss = F.cross_entropy(out.float(), torch.randint(0, 3, (64,)))
    loss.backward()
    assert feats[0].dtype == torch.bfloat16
    g = [p.grad.double() for p in net.parameters()]
    before = [p.detach().double() for p in net.parameters()]
    opt.step()
    assert opt.state[net[2].weight]["mu"].dtype == torch.float32
    h1w, h1b = _ridge_h(g[0], g[1], x.double(), 0.2)
    h2w, h2b = _ridge_h(g[2], g[3], feats[0].double(), 0.2)
    h = [h1w, h1b, h2w, h2b]
    s = max(1e-2, math.sqrt(sum(float((a * b).sum()) for a, b in zip(h, g, strict=True))))
    for p, b, hi in zip(net.parameters(), before, h, strict=True):
        torch.testing.assert_close(b - p.detach().double(), 0.3 * hi / s, rtol=2e-4, atol=2e-6)


def test_fp16_grad_scaler_skipped_step_leaves_state_untouched():
    data = [(torch.randn(16, 6), torch.randint(0, 3, (16,))) for _ in range(3)]

    def model() -> nn.Module:
        torch.manual_seed(8)
        return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))

    def it(net, opt, scaler, xb, yb, poison: bool = False) -> None:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(net(xb).float(), yb)
        scaler.scale(loss).backward()
        if poison:
            net[0].weight.grad[0, 0] = float("inf")
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()

    net = model()
    opt = NeuronBoost(net, lr=0.3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    it(net, opt, scaler, *data[0])
    saved = copy.deepcopy(opt.state_dict())
    params = [p.detach().clone() for p in net.parameters()]
    it(net, opt, scaler, *data[1], poison=True)  # skipped by the scaler
    assert scaler.get_scale() == 2.0**9
    for a, b in zip(net.parameters(), params, strict=True):
        assert torch.equal(a, b)
    buf_a, buf_b = io.BytesIO(), io.BytesIO()
    torch.save(saved, buf_a)
    torch.save(opt.state_dict(), buf_b)
    assert buf_a.getvalue() == buf_b.getvalue()
    it(net, opt, scaler, *data[2])
    # reference: the same run without the skipped iteration (same scale at each real step)
    ref = model()
    ro = NeuronBoost(ref, lr=0.3)
    it(ref, ro, torch.amp.GradScaler("cpu", init_scale=2.0**10), *data[0])
    it(ref, ro, torch.amp.GradScaler("cpu", init_scale=2.0**9), *data[2])
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------- torch.compile
def test_compiled_model_takes_the_eager_steps():
    """The forward hooks still capture every neuron's input under torch.compile."""
    torch.manual_seed(9)
    data = [(torch.randn(16, 5), torch.randint(0, 3, (16,))) for _ in range(3)]
    runs = []
    for compiled in (False, True):
        torch.manual_seed(10)
        net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = NeuronBoost(net, lr=0.3)
        fwd = torch.compile(net, backend="aot_eager") if compiled else net
        for xb, yb in data:
            F.cross_entropy(fwd(xb), yb).backward()
            assert all(n.has_inputs() for n in opt._neurons)
            opt.step()
            opt.zero_grad()
        runs.append([p.detach().clone() for p in net.parameters()])
    for a, b in zip(*runs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_zero_grad_between_forward_and_backward_keeps_pending_inputs():
    """Lightning's closure zeroes the gradients after a micro-batch's forward and before its
    backward; that forward still belongs to the step (reference: one batch)."""
    data = _batches(2, 12)
    ref = _net()
    ro = NeuronBoost(ref, lr=0.3)
    acc = _net()
    opt = NeuronBoost(acc, lr=0.3)
    for xb, yb in data:
        F.cross_entropy(ref(xb), yb).backward()
        ro.step()
        ro.zero_grad()
        for j, (xm, ym) in enumerate(zip(xb.chunk(2), yb.chunk(2), strict=True)):
            loss = F.cross_entropy(acc(xm), ym) / 2
            if j == 0:
                opt.zero_grad()
            loss.backward()
        opt.step()
    for a, b in zip(acc.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_warm_up_schedule_from_zero_learning_rate():
    """A scheduler may set lr to 0 (warm-up from 0): the parameters stay, the step count
    advances and the scheduler's next value is used."""
    net = _net()
    opt = NeuronBoost(net, lr=0.3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, t / 2))
    before = [p.detach().clone() for p in net.parameters()]
    xb, yb = _batches(1, 6)[0]
    F.cross_entropy(net(xb), yb).backward()
    opt.step()
    sched.step()
    for a, b in zip(net.parameters(), before, strict=True):
        assert torch.equal(a, b)
    assert opt.param_groups[0]["step"] == 1 and opt.param_groups[0]["lr"] == 0.15


def test_load_state_dict_rejects_foreign_state_entries():
    net = nn.Linear(3, 2)
    opt = NeuronBoost(net)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg_sq"] = torch.zeros(2, 3)  # an Adam entry in a NeuronBoost state
    with pytest.raises(ValueError, match="exp_avg_sq"):
        opt.load_state_dict(sd)
