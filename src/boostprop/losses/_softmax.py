"""Shared machinery for losses that are a function of the softmax probability of the target.

Used by the rooted logistic objectives (Wang et al. 2023, arXiv:2310.03890) and the focal loss
(Lin et al. 2017, arXiv:1708.02002). A loss of this family is ``ℓ(log p_y)`` with
``p = softmax(z)``; its gradient is ``ℓ'(log p_y)·(onehot(y) − p)``, a per-position scalar times
``p − onehot``. For class-index targets without label smoothing a custom autograd function computes
it with one saved ``(N, C)`` tensor (the softmax), turned into the gradient in place in backward;
``log p_y`` is taken from the softmax and recomputed as ``z_y − logsumexp(z)`` where ``p_y`` is too
small for that.
Label smoothing and probability targets need every class's term: a second function saves only
``log_softmax(z)`` and evaluates the terms in row chunks (small temporaries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ._common import (
    Targets,
    as_compute_dtype,
    check_reduction,
    class_view,
    no_autocast,
    prepare_targets,
    reduce,
    saved_buffer_is_free,
)

#: ``logp -> (ℓ(logp), ℓ'(logp))`` elementwise (any shape), evaluated without autograd.
TermWithSlope = Callable[[Tensor], tuple[Tensor, Tensor]]


def capped_exp(x: Tensor, cap: float) -> Tensor:
    """``exp(x)`` for ``x ≤ cap``, continued linearly as ``exp(cap)·(1 + x − cap)`` above.

    Value and first derivative are continuous; differentiable by autograd without NaN.
    """
    return torch.exp(torch.clamp_max(x, cap)) * (1.0 + torch.clamp_min(x - cap, 0.0))


def target_log_prob(z: Tensor, p: Tensor, index: Tensor) -> Tensor:
    """``log softmax(z)_y`` from the softmax ``p``, exact also where ``p_y`` underflows."""
    py = p.gather(1, index.unsqueeze(1)).squeeze(1)
    tiny = torch.finfo(p.dtype).tiny ** 0.8
    small = py < tiny
    logp = torch.log(py)
    if bool(small.any()):
        zc = z.movedim(1, -1)[small]
        zy = zc.gather(1, index[small].unsqueeze(1)).squeeze(1)
        logp[small] = zy - torch.logsumexp(zc, dim=1)
    return logp.clamp_max_(0.0)


class _SoftmaxTargetFunction(torch.autograd.Function):
    """Per-position ``ℓ(log p_y)``; backward ``ℓ'(log p_y)·(onehot − p)`` from the saved softmax."""

    @staticmethod
    def forward(ctx: Any, z: Tensor, index: Tensor, term: TermWithSlope) -> Tensor:
        p = torch.softmax(z, dim=1)
        logp_y = target_log_prob(z, p, index)
        value, slope = term(logp_y)
        ctx.save_for_backward(p, index, slope)
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, None, None]:
        p, index, slope = ctx.saved_tensors
        s = (grad_out * slope).unsqueeze(1)
        grad = p.mul_(s.neg()) if saved_buffer_is_free() else p * s.neg()
        grad.scatter_add_(1, index.unsqueeze(1), s)
        return grad, None, None


_CHUNK_ELEMENTS = 1 << 21


def _coefficients(t: Targets, lo: int, hi: int, class_coef: Tensor | None, factor: float) -> Tensor:
    """``c_ij = weight_j · factor_j · t̃_ij`` for probability targets, rows ``lo:hi`` only."""
    assert t.prob is not None
    eps, C = t.label_smoothing, t.num_classes
    c = t.prob[lo:hi]
    c = c * (1.0 - eps) + eps / C if eps > 0 else c.clone()
    if class_coef is not None:
        c *= class_view(class_coef, c.dim())
    if factor != 1.0:
        c *= factor
    return c


def _row_scale(t: Targets, lo: int, hi: int, factor: float, extra: Tensor | None) -> Tensor | float:
    """Per-position scalar ``factor·valid·extra`` for rows ``lo:hi`` (a float when constant)."""
    scale: Tensor | float = factor
    if t.valid is not None:
        scale = t.valid[lo:hi] * scale
    if extra is not None:
        scale = extra[lo:hi] * scale
    return scale


def _smoothed_index_sum(
    t: Targets, lo: int, hi: int, value: Tensor, class_coef: Tensor | None, factor: float
) -> Tensor:
    """``Σ_j c_ij·value_ij`` for label-smoothed class indices, rows ``lo:hi``."""
    assert t.index is not None
    eps, C = t.label_smoothing, t.num_classes
    idx = t.index[lo:hi].unsqueeze(1)
    at_y = value.gather(1, idx).squeeze(1)
    if class_coef is None:
        spread = value.sum(1)
    else:
        spread = torch.einsum("nc...,c->n...", value, class_coef)
        at_y = at_y * class_coef[t.index[lo:hi]]
    total = at_y * (1.0 - eps) + spread * (eps / C)
    return total * _row_scale(t, lo, hi, factor, None)


def _smoothed_index_scale(
    t: Targets,
    lo: int,
    hi: int,
    slope: Tensor,
    class_coef: Tensor | None,
    factor: float,
    grad_out: Tensor,
) -> None:
    """Turn ``slope`` (rows ``lo:hi``) into ``A = c ⊙ slope ⊙ grad_out`` in place."""
    assert t.index is not None
    eps, C = t.label_smoothing, t.num_classes
    idx = t.index[lo:hi].unsqueeze(1)
    at_y = slope.gather(1, idx)
    if class_coef is not None:
        at_y *= class_coef[t.index[lo:hi]].unsqueeze(1)
        slope *= class_view(class_coef, slope.dim())
    row = _row_scale(t, lo, hi, factor, grad_out)
    row_t = row.unsqueeze(1) if isinstance(row, Tensor) else row
    slope *= row_t * (eps / C)
    slope.scatter_add_(1, idx, at_y.mul_(row_t * (1.0 - eps)))


class _DenseSoftmaxFunction(torch.autograd.Function):
    """Per-position ``Σ_j c_j·ℓ(log p_j)`` (label smoothing, probability targets).

    Saves only ``log_softmax(z)``; the coefficients and the per-class terms are rebuilt in row
    chunks, so temporaries stay small. Backward: ``A − p·Σ_j A_j`` with ``A_j = c_j·ℓ'(log p_j)``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        z: Tensor,
        t: Targets,
        term: TermWithSlope,
        class_coef: Tensor | None,
        factor: float,
    ) -> Tensor:
        logp = torch.log_softmax(z, dim=1)
        rows = max(1, _CHUNK_ELEMENTS // max(1, z[:1].numel()))
        out = torch.empty((z.shape[0], *z.shape[2:]), dtype=z.dtype, device=z.device)
        for lo in range(0, z.shape[0], rows):
            hi = min(lo + rows, z.shape[0])
            lp = logp[lo:hi]
            value, _ = term(lp)
            if t.kind == "index":  # c = (1 − ε)·w_y·onehot + (ε/C)·w, never materialised
                out[lo:hi] = _smoothed_index_sum(t, lo, hi, value, class_coef, factor)
            else:
                value *= _coefficients(t, lo, hi, class_coef, factor)
                torch.sum(value, dim=1, out=out[lo:hi])
        ctx.save_for_backward(logp)
        ctx.t, ctx.term, ctx.class_coef, ctx.factor, ctx.rows = t, term, class_coef, factor, rows
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (logp,) = ctx.saved_tensors
        grad = logp if saved_buffer_is_free() else logp.clone()
        for lo in range(0, grad.shape[0], ctx.rows):
            hi = min(lo + ctx.rows, grad.shape[0])
            g = grad[lo:hi]
            _, slope = ctx.term(g)
            if ctx.t.kind == "index":
                _smoothed_index_scale(ctx.t, lo, hi, slope, ctx.class_coef, ctx.factor, grad_out)
            else:
                slope *= _coefficients(ctx.t, lo, hi, ctx.class_coef, ctx.factor)
                slope *= grad_out[lo:hi].unsqueeze(1)  # A
            total = slope.sum(1, keepdim=True)
            g.exp_().mul_(total.neg_()).add_(slope)  # A − p·ΣA, in place
        return grad, None, None, None, None


def softmax_family_loss(
    input: Tensor,
    target: Tensor,
    *,
    term: TermWithSlope,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    class_factor: Tensor | float | None = None,
) -> Tensor:
    """Evaluate ``Σ_j weight_j t̃_j · factor_j · ℓ(log p_j)`` with ``cross_entropy``'s conventions.

    ``class_factor`` multiplies each class's term without entering the ``mean`` divisor (the focal
    loss's ``alpha``); ``weight`` does enter it, as in ``cross_entropy``.
    """
    check_reduction(reduction)
    z = as_compute_dtype(input)
    with no_autocast(z.device.type):
        z, t = prepare_targets(z, target, weight, ignore_index, label_smoothing)
        factor: Tensor | float | None = class_factor
        if isinstance(factor, Tensor):
            factor = factor.to(z)
        if t.kind == "index" and t.label_smoothing == 0.0:
            assert t.index is not None
            per_sample = _SoftmaxTargetFunction.apply(z, t.index, term)
            if t.weight_y is not None:
                per_sample = per_sample * t.weight_y
            if isinstance(factor, Tensor):
                per_sample = per_sample * factor[t.index]
            elif factor is not None:
                per_sample = per_sample * factor
        else:
            class_coef = t.weight
            if isinstance(factor, Tensor):
                class_coef = factor if class_coef is None else class_coef * factor
            scalar = float(factor) if isinstance(factor, float) else 1.0
            per_sample = _DenseSoftmaxFunction.apply(z, t, term, class_coef, scalar)
        return reduce(per_sample, t, reduction)
