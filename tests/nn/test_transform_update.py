"""update_transforms_: statistics and exact function preservation (Raiko 2012, Vatanen 2013)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _shortcut_reference import randomize_, reference_forward

from boostprop.nn import ShortcutAutoencoder, ShortcutMLP

F64 = torch.float64
VARIANTS = [
    ("alpha_beta", "balance"),
    ("alpha_beta_gamma", "balance"),
    ("alpha_beta_gamma", "unit_variance"),
]
SIZES = {1: [7, 9, 4], 2: [7, 9, 8, 4], 3: [7, 9, 8, 6, 4]}


def _trained_net(
    hidden: int, transforms: str, gamma: str, seed: int
) -> tuple[ShortcutMLP, torch.Tensor]:
    """A float64 net after arbitrary SGD steps and one earlier transformation update."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = ShortcutMLP(SIZES[hidden], transforms=transforms, gamma=gamma).to(F64)
    x = 1.5 * torch.randn(64, 7, generator=g, dtype=F64) + 0.3
    y = torch.randint(0, 4, (64,), generator=g)
    for step in range(6):  # plain SGD steps (hand-written: keeps torch.optim's import cost out)
        net.zero_grad()
        F.cross_entropy(net(x), y).backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.3 * p.grad
        if step == 2:  # so that α_old, β_old, γ_old are not the initial values
            net.update_transforms_(x[step * 16 : step * 16 + 32])
    return net, x


def _numpy_stats(pre: np.ndarray, gamma: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """α, β, γ from the spec's formulas, in numpy."""
    t = np.tanh(pre)
    alpha = -np.mean(1 - t**2, axis=0)
    beta = -np.mean(t + alpha * pre, axis=0)
    ft = t + alpha * pre + beta
    fp = 1 - t**2 + alpha
    if gamma == "balance":
        g = (np.mean(ft**2, 0) * np.mean(fp**2, 0) + 1e-4) ** -0.25
    else:
        g = (np.mean(ft**2, 0) + 0.01) ** -0.5
    return alpha, beta, g


@pytest.mark.parametrize("hidden", [1, 2, 3])
@pytest.mark.parametrize(("transforms", "gamma"), VARIANTS)
def test_function_preserved_on_unseen_inputs(hidden: int, transforms: str, gamma: str) -> None:
    net, x = _trained_net(hidden, transforms, gamma, seed=10 + hidden)
    before = copy.deepcopy(net)
    unseen = 2.0 * torch.randn(50, 7, generator=torch.Generator().manual_seed(99), dtype=F64)
    batch = x[:40]
    net.update_transforms_(batch)
    # the update did something ...
    moved = max(
        float((a - b).abs().max())
        for a, b in zip(net.state_dict().values(), before.state_dict().values(), strict=True)
    )
    assert moved > 1e-3
    # ... and the function is unchanged on inputs not used for the statistics
    with torch.no_grad():
        assert float((net(unseen) - before(unseen)).abs().max()) <= 1e-10
    ref_out, _ = reference_forward(net, unseen)
    np.testing.assert_allclose(ref_out, before(unseen).detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("hidden", [1, 3])
@pytest.mark.parametrize(("transforms", "gamma"), VARIANTS)
def test_batch_statistics_after_update(hidden: int, transforms: str, gamma: str) -> None:
    net, x = _trained_net(hidden, transforms, gamma, seed=20 + hidden)
    batch = x[10:50]
    _, pre_before = reference_forward(net, batch)
    net.update_transforms_(batch)
    _, pre_after = reference_forward(net, batch)
    for layer, (z0, z) in enumerate(zip(pre_before, pre_after, strict=True), start=1):
        # pre-activations are unchanged (exact compensation) ...
        np.testing.assert_allclose(z, z0, rtol=0, atol=1e-12)
        unit = net.units[layer - 1]
        a, b, g = (v.detach().numpy() for v in (unit.alpha, unit.beta, unit.gamma))
        # ... α, β, γ equal the spec's formulas computed independently ...
        ea, eb, eg = _numpy_stats(z0, gamma)
        np.testing.assert_allclose(a, ea, rtol=0, atol=1e-13)
        np.testing.assert_allclose(b, eb, rtol=0, atol=1e-13)
        if transforms == "alpha_beta_gamma":
            np.testing.assert_allclose(g, eg, rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(g, np.ones_like(g))
        # ... so each unit's mean output and mean slope on the batch are zero
        t = np.tanh(z)
        out = g * (t + a * z + b)
        slope = g * (1 - t**2 + a)
        np.testing.assert_allclose(out.mean(0), 0.0, rtol=0, atol=1e-14)
        np.testing.assert_allclose(slope.mean(0), 0.0, rtol=0, atol=1e-14)
        # ... and the γ criterion holds
        if transforms == "alpha_beta_gamma" and gamma == "balance":
            crit = np.mean(out**2, 0) * np.mean(slope**2, 0) + 1e-4 * g**4
            np.testing.assert_allclose(crit, 1.0, rtol=1e-12)
        elif transforms == "alpha_beta_gamma":
            np.testing.assert_allclose(np.mean(out**2, 0) + 0.01 * g**2, 1.0, rtol=1e-12)


def test_none_is_a_noop() -> None:
    net = ShortcutMLP([5, 6, 3], transforms="none")
    state = copy.deepcopy(net.state_dict())
    net.update_transforms_(torch.randn(20, 5))
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k])


def test_second_update_on_same_batch_changes_nothing() -> None:
    net, x = _trained_net(2, "alpha_beta_gamma", "balance", seed=5)
    net.update_transforms_(x)
    state = copy.deepcopy(net.state_dict())
    net.update_transforms_(x)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("transforms", ["alpha_beta", "alpha_beta_gamma"])
def test_float32_parameters_follow_the_float64_computation(transforms: str) -> None:
    net64, x = _trained_net(2, transforms, "balance", seed=7)
    net32 = copy.deepcopy(net64).float()
    net64.update_transforms_(x)
    net32.update_transforms_(x.float())
    for (k, v32), v64 in zip(net32.state_dict().items(), net64.state_dict().values(), strict=True):
        assert v32.dtype == torch.float32, k
        torch.testing.assert_close(v32.double(), v64, rtol=1e-4, atol=1e-5)
    unseen = torch.randn(30, 7, dtype=F64)
    torch.testing.assert_close(net32(unseen.float()).double(), net64(unseen), rtol=1e-4, atol=1e-4)


def test_no_shortcuts_is_inexact_but_still_zero_mean() -> None:
    g = torch.Generator().manual_seed(4)
    net = ShortcutMLP([5, 6, 6, 3], transforms="alpha_beta", shortcuts=False).to(F64)
    randomize_(net, g)
    assert not net.exact_compensation
    x = torch.randn(40, 5, generator=g, dtype=F64)
    before = copy.deepcopy(net)
    net.update_transforms_(x)
    # layer 1 is computed before any change, and its mean output is zeroed
    _, pre = reference_forward(net, x)
    u = net.units[0]
    out = u.gamma.numpy() * (np.tanh(pre[0]) + u.alpha.numpy() * pre[0] + u.beta.numpy())
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-14)
    # the last hidden layer's statistics used the updated earlier layers
    u2 = net.units[1]
    out2 = np.tanh(pre[1]) + u2.alpha.numpy() * pre[1] + u2.beta.numpy()
    np.testing.assert_allclose(out2.mean(0), 0.0, atol=1e-14)
    with torch.no_grad():
        assert float((net(x) - before(x)).abs().max()) > 1e-6  # the function did change


def test_autoencoder_exact_when_bottleneck_alpha_is_fixed() -> None:
    """Only Δα at the bottleneck needs a removed shortcut: a second update on the same batch
    (Δα_bottleneck = 0) preserves the function exactly, the first one only approximately."""
    g = torch.Generator().manual_seed(6)
    ae = ShortcutAutoencoder([8, 6, 3, 6, 8], transforms="alpha_beta").to(F64)
    randomize_(ae, g)
    x = torch.randn(60, 8, generator=g, dtype=F64)
    unseen = torch.randn(30, 8, generator=g, dtype=F64)
    before = copy.deepcopy(ae)
    ae.update_transforms_(x)
    with torch.no_grad():
        assert float((ae(unseen) - before(unseen)).abs().max()) > 1e-6
        # encoder (layers up to the bottleneck) pre-activations are exactly preserved
        _, pre_b = reference_forward(before, unseen)
        _, pre_a = reference_forward(ae, unseen)
        np.testing.assert_allclose(pre_a[1], pre_b[1], atol=1e-12)
        mid = copy.deepcopy(ae)
        ae.update_transforms_(x)
        assert float((ae.units[1].alpha - mid.units[1].alpha).abs().max()) < 1e-14
        assert float((ae(unseen) - mid(unseen)).abs().max()) <= 1e-10
