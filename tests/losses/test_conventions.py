"""Every loss against the plain-loop float64 reference, across cross_entropy's conventions."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from loss_reference import (
    reference_loss,
    term_cubic,
    term_expboost,
    term_focal,
    term_natural,
    term_paper,
)

from boostprop.losses import (
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)

C = 4
ALPHA_FOCAL = torch.tensor([0.5, 1.0, 2.0, 0.25])

LOSSES = {
    "expboost": (
        lambda z, t, **kw: exp_boost_loss(z, t, alpha=0.3, beta=0.1, **kw),
        term_expboost(0.3, 0.1),
    ),
    "cubic": (
        lambda z, t, **kw: cubic_boost_loss(z, t, alpha=0.2, beta=-0.1, **kw),
        term_cubic(0.2, -0.1),
    ),
    "paper": (
        lambda z, t, **kw: rooted_logistic_loss(z, t, k=2.5, m=4.0, form="paper", **kw),
        term_paper(2.5, 4.0),
    ),
    "natural": (
        lambda z, t, **kw: rooted_logistic_loss(z, t, k=2.5, form="natural", **kw),
        term_natural(2.5),
    ),
    "focal": (
        lambda z, t, **kw: focal_loss(z, t, gamma=1.5, alpha=ALPHA_FOCAL, **kw),
        term_focal(1.5, [float(a) for a in ALPHA_FOCAL]),
    ),
    "focal-float-alpha": (
        lambda z, t, **kw: focal_loss(z, t, gamma=3.0, alpha=0.25, **kw),
        term_focal(3.0, 0.25),
    ),
}


def _targets(kind: str, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    n_shape = (shape[0], *shape[2:])
    if kind == "index":
        return torch.randint(0, C, n_shape, generator=gen)
    if kind == "ignore":
        t = torch.randint(0, C, n_shape, generator=gen)
        t.view(-1)[::3] = -100
        return t
    return torch.softmax(torch.randn(shape, generator=gen, dtype=torch.float64), dim=1)


CASES = list(itertools.product(LOSSES, ["index", "ignore", "prob"], [False, True], [0.0, 0.1]))


@pytest.mark.parametrize(("loss", "kind", "weighted", "eps"), CASES)
def test_matches_loop_reference(loss: str, kind: str, weighted: bool, eps: float) -> None:
    gen = torch.Generator().manual_seed(CASES.index((loss, kind, weighted, eps)))
    fn, ell = LOSSES[loss]
    shape = (5, C)
    z = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    t = _targets(kind, shape, gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.2 if weighted else None
    for reduction in ("none", "mean", "sum"):
        kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
        expected = reference_loss(ell, z, t, **kw)
        got64 = fn(z, t, **kw)
        torch.testing.assert_close(got64, expected, rtol=1e-10, atol=1e-12)
        got32 = fn(z.float(), t.float() if kind == "prob" else t, **kw)
        assert got32.dtype == torch.float32
        torch.testing.assert_close(got32.double(), expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("kind", ["index", "ignore", "prob"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_gradcheck_all_paths(loss: str, kind: str, eps: float) -> None:
    """Hand-written backward (fast path) and autograd (dense path) agree with finite differences."""
    gen = torch.Generator().manual_seed(7)
    fn, _ = LOSSES[loss]
    z = (torch.randn(3, C, 2, generator=gen, dtype=torch.float64) * 1.5).requires_grad_()
    t = _targets(kind, (3, C, 2), gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5
    for reduction in ("mean", "none"):
        assert torch.autograd.gradcheck(
            lambda x, t=t, r=reduction: fn(x, t, weight=w, reduction=r, label_smoothing=eps),
            (z,),
        )


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("kind", ["ignore", "prob"])
def test_image_shaped_inputs(loss: str, kind: str) -> None:
    """(N, C, H, W) inputs equal the loop reference and the flattened (N·H·W, C) call."""
    gen = torch.Generator().manual_seed(3)
    fn, ell = LOSSES[loss]
    shape = (2, C, 3, 2)
    z = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    t = _targets(kind, shape, gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.2
    for eps, reduction in [(0.0, "none"), (0.1, "mean"), (0.0, "sum"), (0.0, "mean")]:
        kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
        torch.testing.assert_close(fn(z, t, **kw), reference_loss(ell, z, t, **kw))
    flat_z = z.movedim(1, -1).reshape(-1, C)
    flat_t = t.movedim(1, -1).reshape(-1, C) if kind == "prob" else t.reshape(-1)
    z4 = z.clone().requires_grad_()
    zf = flat_z.clone().requires_grad_()
    fn(z4, t, weight=w).backward()
    fn(zf, flat_t, weight=w).backward()
    assert z4.grad is not None and zf.grad is not None
    torch.testing.assert_close(z4.grad.movedim(1, -1).reshape(-1, C), zf.grad)


@pytest.mark.parametrize("kind", ["index", "ignore", "prob"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.15])
def test_focal_gamma0_is_cross_entropy(kind: str, weighted: bool, eps: float) -> None:
    """An oracle for the shared plumbing: focal with gamma=0 is F.cross_entropy, all conventions."""
    gen = torch.Generator().manual_seed(11)
    shape = (6, C, 3)
    z = torch.randn(shape, generator=gen, dtype=torch.float64) * 3
    t = _targets(kind, shape, gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.2 if weighted else None
    for reduction in ("none", "mean", "sum"):
        kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
        za = z.clone().requires_grad_()
        zb = z.clone().requires_grad_()
        got = focal_loss(za, t, gamma=0.0, **kw)
        want = F.cross_entropy(zb, t, **kw)
        torch.testing.assert_close(got, want)
        got.sum().backward()
        want.sum().backward()
        torch.testing.assert_close(za.grad, zb.grad)


def test_unbatched_input() -> None:
    z = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    for fn, ell in LOSSES.values():
        if fn is LOSSES["focal"][0]:
            continue
        got = fn(z, torch.tensor(2), reduction="none")
        assert got.shape == ()
        torch.testing.assert_close(
            got, reference_loss(ell, z[None], torch.tensor([2]), reduction="none")[0]
        )


def test_all_ignored_mean_is_nan_like_cross_entropy() -> None:
    z = torch.randn(3, C)
    t = torch.full((3,), -100)
    assert torch.isnan(F.cross_entropy(z, t))
    assert torch.isnan(exp_boost_loss(z, t))
    assert torch.isnan(rooted_logistic_loss(z, t))


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize(("kind", "eps"), [("index", 0.0), ("ignore", 0.1), ("prob", 0.0)])
def test_in_place_backward_equals_copying_backward(loss: str, kind: str, eps: float) -> None:
    """Backward reuses the saved buffer unless the graph is retained; both give one gradient."""
    gen = torch.Generator().manual_seed(5)
    fn, _ = LOSSES[loss]
    z = (torch.randn(4, C, 3, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    t = _targets(kind, (4, C, 3), gen)
    value = fn(z, t, label_smoothing=eps)
    (kept,) = torch.autograd.grad(value, z, retain_graph=True)  # copies
    (again,) = torch.autograd.grad(value, z, retain_graph=True)
    (freed,) = torch.autograd.grad(value, z)  # overwrites the saved buffer
    torch.testing.assert_close(kept, again, rtol=0, atol=0)
    torch.testing.assert_close(kept, freed, rtol=1e-14, atol=1e-14)
