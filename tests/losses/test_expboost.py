"""Exponential / cubic gradient boosting (Øland et al. 2017): gradients, extremes, fixed points."""

from __future__ import annotations

import math

import pytest
import torch

from boostprop.losses import CubicBoostLoss, ExpBoostLoss, cubic_boost_loss, exp_boost_loss


def _data(n: int = 6, c: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=gen, dtype=torch.float64) * 2, torch.randint(
        0, c, (n,), generator=gen
    )


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 0.0), (0.5, 0.2), (2.0, -0.3)])
def test_exp_gradient_is_hand_formula_and_closed_form(alpha: float, beta: float) -> None:
    z, y = _data()
    onehot = torch.nn.functional.one_hot(y, 5).double()
    za = z.clone().requires_grad_()
    exp_boost_loss(za.float(), y, alpha=alpha, beta=beta, reduction="sum").backward()
    hand = alpha * torch.exp(z) + beta - onehot
    assert za.grad is not None
    torch.testing.assert_close(za.grad, hand, rtol=1e-5, atol=1e-5)
    # float64 autograd of the closed form Σ_j alpha·exp(z_j) + (beta − t_j)·z_j
    zb = z.clone().requires_grad_()
    closed = (alpha * torch.exp(zb) + (beta - onehot) * zb).sum()
    closed.backward()
    zc = z.clone().requires_grad_()
    ours = exp_boost_loss(zc, y, alpha=alpha, beta=beta, reduction="sum")
    ours.backward()
    torch.testing.assert_close(ours, closed.detach())
    torch.testing.assert_close(zc.grad, zb.grad)


@pytest.mark.parametrize(("alpha", "beta"), [(1e-3, 0.0), (0.1, 0.3)])
def test_cubic_gradient_is_hand_formula_and_closed_form(alpha: float, beta: float) -> None:
    z, y = _data(seed=1)
    onehot = torch.nn.functional.one_hot(y, 5).double()
    za = z.clone().requires_grad_()
    loss = cubic_boost_loss(za, y, alpha=alpha, beta=beta, reduction="sum")
    loss.backward()
    torch.testing.assert_close(za.grad, alpha * z**3 + beta - onehot)
    closed = (alpha * z**4 / 4 + (beta - onehot) * z).sum()
    torch.testing.assert_close(loss, closed)


def test_mse_of_boosted_output_is_a_different_method() -> None:
    """The pitfall in the spec: autograd through mse(alpha·exp(z)) multiplies by alpha·exp(z)."""
    z, y = _data(seed=2)
    onehot = torch.nn.functional.one_hot(y, 5).double()
    za = z.clone().requires_grad_()
    exp_boost_loss(za, y, reduction="sum").backward()
    zb = z.clone().requires_grad_()
    (0.5 * (0.1 * torch.exp(zb) - onehot) ** 2).sum().backward()
    assert za.grad is not None and zb.grad is not None
    assert not torch.allclose(za.grad, zb.grad)


def test_linear_continuation_beyond_max_exponent() -> None:
    c = 5.0
    z = torch.tensor([[4.0, 5.0, 7.5]], dtype=torch.float64, requires_grad=True)
    loss = exp_boost_loss(z, torch.tensor([0]), alpha=1.0, max_exponent=c, reduction="sum")
    loss.backward()
    expected = math.exp(4.0) + math.exp(5.0) + math.exp(c) * (1 + 7.5 - c) - 4.0
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    torch.testing.assert_close(
        z.grad, torch.tensor([[math.exp(4.0) - 1, math.exp(5.0), math.exp(c)]], dtype=torch.float64)
    )
    # C¹ at the cap: value and slope from both sides agree
    for side in (c - 1e-7, c + 1e-7):
        zz = torch.tensor([[side, 0.0]], dtype=torch.float64, requires_grad=True)
        value = exp_boost_loss(zz, torch.tensor([1]), alpha=1.0, max_exponent=c)
        value.backward()
        assert zz.grad is not None
        assert zz.grad[0, 0].item() == pytest.approx(math.exp(c), rel=1e-6)
        assert value.item() == pytest.approx(math.exp(c) + 1.0, rel=1e-6)


def test_gradient_exactly_at_max_exponent_on_every_path() -> None:
    """A logit exactly at the cap gets the one-sided slope exp(c) from the eager kernel, from the
    plain expression (torch.func) and from the compiled expression: the continuation's relu has a
    zero derivative at the cap, so the two branches' slopes are not added there (a
    ``clamp_min(z − c, 0)`` continuation gave 2·exp(c) through torch.func)."""
    c, alpha = 5.0, 0.1
    z = torch.tensor([[c, 0.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([1])

    def loss(t: torch.Tensor) -> torch.Tensor:
        return exp_boost_loss(t, y, alpha=alpha, max_exponent=c, reduction="sum")

    hand = torch.tensor(
        [[alpha * math.exp(c), alpha - 1.0, alpha * math.exp(-1.0)]], dtype=torch.float64
    )
    ze = z.clone().requires_grad_()
    loss(ze).backward()
    zc = z.clone().requires_grad_()
    torch.compile(loss, backend="aot_eager", fullgraph=True, dynamic=False)(zc).backward()
    for grad in (ze.grad, torch.func.grad(loss)(z), zc.grad):
        assert grad is not None
        torch.testing.assert_close(grad, hand, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("fn", [exp_boost_loss, cubic_boost_loss])
def test_extreme_logits_finite_and_right_sign(fn) -> None:  # type: ignore[no-untyped-def]
    z = torch.tensor(
        [[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [1e4, 1e4, -1e4]], dtype=torch.float32
    ).requires_grad_()
    y = torch.tensor([1, 0, 2])  # every target logit is on the wrong side (very low)
    loss = fn(z, y)
    loss.backward()
    assert torch.isfinite(loss)
    assert z.grad is not None and torch.isfinite(z.grad).all()
    rows = torch.arange(3)
    assert (z.grad[rows, y] < 0).all(), "target logits must be pushed up"
    assert z.grad[0, 0] > 0 and z.grad[1, 1] > 0 and z.grad[2, 0] > 0 and z.grad[2, 1] > 0


def _minimise_target_logit(fn, alpha: float, beta: float, start: float) -> float:  # type: ignore[no-untyped-def]
    """Minimise one sample's loss over its target logit (the others fixed)."""
    zt = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    others = torch.tensor([0.3, -1.0], dtype=torch.float64)
    opt = torch.optim.LBFGS(
        [zt],
        lr=1.0,
        max_iter=200,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = torch.cat([zt, others]).unsqueeze(0)
        loss = fn(z, torch.tensor([0]), alpha=alpha, beta=beta)
        loss.backward()
        return loss

    opt.step(closure)
    return zt.item()


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 0.0), (0.05, 0.3), (0.5, -0.2)])
def test_exp_fixed_point(alpha: float, beta: float) -> None:
    got = _minimise_target_logit(exp_boost_loss, alpha, beta, start=-3.0)
    assert got == pytest.approx(math.log((1 - beta) / alpha), abs=1e-6)


def test_exp_fixed_point_all_logits_free() -> None:
    """With beta = 0 and every logit free, the target settles at ln(1/alpha) ≈ 2.30."""
    z = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([z], lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        exp_boost_loss(z, torch.tensor([2]), alpha=0.1).backward()
        opt.step()
    assert z[0, 2].item() == pytest.approx(math.log(10.0), abs=1e-6)
    assert (z[0, [0, 1, 3]] < 0).all()  # non-targets drift down


@pytest.mark.parametrize(("alpha", "beta"), [(1e-3, 0.0), (0.1, 0.2)])
def test_cubic_fixed_point(alpha: float, beta: float) -> None:
    got = _minimise_target_logit(cubic_boost_loss, alpha, beta, start=0.5)
    assert got == pytest.approx(((1 - beta) / alpha) ** (1 / 3), abs=1e-6)


def test_modules_match_functional() -> None:
    z, y = _data(seed=4)
    w = torch.rand(5, dtype=torch.float64)
    kw = {"alpha": 0.2, "beta": 0.1, "weight": w, "label_smoothing": 0.1, "reduction": "sum"}
    torch.testing.assert_close(
        ExpBoostLoss(**kw, max_exponent=3.0)(z, y), exp_boost_loss(z, y, **kw, max_exponent=3.0)
    )
    torch.testing.assert_close(CubicBoostLoss(**kw)(z, y), cubic_boost_loss(z, y, **kw))
    assert "alpha=0.2" in repr(ExpBoostLoss(alpha=0.2))


def test_backward_twice_with_retain_graph() -> None:
    z, y = _data(seed=5)
    z.requires_grad_()
    loss = exp_boost_loss(z, y)
    (g1,) = torch.autograd.grad(loss, z, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, z)
    torch.testing.assert_close(g1, g2)
