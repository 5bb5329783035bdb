"""Bad inputs raise clear errors; autocast computes in float32; focal loss hand gradient."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from boostprop.losses import (
    BinaryRootedLogisticLoss,
    CubicBoostLoss,
    ExpBoostLoss,
    FocalLoss,
    RootedLogisticLoss,
    binary_rooted_logistic_loss,
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)

MULTI: list[Callable[..., torch.Tensor]] = [
    exp_boost_loss,
    cubic_boost_loss,
    rooted_logistic_loss,
    focal_loss,
    lambda z, t, **kw: rooted_logistic_loss(z, t, form="natural", **kw),
]

Z = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize("fn", MULTI)
@pytest.mark.parametrize(
    ("target", "kwargs", "exc", "match"),
    [
        (torch.tensor([0, 1, 2]), {}, ValueError, "target"),  # wrong length
        (torch.zeros(4, 2), {}, ValueError, "target"),  # probability target of wrong shape
        (torch.tensor([0, 1, 2, 1], dtype=torch.int32), {}, ValueError, "target"),  # dtype
        (torch.tensor([True, False, True, False]), {}, ValueError, "target"),
        (torch.tensor([0, 1, 3, 1]), {}, IndexError, "target"),  # out of range
        (torch.tensor([0, -1, 2, 1]), {}, IndexError, "target"),  # negative, not ignore_index
        (Y, {"reduction": "avg"}, ValueError, "reduction"),
        (Y, {"weight": torch.tensor([1.0, -1.0, 1.0])}, ValueError, "weight"),
        (Y, {"weight": torch.tensor([1.0, 1.0])}, ValueError, "weight"),
        (Y, {"label_smoothing": 1.5}, ValueError, "label_smoothing"),
    ],
)
def test_bad_inputs(
    fn: Callable[..., torch.Tensor],
    target: torch.Tensor,
    kwargs: dict[str, Any],
    exc: type[Exception],
    match: str,
) -> None:
    with pytest.raises(exc, match=match):
        fn(Z, target, **kwargs)


def test_ignore_index_is_not_out_of_range() -> None:
    t = torch.tensor([0, 7, 2, 7])
    for fn in MULTI:
        assert torch.isfinite(fn(Z, t, ignore_index=7))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: exp_boost_loss(Z, Y, alpha=0.0), "alpha"),
        (lambda: exp_boost_loss(Z, Y, alpha=-1.0), "alpha"),
        (lambda: exp_boost_loss(Z, Y, max_exponent=math.nan), "max_exponent"),
        (lambda: cubic_boost_loss(Z, Y, alpha=0.0), "alpha"),
        (lambda: exp_boost_loss(Z, Y, beta=math.inf), "beta"),
        (lambda: rooted_logistic_loss(Z, Y, k=0.0), "k"),
        (lambda: rooted_logistic_loss(Z, Y, k=-2.0), "k"),
        (lambda: rooted_logistic_loss(Z, Y, m=0.0), "m"),
        (lambda: rooted_logistic_loss(Z, Y, form="faithful"), "form"),
        (lambda: binary_rooted_logistic_loss(Z[:, 0], Y.float(), k=0.0), "k"),
        (lambda: binary_rooted_logistic_loss(Z[:, 0], Y[:3].float()), "target"),
        (lambda: binary_rooted_logistic_loss(Z[:, 0], Y.float()), "target"),  # value 2
        (lambda: binary_rooted_logistic_loss(Z[:, 0], Y.float() / 2, reduction="x"), "reduction"),
        (
            lambda: binary_rooted_logistic_loss(Z[:, 0], Y.float() / 2, pos_weight=-1.0),
            "pos_weight",
        ),
        (lambda: focal_loss(Z, Y, gamma=-1.0), "gamma"),
        (lambda: focal_loss(Z, Y, alpha=0.0), "alpha"),
        (lambda: focal_loss(Z, Y, alpha=torch.tensor([1.0, 2.0])), "alpha"),
        (lambda: exp_boost_loss(Z.long(), Y), "input"),
        (lambda: ExpBoostLoss(alpha=-1.0), "alpha"),
        (lambda: CubicBoostLoss(reduction="mean!"), "reduction"),
        (lambda: RootedLogisticLoss(form="x"), "form"),
        (lambda: BinaryRootedLogisticLoss(k=-1.0), "k"),
    ],
)
def test_bad_parameters(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_non_tensor_target_is_type_error() -> None:
    with pytest.raises(TypeError, match="target"):
        exp_boost_loss(Z, [0, 1, 2, 1])  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", [*MULTI, FocalLoss(gamma=3.0, alpha=0.25)])
def test_autocast_bfloat16_gives_float32(fn: Callable[..., torch.Tensor]) -> None:
    gen = torch.Generator().manual_seed(0)
    layer = torch.nn.Linear(6, 3)
    x = torch.randn(16, 6, generator=gen)
    y = torch.randint(0, 3, (16,), generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = layer(x)
        assert logits.dtype == torch.bfloat16
        loss = fn(logits, y)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, fn(logits.float(), y))
    loss.backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()


def test_binary_autocast_gives_float32() -> None:
    layer = torch.nn.Linear(6, 1)
    x = torch.randn(16, 6)
    t = torch.randint(0, 2, (16,)).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = layer(x).squeeze(1)
        loss = binary_rooted_logistic_loss(z, t)
    assert loss.dtype == torch.float32


@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.0])
def test_focal_gradient_against_float64_autograd(gamma: float) -> None:
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(8, 5, generator=gen, dtype=torch.float64) * 3
    y = torch.randint(0, 5, (8,), generator=gen)
    za = z.clone().requires_grad_()
    focal_loss(za.float(), y, gamma=gamma, reduction="sum").backward()
    zb = z.clone().requires_grad_()
    p = torch.softmax(zb, 1)[torch.arange(8), y]
    (-((1 - p) ** gamma) * torch.log(p)).sum().backward()
    assert za.grad is not None
    torch.testing.assert_close(za.grad, zb.grad, rtol=1e-4, atol=1e-5)


def test_focal_confident_sample_has_finite_gradient() -> None:
    z = torch.tensor([[60.0, 0.0, -3.0]], requires_grad=True)
    for gamma in (0.5, 2.0):
        loss = focal_loss(z, torch.tensor([0]), gamma=gamma)
        (g,) = torch.autograd.grad(loss, z)
        assert torch.isfinite(g).all() and torch.isfinite(loss)
        loss_ls = focal_loss(z, torch.tensor([0]), gamma=gamma, label_smoothing=0.1)
        (g,) = torch.autograd.grad(loss_ls, z)
        assert torch.isfinite(g).all()


def test_ignore_index_that_is_a_valid_class() -> None:
    """ignore_index inside [0, C) (e.g. a background class) is honoured, as in cross_entropy."""
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(10, 4, 3, generator=gen, dtype=torch.float64)
    t = torch.randint(0, 4, (10, 3), generator=gen)
    w = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)
    for eps in (0.0, 0.1):
        kw = {"weight": w, "ignore_index": 1, "label_smoothing": eps}
        torch.testing.assert_close(
            focal_loss(z, t, gamma=0.0, **kw), torch.nn.functional.cross_entropy(z, t, **kw)
        )
        kept = t != 1
        per = exp_boost_loss(z, t, reduction="none", **kw)
        assert (per[~kept] == 0).all() and (per[kept] != 0).all()
