"""Shared machinery for losses that are a function of the softmax probability of the target.

Used by the rooted logistic objectives (Wang et al. 2023, arXiv:2310.03890) and the focal loss
(Lin et al. 2017, arXiv:1708.02002). A loss of this family is ``ℓ(log p_y)`` with
``p = softmax(z)``; its gradient is ``ℓ'(log p_y)·(onehot(y) − p)``, a per-position scalar times
``onehot − p``.

Plain expression (``torch.compile``, ``torch.func``, higher derivatives): ``log_softmax``, a gather
and elementwise terms — for class-index targets without smoothing this is as cheap as
``cross_entropy`` itself. Eager fast paths (:class:`~boostprop.losses._common.Kernel`):

* class indices without label smoothing: one saved ``(N, C)`` tensor (the softmax), turned into the
  gradient in place in backward; ``log p_y`` is ``(z_y − z_max) + log p_max``, exact also where
  ``p_y`` underflows, without a data-dependent branch;
* label smoothing and probability targets need every class's term: only ``log_softmax(z)`` is saved
  and the terms are evaluated in row chunks (small temporaries).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._common import (
    Targets,
    as_compute_dtype,
    autocast_off,
    check_reduction,
    class_dot,
    class_view,
    dense_coefficients,
    prepare_targets,
    reduce,
    run_kernel,
)


class Term:
    """An elementwise loss of the log-probability, ``ℓ(logp)``.

    Attributes:
        value: ``logp -> ℓ(logp)`` in differentiable torch operations (any shape).
        value_and_slope: ``logp -> (ℓ(logp), ℓ'(logp))`` for the eager fast path (no autograd).
    """

    def __init__(
        self,
        value: Callable[[Tensor], Tensor],
        value_and_slope: Callable[[Tensor], tuple[Tensor, Tensor]],
    ) -> None:
        self.value = value
        self.value_and_slope = value_and_slope


def capped_exp(x: Tensor, cap: float) -> Tensor:
    """``exp(x)`` for ``x ≤ cap``, continued linearly as ``exp(cap)·(1 + x − cap)`` above.

    Value and first derivative are continuous; differentiable by autograd without NaN at every order.
    """
    return torch.exp(torch.clamp_max(x, cap)) * (1.0 + torch.clamp_min(x - cap, 0.0))


_CHUNK_ELEMENTS = 1 << 21


class _IndexKernel:
    """Per-position ``a·ℓ(log p_y)`` for class indices (no label smoothing)."""

    def __init__(self, index: Tensor, coef: Tensor, term: Term) -> None:
        self.index = index.unsqueeze(1)
        self.coef = coef
        self.term = term

    def expression(self, z: Tensor) -> Tensor:
        logp = torch.log_softmax(z, dim=1).gather(1, self.index).squeeze(1)
        return self.coef * self.term.value(logp)

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        p = torch.softmax(z, dim=1)
        # log p_y = z_y − logsumexp(z) = (z_y − z_max) + log p_max: exact where p_y underflows
        z_max, j_max = z.max(dim=1, keepdim=True)
        logp = z.gather(1, self.index).sub_(z_max).add_(p.gather(1, j_max).log_()).squeeze(1)
        value, slope = self.term.value_and_slope(logp.clamp_max_(0.0))
        return value.mul_(self.coef), [p, slope.mul_(self.coef)]

    def backward(self, z: Tensor, saved: list[Tensor], grad_out: Tensor, reuse: bool) -> Tensor:
        p, slope = saved
        s = (grad_out * slope).unsqueeze(1)
        grad = p.mul_(s.neg()) if reuse else p * s.neg()
        return grad.scatter_add_(1, self.index, s)


class _DenseKernel:
    """Per-position ``Σ_j c_j·ℓ(log p_j)`` (label smoothing, probability targets).

    ``c_ij = at_y_i·[j = y_i] + row_scale_i·class_coef_j`` for class indices with smoothing (never
    materialised), or the dense coefficients for probability targets. The fast path saves only
    ``log_softmax(z)`` and rebuilds the terms in row chunks. Backward: ``A − p·Σ_j A_j`` with
    ``A_j = c_j·ℓ'(log p_j)``.
    """

    def __init__(self, t: Targets, term: Term, alpha: Tensor | None, factor: float) -> None:
        class_coef = t.weight
        if alpha is not None:
            class_coef = alpha if class_coef is None else class_coef * alpha
        self.t, self.term, self.class_coef, self.factor = t, term, class_coef, factor
        eps, C = t.label_smoothing, t.num_classes
        if t.kind == "index":
            assert t.labels is not None and t.weight_y is not None and t.valid is not None
            self.index = t.labels.unsqueeze(1)
            at_y = t.weight_y * ((1.0 - eps) * factor)
            self.at_y = at_y if alpha is None else at_y * alpha[t.labels]
            self.row_scale = t.valid * (eps / C * factor)
        else:
            assert t.prob is not None
            self.coefs = dense_coefficients(t, t.prob.dim(), class_coef)

    def _combine(self, value: Tensor, lo: int, hi: int) -> Tensor:
        """``Σ_j c_ij·value_ij`` for rows ``lo:hi`` of ``value`` (which holds those rows)."""
        if self.t.kind == "index":
            at = value.gather(1, self.index[lo:hi]).squeeze(1) * self.at_y[lo:hi]
            spread = value.sum(1) if self.class_coef is None else class_dot(value, self.class_coef)
            return at + spread * self.row_scale[lo:hi]
        out = (value * self.coefs[lo:hi]).sum(1)
        return out * self.factor if self.factor != 1.0 else out

    def expression(self, z: Tensor) -> Tensor:
        value = self.term.value(torch.log_softmax(z, dim=1))
        return self._combine(value, 0, z.shape[0])

    def _rows(self, z: Tensor) -> int:
        return max(1, _CHUNK_ELEMENTS // max(1, z[:1].numel()))

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        logp = torch.log_softmax(z, dim=1)
        rows = self._rows(z)
        out = torch.empty((z.shape[0], *z.shape[2:]), dtype=z.dtype, device=z.device)
        for lo in range(0, z.shape[0], rows):
            hi = min(lo + rows, z.shape[0])
            value, _ = self.term.value_and_slope(logp[lo:hi])
            out[lo:hi] = self._combine(value, lo, hi)
        return out, [logp]

    def _scale(self, slope: Tensor, lo: int, hi: int, grad_out: Tensor) -> Tensor:
        """``A = c ⊙ slope ⊙ grad_out`` for rows ``lo:hi``, in place in ``slope``."""
        if self.t.kind == "index":
            at_y = slope.gather(1, self.index[lo:hi]) * (self.at_y[lo:hi] * grad_out).unsqueeze(1)
            if self.class_coef is not None:
                slope *= class_view(self.class_coef, slope.dim())
            slope *= (self.row_scale[lo:hi] * grad_out).unsqueeze(1)
            return slope.scatter_add_(1, self.index[lo:hi], at_y)
        slope *= self.coefs[lo:hi]
        go = grad_out if self.factor == 1.0 else grad_out * self.factor
        return slope.mul_(go.unsqueeze(1))

    def backward(self, z: Tensor, saved: list[Tensor], grad_out: Tensor, reuse: bool) -> Tensor:
        (logp,) = saved
        grad = logp if reuse else logp.clone()
        rows = self._rows(grad)
        for lo in range(0, grad.shape[0], rows):
            hi = min(lo + rows, grad.shape[0])
            g = grad[lo:hi]
            _, slope = self.term.value_and_slope(g)
            a = self._scale(slope, lo, hi, grad_out[lo:hi])
            total = a.sum(1, keepdim=True)
            g.exp_().mul_(total.neg_()).add_(a)  # A − p·ΣA, in place
        return grad


def softmax_family_loss(
    input: Tensor,
    target: Tensor,
    *,
    term: Term,
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
    with autocast_off(z.device.type):
        z, t = prepare_targets(z, target, weight, ignore_index, label_smoothing)
        factor: Tensor | float | None = class_factor
        if isinstance(factor, Tensor):
            factor = factor.to(device=z.device, dtype=z.dtype)
        kernel: _IndexKernel | _DenseKernel
        if t.kind == "index" and t.label_smoothing == 0.0:
            assert t.labels is not None and t.weight_y is not None
            coef = t.weight_y
            if isinstance(factor, Tensor):
                coef = coef * factor[t.labels]
            elif factor is not None:
                coef = coef * factor
            kernel = _IndexKernel(t.labels, coef, term)
        else:
            alpha = factor if isinstance(factor, Tensor) else None
            scalar = float(factor) if isinstance(factor, float) else 1.0
            kernel = _DenseKernel(t, term, alpha, scalar)
        return reduce(run_kernel(z, kernel), t, reduction)
