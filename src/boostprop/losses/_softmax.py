"""Shared machinery for losses that are a function of the softmax probability of the target.

Used by the rooted logistic objectives (Wang et al. 2023, arXiv:2310.03890) and the focal loss
(Lin et al. 2017, arXiv:1708.02002). A loss of this family is ``ℓ(log p_y)`` with
``p = softmax(z)``; its gradient is ``ℓ'(log p_y)·(onehot(y) − p)``, a per-position scalar times
``onehot − p``.

Plain expression (``torch.func``, higher derivatives): ``log_softmax``, a gather and elementwise
terms. Under ``torch.compile`` the forward also returns the row max, the log-sum-exp and the
per-position slope sums, so that the backward is one fused elementwise pass, as compiled
``cross_entropy``'s. Eager fast paths (:class:`~boostprop.losses._common.Kernel`):

* class indices without label smoothing: one saved ``(N, C)`` tensor (the softmax), turned into the
  gradient in place in backward; ``log p_y`` is ``(z_y − z_max) + log p_max``, exact also where
  ``p_y`` underflows, without a data-dependent branch;
* label smoothing and probability targets need every class's term. With the term's ``fused`` hook
  (natural rooted form, focal with integer gamma) the forward pass computes, block by block along
  the batch dimension (cache-sized temporaries), ``log p`` and ``p`` from one exponential pass,
  the value and the gradient for ``grad_out = 1``; that gradient is the one saved ``(N, C)`` tensor
  and backward scales it in place. Otherwise (the paper form's basis ``p^(1/k)``, other terms)
  ``log_softmax(z)`` and one elementwise tensor are saved and both become the gradient in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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
    one_hot_like,
    prepare_targets,
    reduce,
    run_kernel,
)

#: ``(logp (N, C, ...), combine) -> (B, extra)``: see :class:`Term`.
Basis = Callable[[Tensor, Callable[[Tensor], Tensor]], tuple[Tensor, Tensor | None]]

#: ``(logp, reduce, mass) -> (Σ ℓ, Σ ℓ')`` over the classes: see :class:`Term`.
TracedSums = Callable[[Tensor, Callable[[Tensor], Tensor], "Tensor | float"], tuple[Tensor, Tensor]]

#: ``(z − max, reduce, mass) -> (S, Σ ℓ, Σ ℓ')`` over the classes: see :class:`Term`.
TracedStatsSums = Callable[
    [Tensor, Callable[[Tensor], Tensor], "Tensor | float"], tuple[Tensor, Tensor, Tensor]
]


class Term:
    """An elementwise loss of the log-probability, ``ℓ(logp)``.

    Attributes:
        value: ``logp -> ℓ(logp)`` in differentiable torch operations (any shape).
        value_and_slope: ``logp -> (ℓ(logp), ℓ'(logp))`` for the eager fast path (no autograd).
        basis: optional shortcut for the dense (label smoothing, probability targets) fast path:
            ``ℓ(logp) = a + b·B + extra`` and ``ℓ'(logp) = slope_scale·B`` for one elementwise
            tensor ``B``; ``basis(logp, combine)`` returns ``B`` and ``combine`` applied to
            ``extra`` (or ``None`` when it is zero), so that the backward pass reuses ``B``
            and needs no second evaluation of the term.
        dense: optional ``(logp, combine) -> (combine(ℓ(logp)), ℓ'(logp))`` for the dense fast path
            where no basis exists, computed with few temporaries (``logp`` is not modified).
        fused: optional ``(parts, combine) -> (combine(ℓ(logp)), X, s, combine(X) or None)`` with
            ``ℓ'(logp) = s·X``
            for the dense fast path that forms the gradient in the forward pass (see
            :class:`Softmax`); it may overwrite ``parts.logp`` and ``parts.one_minus_p`` (computed
            when ``fused_one_minus_p``) but not ``parts.p``.
        traced: optional ``parts -> (ℓ(logp), ℓ'(logp))`` in out-of-place operations from a
            :class:`Softmax` with ``one_minus_p``, for the traced dense path (``torch.compile``)
            where it is cheaper than :attr:`value_and_slope` of ``logp`` (no second
            transcendental function).
        traced_root: optional ``(r, logp) -> (ℓ(logp), ℓ'(logp))`` from the root
            ``r = p^(1/root_power)`` for an integer ``root_power``, for the traced dense path:
            ``r`` is the one exponential per element and ``p = r·r·…·r`` (the rooted losses with
            an integer ``k``, whose terms are functions of ``p^(±1/k)``).
        root_power: the integer ``n`` of :attr:`traced_root`.
        traced_sums: optional ``(logp, reduce, mass) -> (reduce(ℓ(logp)), reduce(ℓ'(logp)))`` for
            the traced forward with label smoothing, ``reduce`` being the (weighted) sum over the
            classes and ``mass = reduce(1)``: both sums from one reduction of the term's
            exponential (with two reductions reading it, Inductor stores that exponential as an
            ``(N, C, ...)`` buffer).
        traced_stats_sums: optional ``(z − max, reduce, mass) -> (S, reduce(ℓ), reduce(ℓ'))``, a
            cheaper :attr:`traced_sums` that also returns the softmax denominator
            ``S = Σ_j exp(z_j − max)`` (kept dimension): all three sums from one traversal of the
            shifted logits, when the term's class sums do not need ``log S`` element by element
            (the paper form: ``Σ p^(1/k) = S^(−1/k)·Σ exp((z − max)/k)``; focal with an integer
            gamma: moments of ``exp(z − max)``); used for ``(N, C)`` inputs, whose classes are
            contiguous.
    """

    def __init__(
        self,
        value: Callable[[Tensor], Tensor],
        value_and_slope: Callable[[Tensor], tuple[Tensor, Tensor]],
        basis: Basis | None = None,
        a: float = 0.0,
        b: float = 1.0,
        slope_scale: float = 1.0,
        dense: Basis | None = None,
        fused: Fused | None = None,
        fused_one_minus_p: bool = False,
        traced: Callable[[Softmax], tuple[Tensor, Tensor]] | None = None,
        traced_root: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
        root_power: int = 1,
        traced_sums: TracedSums | None = None,
        traced_stats_sums: TracedStatsSums | None = None,
    ) -> None:
        self.value = value
        self.value_and_slope = value_and_slope
        self.basis = basis
        self.a, self.b, self.slope_scale = a, b, slope_scale
        self.dense = dense
        self.fused = fused
        self.fused_one_minus_p = fused_one_minus_p
        self.traced = traced
        self.traced_root = traced_root
        self.root_power = root_power
        self.traced_sums = traced_sums
        self.traced_stats_sums = traced_stats_sums


class Softmax(NamedTuple):
    """``log_softmax`` and ``softmax`` of one input from one exponential pass (eager fast path).

    Attributes:
        logp: ``log p`` (a fresh buffer the consumer may overwrite).
        p: ``p = e / S`` with ``e = exp(z − max)``.
        one_minus_p: ``1 − p`` as ``(S − e) / S`` (``None`` unless requested): exact to rounding
            also where ``p → 1`` (at the max ``e = 1`` and ``S − 1`` is exact), without an
            ``expm1`` pass.
    """

    logp: Tensor
    p: Tensor
    one_minus_p: Tensor | None


def softmax_parts(z: Tensor, one_minus_p: bool = False) -> Softmax:
    """:class:`Softmax` of ``z`` along dim 1 (no autograd)."""
    logp = z - z.amax(dim=1, keepdim=True)
    e = torch.exp(logp)
    total = e.sum(dim=1, keepdim=True)
    logp.sub_(total.log())
    inv = total.reciprocal()
    d = torch.sub(total, e).mul_(inv) if one_minus_p else None
    return Softmax(logp, e.mul_(inv), d)


#: Elements per block of the eager fused dense path on CPU (about 512 KiB of float32 per buffer).
BLOCK_ELEMENTS = 1 << 17

#: ``(parts, combine) -> (combine(ℓ(logp)), X, s, combine(X) | None)``, ``ℓ'(logp) = s·X``: see
#: :class:`Term`.
Fused = Callable[[Softmax, Callable[[Tensor], Tensor]], tuple[Tensor, Tensor, float, Tensor | None]]


def capped_exp(x: Tensor, cap: float) -> Tensor:
    """``exp(x)`` for ``x ≤ cap``, continued linearly as ``exp(cap)·(1 + x − cap)`` above.

    Value and first derivative are continuous; differentiable by autograd without NaN at every order.
    """
    return torch.exp(torch.clamp_max(x, cap)) * (1.0 + torch.relu(x - cap))


def log_softmax_stats(z: Tensor) -> tuple[Tensor, Tensor]:
    """``(m, S)`` along dim 1 with ``log_softmax(z) = (z − m) − log S`` (traced path).

    ``m`` is the row max and ``S = Σ_j exp(z_j − m)``, both ``(N, 1, d1, ...)``: what a compiled
    ``cross_entropy`` saves for its backward (it keeps ``log S``), kept apart (not ``m + log S``)
    so that large logits lose no precision.
    """
    m = z.amax(dim=1, keepdim=True)
    return m, torch.exp(z - m).sum(dim=1, keepdim=True)


def keep_in_forward(out: Tensor, *sums: Tensor) -> Tensor:
    """``out`` made to depend on the per-position ``sums`` (``out + 0·sum``, exactly ``out`` for
    finite sums; the sums here are bounded).

    Under ``torch.compile`` the partitioner moves values that only the backward uses into the
    backward graph; there a slope sum would need its own reduction pass over ``(N, C)`` and a
    materialised ``(N, C)`` buffer. Tied to the output, the sums are computed in the forward's fused
    reduction, next to the value, and saved (``(N, ...)`` tensors).
    """
    for extra in sums:
        out = out + 0.0 * extra
    return out


def _class_sum(x: Tensor) -> Tensor:
    """``Σ_j x_ij`` over the class dimension 1."""
    return x.sum(1)


def _traced_terms(term: Term, z: Tensor, m: Tensor, total: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(ℓ(log p), ℓ'(log p), p)`` of every class, out of place, from the row statistics."""
    shifted = z - m
    logp = shifted - total.log()
    if term.traced_root is not None:
        # one exponential per element: r = p^(1/n), then p = rⁿ by products
        r = torch.exp(logp * (1.0 / term.root_power))
        p = r
        for _ in range(term.root_power - 1):
            p = p * r
        value, slope = term.traced_root(r, logp)
        return value, slope, p
    if term.traced is not None:
        e = torch.exp(shifted)
        inv = total.reciprocal()
        p = e * inv
        value, slope = term.traced(Softmax(logp, p, (total - e) * inv))
        return value, slope, p
    value, slope = term.value_and_slope(logp)
    return value, slope, torch.exp(logp)


class _IndexKernel:
    """Per-position ``a·ℓ(log p_y)`` for class indices (no label smoothing)."""

    def __init__(self, index: Tensor, coef: Tensor, term: Term, classes: Tensor) -> None:
        self.index = index.unsqueeze(1)
        self.classes = classes.unsqueeze(1)  # the raw target (see ``Targets.classes``)
        self.coef = coef
        self.term = term

    def expression(self, z: Tensor) -> Tensor:
        logp = torch.log_softmax(z, dim=1).gather(1, self.index).squeeze(1)
        return self.coef * self.term.value(logp)

    def traced_forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        m, total = log_softmax_stats(z)
        log_s = total.log()
        logp = (z.gather(1, self.index) - m - log_s).squeeze(1)
        value, slope = self.term.value_and_slope(logp)
        cslope = self.coef * slope
        return keep_in_forward(self.coef * value, cslope), [m, log_s, cslope]

    def traced_grad(self, z: Tensor, aux: list[Tensor], grad_out: Tensor) -> Tensor:
        # a·ℓ'(log p_y)·(onehot − p): one fused pass, as compiled cross_entropy's backward
        m, log_s, slope = aux
        p = torch.exp(z - m - log_s)
        return (one_hot_like(self.classes, z) - p) * (grad_out * slope).unsqueeze(1)

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        p = torch.softmax(z, dim=1)
        # log p_y = z_y − logsumexp(z) = (z_y − z_max) + log p_max: exact where p_y underflows
        # (max of p sits at the max of z; amax is much faster than max-with-indices)
        z_max, p_max = z.amax(dim=1, keepdim=True), p.amax(dim=1, keepdim=True)
        logp = z.gather(1, self.index).sub_(z_max).add_(p_max.log_()).squeeze(1)
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
    materialised), or the dense coefficients for probability targets. The fast path saves
    ``log_softmax(z)`` and one elementwise tensor (the term's basis ``B`` or its slope) and turns both
    into the gradient in place: ``A − p·Σ_j A_j`` with ``A_j = c_j·ℓ'(log p_j)``.
    """

    def __init__(self, t: Targets, term: Term, alpha: Tensor | None, factor: float) -> None:
        class_coef = t.weight
        if alpha is not None:
            class_coef = alpha if class_coef is None else class_coef * alpha
        self.t, self.term, self.class_coef, self.factor = t, term, class_coef, factor
        eps, C = t.label_smoothing, t.num_classes
        if t.kind == "index":
            assert t.labels is not None and t.weight_y is not None and t.valid is not None
            assert t.classes is not None
            self.index = t.labels.unsqueeze(1)
            self.classes = t.classes.unsqueeze(1)  # the raw target (see ``Targets.classes``)
            at_y = t.weight_y * ((1.0 - eps) * factor)
            self.at_y = at_y if alpha is None else at_y * alpha[t.labels]
            self.row_scale = t.valid * (eps / C * factor)
        else:
            assert t.prob is not None
            self.coefs = dense_coefficients(t, t.prob.dim(), class_coef)

    def _combine(self, value: Tensor) -> Tensor:
        """``Σ_j c_ij·value_ij`` per position."""
        if self.t.kind == "index":
            at = value.gather(1, self.index).squeeze(1) * self.at_y
            spread = value.sum(1) if self.class_coef is None else class_dot(value, self.class_coef)
            return at + spread * self.row_scale
        out = (value * self.coefs).sum(1)
        return out * self.factor if self.factor != 1.0 else out

    def _mass(self) -> Tensor:
        """``Σ_j c_ij`` per position."""
        if self.t.kind == "index":
            total = float(self.t.num_classes) if self.class_coef is None else self.class_coef.sum()
            return self.at_y + self.row_scale * total
        out = self.coefs.sum(1)
        return out * self.factor if self.factor != 1.0 else out

    def _scale_in_place(self, x: Tensor, g: Tensor) -> Tensor:
        """``x ← c ⊙ x ⊙ g`` (``g`` per position)."""
        if self.t.kind == "index":
            at_y = x.gather(1, self.index).mul_((self.at_y * g).unsqueeze(1))
            if self.class_coef is not None:
                x.mul_(class_view(self.class_coef, x.dim()))
            x.mul_((self.row_scale * g).unsqueeze(1))
            return x.scatter_add_(1, self.index, at_y)
        x.mul_(self.coefs)
        return x.mul_((g * self.factor if self.factor != 1.0 else g).unsqueeze(1))

    def expression(self, z: Tensor) -> Tensor:
        logp = torch.log_softmax(z, dim=1)
        value = self.term.value(logp)
        if self.t.kind == "index":  # the target's term from the gathered log-probability (fuses)
            at = self.term.value(logp.gather(1, self.index).squeeze(1)) * self.at_y
            spread = value.sum(1) if self.class_coef is None else class_dot(value, self.class_coef)
            return at + spread * self.row_scale
        return self._combine(value)

    def traced_forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        # value and the slope sum Σ_j c_j·ℓ'(log p_j) (per position) in the same fused reduction
        term = self.term
        if self.t.kind == "index":
            w = self.class_coef
            mass: Tensor | float = float(self.t.num_classes) if w is None else w.sum()
            reduce = _class_sum if w is None else (lambda x: class_dot(x, w))
            if term.traced_stats_sums is not None and z.dim() == 2:
                # the softmax denominator and both class sums from one traversal of the rows
                # (with classes along a strided dimension, (N, C, d1, ...), Inductor would
                # store the shared exponential as an (N, C, ...) buffer: the two-pass form)
                m = z.amax(dim=1, keepdim=True)
                total, spread, slopes = term.traced_stats_sums(z - m, reduce, mass)
            else:
                m, total = log_softmax_stats(z)
                if term.traced_sums is not None:
                    spread, slopes = term.traced_sums(z - m - total.log(), reduce, mass)
                else:
                    value, slope, _ = _traced_terms(term, z, m, total)
                    spread = value.sum(1) if w is None else class_dot(value, w)
                    slopes = slope.sum(1) if w is None else class_dot(slope, w)
            logp_y = z.gather(1, self.index) - m - total.log()
            value_y, slope_y = term.value_and_slope(logp_y)
            at_y = slope_y.squeeze(1) * self.at_y
            out = value_y.squeeze(1) * self.at_y + spread * self.row_scale
            sums = at_y + slopes * self.row_scale
            return keep_in_forward(out, at_y, sums), [m, total, at_y, sums]
        m, total = log_softmax_stats(z)
        value, slope, _ = _traced_terms(term, z, m, total)
        sums = self._combine(slope)
        return keep_in_forward(self._combine(value), sums), [m, total, sums]

    def traced_grad(self, z: Tensor, aux: list[Tensor], grad_out: Tensor) -> Tensor:
        # A − p·ΣA with A_j = c_j·ℓ'(log p_j) in one fused pass: ΣA comes from the forward, the
        # target's part enters through a comparison with the class index (no scatter)
        m, total, *sums = aux
        _, slope, p = _traced_terms(self.term, z, m, total)
        scaled = (sums[-1] * grad_out).unsqueeze(1)
        if self.t.kind == "index":
            spread = slope * (self.row_scale * grad_out).unsqueeze(1)
            if self.class_coef is not None:
                spread = spread * class_view(self.class_coef, slope.dim())
            at_y = (sums[0] * grad_out).unsqueeze(1)
            return spread + one_hot_like(self.classes, z) * at_y - p * scaled
        go = grad_out * self.factor if self.factor != 1.0 else grad_out
        return slope * self.coefs * go.unsqueeze(1) - p * scaled

    def _fused_forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Value and the gradient for ``grad_out = 1`` in one traversal (the term's ``fused``):
        one exponential pass gives ``log p`` and ``p``; the only saved tensor is the gradient
        ``G = A − p·ΣA`` (``A_j = c_j·ℓ'(log p_j)``), which backward scales by ``grad_out``.

        The positions are processed in blocks of about :data:`BLOCK_ELEMENTS` elements along the
        batch dimension, so that the term's temporaries stay in the CPU cache and are reused by
        the allocator instead of being fresh ``(N, C, ...)`` pages for every elementwise step.
        """
        grad = torch.empty_like(z)
        out = z.new_empty((z.shape[0], *z.shape[2:]))
        rows = max(1, BLOCK_ELEMENTS // max(1, z[:1].numel())) if z.device.type == "cpu" else 0
        n = z.shape[0]
        if rows == 0 or rows >= n:
            self._fused_block(z, grad, out, slice(None))
        else:
            for start in range(0, n, rows):
                sl = slice(start, min(start + rows, n))
                self._fused_block(z[sl], grad[sl], out[sl], sl)
        return out, [grad]

    def _fused_block(self, z: Tensor, grad: Tensor, out: Tensor, sl: slice) -> None:
        """:meth:`_fused_forward` on the positions ``sl`` (``z``, ``grad``, ``out`` sliced)."""
        fused = self.term.fused
        assert fused is not None
        w = self.class_coef
        if self.t.kind == "index":
            index, at_y, row_scale = self.index[sl], self.at_y[sl], self.row_scale[sl]

            def combine(value: Tensor) -> Tensor:
                at = value.gather(1, index).squeeze(1) * at_y
                spread = value.sum(1) if w is None else class_dot(value, w)
                return at.addcmul_(spread, row_scale)

        else:
            coefs = self.coefs[sl]

            def combine(value: Tensor) -> Tensor:
                total = (value * coefs).sum(1)
                return total * self.factor if self.factor != 1.0 else total

        parts = softmax_parts(z, one_minus_p=self.term.fused_one_minus_p)
        value, x, scale, combined = fused(parts, combine)
        out.copy_(value)
        p = parts.p
        del parts
        if combined is None:
            combined = combine(x)
        total = (combined * scale).unsqueeze(1)  # Σ_j A_j = s·Σ_j c_j X_j
        if self.t.kind == "index":
            x_y = x.gather(1, index).mul_((at_y * scale).unsqueeze(1))
            if w is not None:
                x.mul_(class_view(w, x.dim()))
            x.mul_((row_scale * scale).unsqueeze(1))
            torch.addcmul(x, p, total, value=-1.0, out=grad)
            grad.scatter_add_(1, index, x_y)
        else:
            x.mul_(coefs)
            if scale * self.factor != 1.0:
                x.mul_(scale * self.factor)
            torch.addcmul(x, p, total, value=-1.0, out=grad)

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        term = self.term
        if term.fused is not None:
            return self._fused_forward(z)
        logp = torch.log_softmax(z, dim=1)
        if term.basis is not None:
            basis, extra = term.basis(logp, self._combine)
            combined = self._combine(basis)
            out = combined * term.b
            if term.a != 0.0:
                out += self._mass() * term.a
            if extra is not None:
                out += extra
            return out, [logp, basis, combined]
        if term.dense is not None:
            out, slope = term.dense(logp, self._combine)
            assert slope is not None
            return out, [logp, slope]
        value, slope = term.value_and_slope(logp)
        return self._combine(value), [logp, slope]

    def backward(self, z: Tensor, saved: list[Tensor], grad_out: Tensor, reuse: bool) -> Tensor:
        if self.term.fused is not None:  # the saved gradient for grad_out = 1
            (grad,) = saved
            g = grad_out.unsqueeze(1)
            return grad.mul_(g) if reuse else grad * g
        logp, x = saved[0], saved[1]
        if not reuse:
            logp, x = logp.clone(), x.clone()
        if self.term.basis is not None:
            g = grad_out * self.term.slope_scale
            total = (saved[2] * g).unsqueeze(1)  # Σ_j A_j = slope_scale·g·Σ_j c_j B_j
            a = self._scale_in_place(x, g)
        else:
            a = self._scale_in_place(x, grad_out)
            total = a.sum(1, keepdim=True)
        return a.addcmul_(logp.exp_(), total, value=-1.0)  # A − p·ΣA


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
            assert t.labels is not None and t.weight_y is not None and t.classes is not None
            coef = t.weight_y
            if isinstance(factor, Tensor):
                coef = coef * factor[t.labels]
            elif factor is not None:
                coef = coef * factor
            kernel = _IndexKernel(t.labels, coef, term, t.classes)
        else:
            alpha = factor if isinstance(factor, Tensor) else None
            scalar = float(factor) if isinstance(factor, float) else 1.0
            kernel = _DenseKernel(t, term, alpha, scalar)
        return reduce(run_kernel(z, kernel), t, reduction)
