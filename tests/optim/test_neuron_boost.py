"""Tests of NeuronBoost (Munoz 2025, arXiv:2502.01131) against independent float64 references.

The references form the metric ``A = mean x̃ x̃ᵀ`` explicitly (``F.unfold`` patches for
convolutions), solve ``H = G (A + γ·diag(1, …, 1, 0))⁻¹`` with ``torch.linalg.solve`` and take the
gradient ``G`` from float64 autograd; the optimizer never forms ``A`` for convolutions and runs
CG. On the first step every bias-corrected EMA equals its current value, so the first update is
``lr·(H / max(min_norm, sqrt(Σ⟨H, G⟩)) + wd·θ)`` whatever the betas.
"""

from __future__ import annotations

import copy
import io
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from boostprop.optim import NeuronBoost
from boostprop.optim._linear_ops import Neuron, _gram

DT = torch.float64


def _aug(feats: Tensor) -> Tensor:
    """Append the constant-one feature."""
    return torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=feats.dtype)], 1)


def _ridge_solve(g: Tensor, feats: Tensor, ridge: float, bias: bool) -> Tensor:
    """Rows of ``g`` times ``(mean x̃x̃ᵀ + ridge·diag(1..1, 0))⁻¹`` (no ridge on the bias)."""
    xt = _aug(feats) if bias else feats
    a = xt.T @ xt / xt.shape[0]
    d = torch.ones(a.shape[0], dtype=DT)
    if bias:
        d[-1] = 0.0
    return torch.linalg.solve(a + ridge * torch.diag(d), g.T).T


def _first_step(model: nn.Module, x: Tensor, loss_fn, **kw) -> tuple[dict, dict, float]:
    """Params before, the gradients, and the step's update for one NeuronBoost step."""
    opt = NeuronBoost(model, **kw)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss_fn(model(x)).backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    opt.step()
    delta = {n: before[n] - p.detach() for n, p in model.named_parameters()}
    return before, grads, delta


def _expected(h: dict, g: dict, before: dict, lr: float, min_norm: float, wd: float) -> dict:
    total = sum(float((h[n] * g[n]).sum()) for n in g)
    s = max(min_norm, total**0.5)
    return {n: lr * (h[n] / s + wd * before[n]) for n in g}


def _loss(out: Tensor) -> Tensor:
    torch.manual_seed(123)
    return (torch.tanh(out) * torch.randn_like(out)).sum() / out.shape[0] + 0.5 * out.pow(2).mean()


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize(
    ("d_in", "d_out", "lead", "bias"),
    [(5, 3, (7, 6), True), (5, 3, (40,), False), (30, 1, (2, 2), True)],
)
def test_linear_step_matches_closed_form(d_in, d_out, lead, bias):
    torch.manual_seed(0)
    lin = nn.Linear(d_in, d_out, bias=bias)
    model = nn.Sequential(lin, nn.LayerNorm(d_out)).to(DT)  # LayerNorm: identity metric
    x = torch.randn(*lead, d_in, dtype=DT) + 0.5
    lr, ridge, wd, mn = 0.3, 0.2, 1e-3, 1e-2
    n = x.numel() // d_in
    # both Â paths are exercised: the Gram path (small d) and the matrix-free one (d=30, N=4)
    probe = Neuron(module=lin, name="l", weight=lin.weight, bias=lin.bias)
    assert probe.gram_is_cheaper(n, 51) == (d_in == 5)
    before, g, delta = _first_step(
        model, x, _loss, lr=lr, ridge=lambda step: ridge, cg_iters=50, weight_decay=wd, min_norm=mn
    )
    feats = x.reshape(-1, d_in)
    gw = torch.cat([g["0.weight"], g["0.bias"][:, None]], 1) if bias else g["0.weight"]
    hw = _ridge_solve(gw, feats, ridge, bias)
    h = {"0.weight": hw[:, :d_in], "1.weight": g["1.weight"], "1.bias": g["1.bias"]}
    if bias:
        h["0.bias"] = hw[:, -1]
    exp = _expected(h, g, before, lr, mn, wd)
    for k in exp:
        torch.testing.assert_close(delta[k], exp[k], rtol=1e-7, atol=1e-10)


def _conv_patches(conv: nn.Module, x: Tensor) -> list[Tensor]:
    """Per group, the (B·L, C_g·k) patch matrix via explicit padding + F.unfold.

    Conv1d is treated as a height-1 Conv2d; ``padding="same"`` puts the odd extra pad on the
    right, as torch does; non-zero padding modes pad the input first.
    """
    nd = x.dim() - 2
    if isinstance(conv.padding, str):
        pads: list[int] = []
        for d, k in zip(reversed(conv.dilation), reversed(conv.kernel_size), strict=True):
            total = d * (k - 1) if conv.padding == "same" else 0
            pads += [total // 2, total - total // 2]
        x = F.pad(x, pads)
        pad = (0,) * nd
    elif conv.padding_mode != "zeros":
        x = F.pad(x, conv._reversed_padding_repeated_twice, mode=conv.padding_mode)
        pad = (0,) * nd
    else:
        pad = tuple(conv.padding)
    k, st, dl = tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.dilation)
    if nd == 1:
        x = x.unsqueeze(2)
        k, st, pad, dl = (1, *k), (1, *st), (0, *pad), (1, *dl)
    cg = conv.in_channels // conv.groups
    out = []
    for gi in range(conv.groups):
        u = F.unfold(x[:, gi * cg : (gi + 1) * cg], k, dilation=dl, padding=pad, stride=st)
        out.append(u.transpose(1, 2).reshape(-1, u.shape[1]))
    return out


CONVS = [
    lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
    lambda: nn.Conv2d(3, 4, 3, stride=2, padding=0, bias=False),
    lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
    lambda: nn.Conv1d(2, 3, 2, padding=1),
    lambda: nn.Conv1d(2, 3, 4, padding="same"),  # asymmetric 'same' padding
    lambda: nn.Conv1d(2, 3, 3, padding="same", dilation=2),
    lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
    lambda: nn.Conv2d(2, 3, (2, 3), padding=(1, 1), padding_mode="circular", groups=1),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("make", CONVS)
def test_conv_step_matches_unfold_closed_form(make):
    torch.manual_seed(1)
    conv = make().to(DT)
    model = nn.Sequential(conv)
    shape = (
        (3, conv.in_channels, 9, 8) if isinstance(conv, nn.Conv2d) else (3, conv.in_channels, 11)
    )
    x = torch.randn(*shape, dtype=DT) + 0.3
    lr, ridge, mn = 0.7, 0.05, 1e-2
    before, g, delta = _first_step(
        model, x, _loss, lr=lr, ridge=ridge, cg_iters=30, weight_decay=0.0, min_norm=mn
    )
    bias = conv.bias is not None
    gw = g["0.weight"].reshape(conv.out_channels, -1)
    og = conv.out_channels // conv.groups
    hw = torch.empty_like(gw)
    hb = torch.empty(conv.out_channels, dtype=DT)
    for gi, feats in enumerate(_conv_patches(conv, x)):
        rows = slice(gi * og, (gi + 1) * og)
        gg = torch.cat([gw[rows], g["0.bias"][rows, None]], 1) if bias else gw[rows]
        sol = _ridge_solve(gg, feats, ridge, bias)
        hw[rows] = sol[:, : gw.shape[1]]
        if bias:
            hb[rows] = sol[:, -1]
    h = {"0.weight": hw.view_as(g["0.weight"])}
    if bias:
        h["0.bias"] = hb
    exp = _expected(h, g, before, lr, mn, 0.0)
    for k in exp:
        torch.testing.assert_close(delta[k], exp[k], rtol=1e-6, atol=1e-10)


def _shrunk_moments(feat_channels: Tensor, shrink: float) -> tuple[Tensor, Tensor]:
    mu = feat_channels.mean(0)
    var = (feat_channels.pow(2).mean(0) - mu**2).clamp_min(0)
    return mu, (1 - shrink) * var + shrink * var.mean()


@pytest.mark.parametrize("bias", [True, False])
def test_diagonal_preconditioner_is_block_matrix_inverse_linear(bias):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 4, bias=bias)).to(DT)
    x = torch.randn(50, 6, dtype=DT) * torch.linspace(0.5, 2, 6, dtype=DT) + torch.arange(
        6, dtype=DT
    )
    lr, mn, shrink = 0.4, 1e-2, 0.25
    before, g, delta = _first_step(
        model, x, _loss, lr=lr, approx_metric=True, shrinkage=shrink, weight_decay=0.0, min_norm=mn
    )
    mu, var = _shrunk_moments(x, shrink)
    if bias:
        m = torch.zeros(7, 7, dtype=DT)
        m[:6, :6] = torch.diag(var) + torch.outer(mu, mu)
        m[:6, 6] = mu
        m[6, :6] = mu
        m[6, 6] = 1.0
        gw = torch.cat([g["0.weight"], g["0.bias"][:, None]], 1)
        sol = torch.linalg.inv(m) @ gw.T  # numerical inverse of the spec's block matrix
        h = {"0.weight": sol[:6].T, "0.bias": sol[6]}
    else:
        h = {"0.weight": g["0.weight"] / (var + mu**2)}
    exp = _expected(h, g, before, lr, mn, 0.0)
    for k in exp:
        torch.testing.assert_close(delta[k], exp[k], rtol=1e-8, atol=1e-12)


def test_diagonal_preconditioner_conv_groups_shares_moments_across_taps():
    torch.manual_seed(3)
    conv = nn.Conv2d(4, 2, 2, groups=2).to(DT)
    x = torch.randn(5, 4, 6, 6, dtype=DT) * 1.5 + torch.arange(4, dtype=DT).view(1, 4, 1, 1)
    lr, mn, shrink = 0.4, 1e-2, 0.1
    before, g, delta = _first_step(
        nn.Sequential(conv), x, _loss, lr=lr, approx_metric=True, weight_decay=0.0, min_norm=mn
    )
    mu, var = _shrunk_moments(x.transpose(0, 1).reshape(4, -1).T, shrink)
    hw = torch.empty_like(g["0.weight"])
    hb = torch.empty(2, dtype=DT)
    for o in range(2):  # group o holds input channels 2o, 2o+1; 4 taps each
        mu_e = mu[2 * o : 2 * o + 2].repeat_interleave(4)
        var_e = var[2 * o : 2 * o + 2].repeat_interleave(4)
        m = torch.zeros(9, 9, dtype=DT)
        m[:8, :8] = torch.diag(var_e) + torch.outer(mu_e, mu_e)
        m[:8, 8] = mu_e
        m[8, :8] = mu_e
        m[8, 8] = 1.0
        rhs = torch.cat([g["0.weight"][o].reshape(-1), g["0.bias"][o : o + 1]])
        sol = torch.linalg.solve(m, rhs)
        hw[o] = sol[:8].view(2, 2, 2)
        hb[o] = sol[8]
    exp = _expected({"0.weight": hw, "0.bias": hb}, g, before, lr, mn, 0.0)
    for k in exp:
        torch.testing.assert_close(delta[k], exp[k], rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------- truncated PCG
def _textbook_pcg(b: Tensor, x0: Tensor, a: Tensor, p_mat: Tensor, iters: int) -> Tensor:
    """``iters`` PCG iterations on ``X a = b`` (rows of ``X`` share the CG scalars, Frobenius
    inner product), preconditioner ``V ↦ V p_mat``, explicit matrices, from ``x0``."""
    x = x0.clone()
    r = b - x @ a
    z = r @ p_mat
    p = z.clone()
    rz = (r * z).sum()
    for _ in range(iters):
        ap = p @ a
        alpha = rz / (p * ap).sum()
        x = x + alpha * p
        r = r - alpha * ap
        z = r @ p_mat
        rz_new = (r * z).sum()
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


def _aug_precond(mu: Tensor, var: Tensor, bias: bool) -> Tensor:
    """The spec's preconditioner as an explicit matrix: inverse of [[diag σ² + μμᵀ, μ], [μᵀ, 1]]."""
    if not bias:
        return torch.diag(1.0 / (var + mu**2))
    d = mu.numel()
    m = torch.zeros(d + 1, d + 1, dtype=DT)
    m[:d, :d] = torch.diag(var) + torch.outer(mu, mu)
    m[:d, d] = mu
    m[d, :d] = mu
    m[d, d] = 1.0
    return torch.linalg.inv(m)


@pytest.mark.parametrize(
    ("make", "n"),
    [
        (lambda: nn.Linear(30, 3), 8),  # matrix-free products
        (lambda: nn.Linear(30, 3, bias=False), 8),
        (lambda: nn.Linear(4, 3), 50),  # Gram matrix
        (lambda: nn.Conv2d(2, 3, 3, padding=1), 2),
    ],
)
def test_warm_started_truncated_pcg_matches_textbook_pcg(make, n):
    """Two CG iterations per step (not converged), three steps: every stored solution ``h``
    equals textbook PCG on explicit matrices, warm-started at the previous ``h``."""
    torch.manual_seed(5)
    mod = make().to(DT)
    bias = mod.bias is not None
    iters, ridge, shrink = 2, 0.3, 0.1
    b_g, b_mu, b_nu = 0.8, 0.7, 0.9
    opt = NeuronBoost(
        nn.Sequential(mod), cg_iters=iters, ridge=ridge, betas=(b_g, b_mu, b_nu), shrinkage=shrink
    )
    conv = isinstance(mod, nn.Conv2d)
    shape = (n, 2, 5, 5) if conv else (n, mod.in_features)
    m_ema = mu_ema = nu_ema = h_prev = None
    for t in range(1, 4):
        x = torch.randn(*shape, dtype=DT) * 1.3 + 0.4 * t
        mod.zero_grad()
        _loss(mod(x)).backward()
        g = mod.weight.grad.reshape(mod.weight.shape[0], -1)
        if bias:
            g = torch.cat([g, mod.bias.grad[:, None]], 1)
        feats = x.transpose(0, 1).reshape(2, -1).T if conv else x  # per input channel
        mean, sq = feats.mean(0), feats.pow(2).mean(0)
        if t == 1:
            m_ema, mu_ema, nu_ema = (
                torch.zeros_like(g),
                torch.zeros_like(mean),
                torch.zeros_like(sq),
            )
        m_ema = b_g * m_ema + (1 - b_g) * g
        mu_ema = b_mu * mu_ema + (1 - b_mu) * mean
        nu_ema = b_nu * nu_ema + (1 - b_nu) * sq
        mu, nu = mu_ema / (1 - b_mu**t), nu_ema / (1 - b_nu**t)
        var = (nu - mu**2).clamp_min(0)
        var = (1 - shrink) * var + shrink * var.mean()
        if conv:  # moments shared by the 9 taps of each input channel
            mu, var = mu.repeat_interleave(9), var.repeat_interleave(9)
        p_mat = _aug_precond(mu, var, bias)
        rows = _conv_patches(mod, x)[0] if conv else x
        xt = _aug(rows) if bias else rows
        ridge_diag = torch.ones(xt.shape[1], dtype=DT)
        if bias:
            ridge_diag[-1] = 0.0
        a = xt.T @ xt / xt.shape[0] + ridge * torch.diag(ridge_diag)
        c = 1.0 / (1 - b_g**t)
        x0 = torch.zeros_like(g) if h_prev is None else h_prev / c
        h_ref = c * _textbook_pcg(m_ema, x0, a, p_mat, iters)
        opt.step()
        h = opt.state[mod.weight]["h"].reshape(mod.weight.shape[0], -1)
        if bias:
            h = torch.cat([h, opt.state[mod.bias]["h"][:, None]], 1)
        torch.testing.assert_close(h, h_ref, rtol=1e-9, atol=1e-12)
        h_prev = h_ref


def test_blocked_gram_equals_full_product():
    """The blocked upper-triangle Gram matrix (many rows, wide inputs) is ``xᵀx``, exactly
    symmetric."""
    torch.manual_seed(2)
    x = torch.randn(600, 300, dtype=DT)
    g = _gram(x)
    torch.testing.assert_close(g, x.T @ x, rtol=1e-13, atol=1e-11)
    assert torch.equal(g, g.T)


def test_gram_and_matrix_free_paths_give_the_same_steps():
    """Gram neurons formed out of layer order (the one freeing the most memory first) and
    matrix-free ones in one model: three steps equal those of the all-matrix-free path."""

    def run(force_free: bool) -> list[Tensor]:
        torch.manual_seed(3)
        model = nn.Sequential(
            nn.Linear(8, 300), nn.Tanh(), nn.Linear(300, 300), nn.Tanh(), nn.Linear(300, 3)
        ).to(DT)
        opt = NeuronBoost(model, lr=0.2, cg_iters=2)
        kinds = []
        for n in opt._neurons:
            kinds.append(n.gram_is_cheaper(600, 3))
            if force_free:
                n.gram_is_cheaper = lambda n_samples, n_products: False  # type: ignore[method-assign]
        assert force_free or kinds == [True, True, False]
        for t in range(3):
            x = torch.randn(600, 8, dtype=DT) + 0.1 * t
            opt.zero_grad()
            _loss(model(x)).backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]

    for got, want in zip(run(False), run(True), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- OLS property
def test_one_step_solves_least_squares():
    """lr=1 in effect: min_norm above sqrt(⟨H,G⟩) pins s = min_norm, and lr = min_norm cancels it."""
    torch.manual_seed(4)
    n, d, k = 60, 4, 2
    x = torch.randn(n, d, dtype=DT) * 2 + 1
    y = x @ torch.randn(d, k, dtype=DT) + 0.3 * torch.randn(n, k, dtype=DT) + 1.5
    model = nn.Linear(d, k).to(DT)
    big = 1e6
    opt = NeuronBoost(
        model,
        lr=big,
        ridge=1e-12,
        cg_iters=50,
        betas=(0.0, 0.9, 0.999),
        min_norm=big,
        weight_decay=0.0,
    )
    loss = 0.5 * (model(x) - y).pow(2).sum(1).mean()
    loss.backward()
    gnorm = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm()
    assert gnorm < 1e3  # ⟨H, G⟩ ≤ ‖G‖²/λ_min(A) is far below min_norm² here
    opt.step()
    xt = torch.cat([x, torch.ones(n, 1, dtype=DT)], 1)
    sol = torch.linalg.lstsq(xt, y).solution  # (d+1, k)
    torch.testing.assert_close(model.weight.detach(), sol[:d].T, rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(model.bias.detach(), sol[d], rtol=1e-7, atol=1e-8)
    resid = model(x).detach() - y
    torch.testing.assert_close(xt.T @ resid, torch.zeros(d + 1, k, dtype=DT), atol=1e-7, rtol=0)


# --------------------------------------------------------------------------- hooks semantics
def test_zero_grad_discards_inputs_and_repeated_calls_concatenate():
    torch.manual_seed(5)
    lin = nn.Linear(3, 2).to(DT)
    x1, x2, x3 = (torch.randn(10, 3, dtype=DT) + i for i in range(3))
    kw = dict(lr=0.5, ridge=0.1, cg_iters=40, weight_decay=0.0)

    def run(fwd) -> Tensor:
        m = copy.deepcopy(lin)
        net = nn.Sequential(m)
        opt = NeuronBoost(net, **kw)
        with torch.no_grad():
            net(x3)  # no-grad training forward: not captured
        _loss(net(x1)).backward()  # discarded by zero_grad(), with its gradient
        opt.zero_grad()
        fwd(net).backward()
        opt.step()
        return m.weight.detach().clone()

    class Twice(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, a: Tensor, b: Tensor) -> Tensor:
            return torch.cat([self.inner(a), self.inner(b)])

    w_twice = run(lambda net: _loss(torch.cat([net(x2[:4]), net[0](x2[4:])])))
    # reference: a single call on the concatenated input (same gradient, same samples)
    w_once = run(lambda net: _loss(net(x2)))
    # the explicit module-called-twice-per-forward case matches too
    m2 = copy.deepcopy(lin)
    tw = Twice(m2)
    opt = NeuronBoost(tw, **kw)
    _loss(tw(x1, x1)).backward()
    opt.zero_grad()
    _loss(tw(x2[:4], x2[4:])).backward()
    opt.step()
    torch.testing.assert_close(m2.weight.detach(), w_once, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(w_twice, w_once, rtol=1e-9, atol=1e-12)


def test_grad_clip_scales_gradient_before_ema():
    torch.manual_seed(6)
    x = torch.randn(20, 3, dtype=DT)
    outs = []
    for clip in (None, 1e-3):
        model = nn.Linear(3, 2).to(DT)
        torch.manual_seed(7)
        model.reset_parameters()
        opt = NeuronBoost(
            model, lr=1e6, min_norm=1e6, cg_iters=30, weight_decay=0.0, grad_clip=clip
        )
        before = [p.detach().clone() for p in model.parameters()]
        _loss(model(x)).backward()
        gn = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm()
        opt.step()
        outs.append([b - p.detach() for b, p in zip(before, model.parameters(), strict=True)])
    for a, b in zip(*outs, strict=True):  # s = min_norm fixed, so the step is linear in ḡ
        torch.testing.assert_close(b, a * (1e-3 / gn), rtol=1e-6, atol=1e-12)


def test_float32_accumulation_of_half_precision_inputs():
    lin = nn.Linear(4, 2)
    xb = (torch.randn(64, 4) * 3 + 100).to(torch.bfloat16)
    nrn = Neuron(module=lin, name="l", weight=lin.weight, bias=lin.bias, inputs=[xb])
    s1, s2 = nrn.moment_sums()
    c = nrn.moment_count()
    assert s1.dtype == torch.float32 and c == 64
    ref = xb.double()
    torch.testing.assert_close(s1.double(), ref.sum(0), rtol=1e-6, atol=0)
    torch.testing.assert_close(s2.double(), ref.pow(2).sum(0), rtol=1e-6, atol=0)
    vw, vb = torch.randn(2, 4), torch.randn(2)
    aw, ab = nrn.product(vw, vb)
    xt = torch.cat([ref, torch.ones(64, 1, dtype=DT)], 1)
    full = torch.cat([vw, vb[:, None]], 1).double() @ (xt.T @ xt)
    torch.testing.assert_close(aw.double(), full[:, :4], rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(ab.double(), full[:, 4], rtol=1e-5, atol=1e-3)


# --------------------------------------------------------------------------- state_dict
def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 8),
        nn.LayerNorm(8),
        nn.Tanh(),
        nn.Linear(8, 3),
    )


def test_state_dict_round_trip_gives_identical_steps():
    torch.manual_seed(8)
    model = _cnn()
    data = [(torch.randn(16, 1, 7, 7), torch.randint(0, 3, (16,))) for _ in range(6)]
    sched = lambda step: 0.3 / (1 + step)  # noqa: E731
    opt = NeuronBoost(model, lr=sched, grad_clip=1.0)

    def train(m: nn.Module, o: NeuronBoost, batches) -> None:
        for xb, yb in batches:
            F.cross_entropy(m(xb), yb).backward()
            o.step()
            o.zero_grad()

    train(model, opt, data[:3])
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    train(model, opt, data[3:])

    buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    model2 = _cnn()
    model2.load_state_dict(ck["model"])
    opt2 = NeuronBoost(model2, lr=sched, grad_clip=1.0)
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["step"] == 3
    train(model2, opt2, data[3:])
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"ridge": 0.0}, "ridge"),
        ({"ridge": float("nan")}, "ridge"),
        ({"cg_iters": -1}, "cg_iters"),
        ({"cg_iters": 1.5}, "cg_iters"),
        ({"betas": (0.9, 0.9)}, "betas"),
        ({"betas": (0.9, 1.0, 0.9)}, "beta_mu"),
        ({"shrinkage": 1.5}, "shrinkage"),
        ({"min_norm": 0.0}, "min_norm"),
        ({"weight_decay": -1e-3}, "weight_decay"),
        ({"grad_clip": 0.0}, "grad_clip"),
    ],
)
def test_bad_hyperparameters_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=match):
        NeuronBoost(nn.Linear(2, 2), **kw)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="model"):
        NeuronBoost([nn.Parameter(torch.zeros(2))])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lr"):
        NeuronBoost(nn.Linear(2, 2), lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="skip_modules"):
        NeuronBoost(nn.Linear(2, 2), skip_modules=("Linear",))  # type: ignore[arg-type]


def test_step_before_training_forward_raises():
    model = nn.Linear(3, 1)
    opt = NeuronBoost(model)
    model.eval()
    model(torch.randn(4, 3)).sum().backward()
    with pytest.raises(RuntimeError, match="before any forward"):
        opt.step()
    model.train()
    model(torch.randn(4, 3)).sum().backward()
    opt.step()  # inputs are freed by the step:
    with pytest.raises(RuntimeError, match="before any forward"):
        opt.step()


def test_callable_lr_is_checked_at_step():
    model = nn.Linear(3, 1)
    opt = NeuronBoost(model, lr=lambda step: -1.0)
    model(torch.randn(4, 3)).sum().backward()
    with pytest.raises(ValueError, match="lr must be positive"):
        opt.step()


def test_sharded_parameters_rejected():
    model = nn.Linear(3, 1)
    model.weight._is_flat_param = True  # what FSDP's flat parameters carry
    with pytest.raises(ValueError, match="FSDP"):
        NeuronBoost(model)


def test_no_neuron_warns_and_uses_identity_metric():
    torch.manual_seed(10)
    norm = nn.LayerNorm(3).to(DT)  # no Linear/Conv/Embedding/attention module
    with pytest.warns(UserWarning, match="no Linear/Conv1d/Conv2d"):
        opt = NeuronBoost(norm, lr=0.2, weight_decay=0.0)
    before = [p.detach().clone() for p in norm.parameters()]
    (norm(torch.randn(4, 3, dtype=DT)) * torch.arange(3.0, dtype=DT)).pow(2).sum().backward()
    g = [p.grad.clone() for p in norm.parameters()]
    gn = float(torch.cat([t.reshape(-1) for t in g]).norm())
    opt.step()
    for b, p, gi in zip(before, norm.parameters(), g, strict=True):
        torch.testing.assert_close(b - p.detach(), 0.2 * gi / max(1e-2, gn))


def test_skip_modules_and_functional_use_get_identity_metric():
    torch.manual_seed(9)
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)).to(DT)
    x = torch.randn(8, 3, dtype=DT)
    opt = NeuronBoost(net, skip_modules=(net[1],), lr=0.1, weight_decay=0.0, cg_iters=30)
    before = net[1].weight.detach().clone()
    _loss(net(x)).backward()
    g1 = net[1].weight.grad.clone()
    opt.step()
    step = before - net[1].weight.detach()
    cos = F.cosine_similarity(step.reshape(1, -1), g1.reshape(1, -1))
    torch.testing.assert_close(cos, torch.ones(1, dtype=DT))
    # a Linear whose weight is used functionally: warn once, identity metric
    lin = nn.Linear(3, 2)
    holder = nn.ModuleDict({"a": nn.Linear(3, 3), "b": lin})
    opt2 = NeuronBoost(holder)
    out = F.linear(holder["a"](torch.randn(4, 3)), lin.weight, lin.bias)
    out.sum().backward()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        opt2.step()
    assert any("saw no training-mode input" in str(w.message) for w in rec)
