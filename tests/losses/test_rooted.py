"""Rooted logistic objectives (Wang et al. 2023): hand gradients, C = 2, k → ∞, convexity, extremes."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from boostprop.losses import (
    BinaryRootedLogisticLoss,
    RootedLogisticLoss,
    binary_rooted_logistic_loss,
    rooted_logistic_loss,
)


def _data(n: int = 7, c: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=gen, dtype=torch.float64) * 3
    return z, torch.randint(0, c, (n,), generator=gen)


@pytest.mark.parametrize(("k", "m"), [(3.0, None), (8.0, 10.0), (0.7, 2.0)])
def test_paper_gradient_hand_formula(k: float, m: float | None) -> None:
    z, y = _data()
    za = z.clone().requires_grad_()
    rooted_logistic_loss(za.float(), y, k=k, m=m, form="paper", reduction="sum").backward()
    mm = k if m is None else m
    p = torch.softmax(z, 1)
    py = p[torch.arange(len(y)), y]
    hand = (mm / k) * py.pow(1 / k)[:, None] * (p - F.one_hot(y, 5).double())
    assert za.grad is not None
    torch.testing.assert_close(za.grad, hand, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("form", ["paper", "natural"])
@pytest.mark.parametrize("k", [1.0, 3.0, 8.0])
def test_against_float64_autograd_of_closed_form(form: str, k: float) -> None:
    z, y = _data(seed=1)
    zb = z.clone().requires_grad_()
    py = torch.softmax(zb, 1)[torch.arange(len(y)), y]
    closed = (k * (1 - py ** (1 / k)) if form == "paper" else k * py ** (-1 / k)).mean()
    closed.backward()
    za = z.clone().requires_grad_()
    ours = rooted_logistic_loss(za, y, k=k, form=form)
    ours.backward()
    torch.testing.assert_close(ours, closed.detach())
    torch.testing.assert_close(za.grad, zb.grad)


@pytest.mark.parametrize("k", [0.5, 1.0, 3.0, 8.0])
def test_binary_gradient_hand_formula_and_closed_form(k: float) -> None:
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(20, generator=gen, dtype=torch.float64) * 4
    t = torch.randint(0, 2, (20,), generator=gen).double()
    yy = 2 * t - 1
    za = z.clone().requires_grad_()
    loss = binary_rooted_logistic_loss(za, t, k=k, reduction="sum")
    loss.backward()
    hand = -yy * torch.sigmoid(-yy * z) * (1 + torch.exp(-yy * z)) ** (1 / k)
    torch.testing.assert_close(za.grad, hand)
    torch.testing.assert_close(loss, (k * (1 + torch.exp(-yy * z)) ** (1 / k)).sum())


def test_binary_pos_weight_and_reductions() -> None:
    z = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    t = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    per = [
        3 * (1 + math.exp(-0.3)) ** (1 / 3) * 2.5,
        3 * (1 + math.exp(-1.2)) ** (1 / 3),
        3 * (1 + math.exp(-2.0)) ** (1 / 3) * 2.5,
    ]
    got = binary_rooted_logistic_loss(z, t, pos_weight=2.5, reduction="none")
    torch.testing.assert_close(got, torch.tensor(per, dtype=torch.float64))
    assert binary_rooted_logistic_loss(z, t, pos_weight=2.5).item() == pytest.approx(sum(per) / 3)
    assert binary_rooted_logistic_loss(z, t, pos_weight=2.5, reduction="sum").item() == (
        pytest.approx(sum(per))
    )
    crit = BinaryRootedLogisticLoss(k=3.0, pos_weight=2.5, reduction="none")
    torch.testing.assert_close(crit(z, t), got)


@pytest.mark.parametrize("k", [0.5, 2.0, 5.0])
def test_natural_equals_binary_for_two_classes(k: float) -> None:
    gen = torch.Generator().manual_seed(3)
    z2 = (torch.randn(9, 2, generator=gen, dtype=torch.float64) * 5).requires_grad_()
    y = torch.randint(0, 2, (9,), generator=gen)
    zb = (z2[:, 1] - z2[:, 0]).detach().requires_grad_()
    nat = rooted_logistic_loss(z2, y, k=k, form="natural", reduction="none")
    binary = binary_rooted_logistic_loss(zb, y.double(), k=k, reduction="none")
    torch.testing.assert_close(nat, binary)
    nat.sum().backward()
    binary.sum().backward()
    assert z2.grad is not None and zb.grad is not None
    torch.testing.assert_close(z2.grad[:, 1], zb.grad)
    torch.testing.assert_close(z2.grad[:, 0], -zb.grad)


def test_natural_minus_k_approaches_cross_entropy() -> None:
    z, y = _data(seed=4)
    ce = F.cross_entropy(z, y, reduction="none")
    gaps = []
    for k in [10.0, 100.0, 1e3, 1e4, 1e5]:
        nat = rooted_logistic_loss(z, y, k=k, form="natural", reduction="none")
        gaps.append((nat - k - ce).abs().max().item())
    assert all(b < a / 5 for a, b in itertools.pairwise(gaps))
    assert gaps[-1] < 1e-3
    # and the gradient approaches cross-entropy's
    za = z.clone().requires_grad_()
    rooted_logistic_loss(za, y, k=1e5, form="natural").backward()
    zc = z.clone().requires_grad_()
    F.cross_entropy(zc, y).backward()
    torch.testing.assert_close(za.grad, zc.grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("k", [0.3, 1.0, 3.0, 8.0, 50.0])
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_binary_strictly_convex(k: float, target: float) -> None:
    z = torch.linspace(-25, 25, 201, dtype=torch.float64, requires_grad=True)
    loss = binary_rooted_logistic_loss(z, torch.full_like(z, target), k=k, reduction="sum")
    (g,) = torch.autograd.grad(loss, z, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), z)
    assert (h > 0).all()
    # the second derivative from the closed form (finite differences of the hand gradient)
    yy = 2 * target - 1
    zz = z.detach()
    uncapped = F.softplus(-yy * zz, threshold=100) / k < 29  # below the exponent cap
    d = 1e-5

    def hand(v: torch.Tensor) -> torch.Tensor:
        return -yy * torch.sigmoid(-yy * v) * (1 + torch.exp(-yy * v)) ** (1 / k)

    fd = (hand(zz + d) - hand(zz - d)) / (2 * d)
    torch.testing.assert_close(h[uncapped], fd[uncapped], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("form", ["paper", "natural"])
def test_extreme_logits(form: str) -> None:
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], dtype=torch.float32).requires_grad_()
    y = torch.tensor([1, 0])  # hopelessly misclassified
    loss = rooted_logistic_loss(z, y, form=form)
    loss.backward()
    assert torch.isfinite(loss) and z.grad is not None and torch.isfinite(z.grad).all()
    if form == "natural":
        assert z.grad[0, 1] < 0 and z.grad[1, 0] < 0  # targets pushed up
        assert z.grad[0, 0] > 0 and z.grad[1, 1] > 0  # wrong winners pushed down
    else:
        # the paper form is bounded: its gradient vanishes for hopeless samples (documented)
        assert loss.item() == pytest.approx(3.0)
        assert z.grad.abs().max() < 1e-30


def test_binary_extreme_logits() -> None:
    z = torch.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    t = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = binary_rooted_logistic_loss(z, t, reduction="none")
    loss.sum().backward()
    assert torch.isfinite(loss).all() and z.grad is not None and torch.isfinite(z.grad).all()
    assert z.grad[0] > 0 and z.grad[1] < 0  # wrong-side logits pushed the right way
    torch.testing.assert_close(loss[2:], torch.full((2,), 3.0))


def test_paper_form_with_underflowing_probability_is_exact() -> None:
    """p_y underflows float32 (log p_y ≈ −150): p_y^(1/k) must come from log-softmax, not pow."""
    z = torch.tensor([[0.0, -150.0, 1.0]], requires_grad=True)
    loss = rooted_logistic_loss(z, torch.tensor([1]), k=3.0, m=3.0, reduction="sum")
    loss.backward()
    logp = -150.0 - math.log(1 + math.exp(1.0) + math.exp(-150.0))
    assert loss.item() == pytest.approx(3.0 * (1 - math.exp(logp / 3.0)), rel=1e-6)
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert z.grad[0, 1].item() == pytest.approx(-math.exp(logp / 3.0), rel=1e-4)


def test_module_matches_functional() -> None:
    z, y = _data(seed=5)
    w = torch.rand(5, dtype=torch.float64)
    for form in ("paper", "natural"):
        kw = {"k": 2.0, "form": form, "weight": w, "label_smoothing": 0.1, "reduction": "sum"}
        torch.testing.assert_close(RootedLogisticLoss(**kw)(z, y), rooted_logistic_loss(z, y, **kw))
    assert "form='natural'" in repr(RootedLogisticLoss(form="natural"))
