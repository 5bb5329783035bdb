"""Linear output + exponential / cubic gradient boosting as losses.

Source: A. Øland, A. Bansal, R. B. Dannenberg, B. Raj, "Be Careful What You Backpropagate: A Case
For Linear Output Activations & Gradient Boosting", arXiv:1707.04199 (2017).

The network's output stays linear (logits ``z``); the error sent back is boosted:

* exponential: ``∂L/∂z_j = alpha·exp(z_j) + beta − t_j`` from
  ``L = Σ_j [alpha·exp(z_j) + (beta − t_j)·z_j]``;
* cubic: ``∂L/∂z_j = alpha·z_j³ + beta − t_j`` from ``L = Σ_j [alpha·z_j⁴/4 + (beta − t_j)·z_j]``.

There is no normaliser, so ``exp`` cannot be stabilised by subtracting a max. Above ``max_logit``
(``c``) the exponential is continued linearly, ``exp(c)·(1 + z − c)``: value and first derivative
are continuous, the loss stays finite for any finite float32 logit, and a logit that is far too high
still receives the (large, finite) gradient ``alpha·exp(c)``.

Both losses are written as one custom autograd function that keeps a single ``(N, C)`` buffer for
backward (``exp(min(z, c))``; for the cubic loss ``z²``) and turns it into the gradient in place.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ._common import (
    CrossEntropyConventions,
    Targets,
    as_compute_dtype,
    check_finite,
    check_positive,
    check_reduction,
    class_view,
    no_autocast,
    prepare_targets,
    reduce,
    sample_mass,
    saved_buffer_is_free,
)

__all__ = ["CubicBoostLoss", "ExpBoostLoss", "cubic_boost_loss", "exp_boost_loss"]


def _linear_parts(
    z: Tensor, t: Targets
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """Split ``c_ij = weight_j · t̃_ij`` into (index, coefficient at index, per-class row, dense).

    The linear target term of the loss is ``Σ_j c_ij z_ij``; for class-index targets
    ``c_ij = a_i·[j = y_i] + r_j·valid_i`` with ``a_i = (1 − ε)·weight[y_i]`` and ``r = ε·weight/C``.
    """
    eps = t.label_smoothing
    if t.kind == "index":
        assert t.index is not None
        if t.weight_y is not None:
            cy = t.weight_y * (1.0 - eps) if eps > 0 else t.weight_y
        else:
            cy = None  # the constant 1 − ε, applied as a scalar
        row = None
        if eps > 0:
            w = t.weight if t.weight is not None else torch.ones(t.num_classes).to(z)
            row = w * (eps / t.num_classes)
        return t.index, cy, row, None
    assert t.prob is not None
    dense = t.prob
    if eps > 0:
        dense = dense * (1.0 - eps) + eps / t.num_classes
    if t.weight is not None:
        dense = dense * class_view(t.weight, z.dim())
    return None, None, None, dense


class _BoostFunction(torch.autograd.Function):
    """Per-position loss ``ω·Σ_j[alpha·f(z_j) + beta·z_j] − Σ_j c_j z_j`` with a hand-written
    backward ``ω·(alpha·f'(z) + beta) − c`` (``f`` = capped exp or ``z⁴/4``)."""

    @staticmethod
    def forward(
        ctx: Any,
        z: Tensor,
        omega: Tensor | None,
        index: Tensor | None,
        cy: Tensor | None,
        row: Tensor | None,
        dense: Tensor | None,
        alpha: float,
        beta: float,
        cap: float,
        kind: str,
        eps: float,
    ) -> Tensor:
        if kind == "exp":
            # buf = exp(min(z, c)) = f'(z); Σ f = Σ buf + exp(c)·Σ relu(z − c)
            # (the max is one cheap reduction; it spares a clamp pass in the usual case)
            if z.numel() and bool(z.max() > cap):
                buf = torch.clamp_max(z, cap).exp_()
                total = buf.sum(1) + math.exp(cap) * (z - cap).clamp_min_(0).sum(1)
            else:
                buf = torch.exp(z)
                total = buf.sum(1)
            ctx.save_for_backward(buf, omega, index, cy, row, dense)
        else:
            sq = z * z  # saved: backward needs z³ = sq·z
            if z.dim() == 2:
                total = torch.linalg.vector_norm(sq, 2, dim=1).square_()
            else:
                total = (sq * sq).sum(1)
            total.mul_(0.25)
            ctx.save_for_backward(sq, omega, index, cy, row, dense, z)
        ctx.alpha, ctx.beta, ctx.kind, ctx.eps = alpha, beta, kind, eps
        out = total.mul_(alpha)
        if beta != 0.0:
            out += beta * z.sum(1)
        if omega is not None:
            out *= omega
        if index is not None:
            zy = z.gather(1, index.unsqueeze(1)).squeeze(1)
            out -= zy * cy if cy is not None else zy * (1.0 - ctx.eps)
        if row is not None:
            out -= torch.einsum("nc...,c->n...", z, row)
        if dense is not None:
            out -= (z * dense).sum(1)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        buf, omega, index, cy, row, dense, *rest = ctx.saved_tensors
        go = grad_out if omega is None else grad_out * omega
        # the saved buffer becomes the gradient in place unless the graph is kept for another
        # backward (retain_graph=True / create_graph=True)
        reuse = saved_buffer_is_free()
        if ctx.kind == "exp":
            coef = (go * ctx.alpha).unsqueeze(1)
            grad = buf.mul_(coef) if reuse else buf * coef
        else:
            grad = buf.mul_(rest[0]) if reuse else buf * rest[0]
            grad *= (go * ctx.alpha).unsqueeze(1)
        if ctx.beta != 0.0:
            grad += (go * ctx.beta).unsqueeze(1)
        if index is not None:
            src = grad_out * cy if cy is not None else grad_out * (1.0 - ctx.eps)
            grad.scatter_add_(1, index.unsqueeze(1), src.neg_().unsqueeze(1))
        if row is not None:
            grad.addcmul_(grad_out.unsqueeze(1), class_view(row, grad.dim()), value=-1.0)
        if dense is not None:
            grad.addcmul_(dense, grad_out.unsqueeze(1), value=-1.0)
        return grad, None, None, None, None, None, None, None, None, None, None


def _boost_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float,
    beta: float,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    cap: float,
    kind: str,
) -> Tensor:
    check_reduction(reduction)
    alpha = check_positive("alpha", alpha)
    beta = check_finite("beta", beta)
    z = as_compute_dtype(input)
    with no_autocast(z.device.type):
        z, t = prepare_targets(z, target, weight, ignore_index, label_smoothing)
        # ω = Σ_j weight_j t̃_ij is 1 for unweighted class indices with nothing ignored
        unit = t.kind == "index" and t.weight is None and t.valid is None
        omega = None if unit else sample_mass(z, t)
        index, cy, row, dense = _linear_parts(z, t)
        if row is not None and t.valid is not None:
            # smoothing mass only on counted positions: fold the mask into a dense term
            assert index is not None
            dense = t.valid.unsqueeze(1) * class_view(row, z.dim())
            row = None
        per_sample = _BoostFunction.apply(
            z, omega, index, cy, row, dense, alpha, beta, cap, kind, t.label_smoothing
        )
        return reduce(per_sample, t, reduction)


def exp_boost_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 0.1,
    beta: float = 0.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    max_logit: float = 30.0,
) -> Tensor:
    """Exponential gradient-boosting loss of linear outputs (Øland et al. 2017).

    Per position ``L = Σ_j [alpha·exp(z_j) + (beta − t_j)·z_j]``, whose gradient is exactly
    ``alpha·exp(z_j) + beta − t_j`` for ``z_j ≤ max_logit``; above, ``exp`` continues linearly as
    ``exp(c)·(1 + z − c)``. Conventions (shapes, ``weight``, ``ignore_index``, ``reduction``,
    ``label_smoothing``, probability targets) are those of ``F.cross_entropy``; the loss is linear
    in the (weighted) target, ``Σ_j weight_j t_j · L(z, onehot(j))``, which equals the formula
    above for targets summing to 1 without weights. Predict with ``argmax`` of the logits.

    Example:
        >>> z = torch.zeros(2, 3, requires_grad=True)
        >>> exp_boost_loss(z, torch.tensor([0, 2]), alpha=0.1).backward()
        >>> z.grad[0]  # (alpha·exp(0) − onehot) / N
        tensor([-0.4500,  0.0500,  0.0500])
    """
    max_logit = check_finite("max_logit", max_logit)
    return _boost_loss(
        input,
        target,
        alpha=alpha,
        beta=beta,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        cap=max_logit,
        kind="exp",
    )


def cubic_boost_loss(
    input: Tensor,
    target: Tensor,
    *,
    alpha: float = 1e-3,
    beta: float = 0.0,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cubic gradient-boosting loss (Øland et al. 2017, "pow3GB").

    Per position ``L = Σ_j [alpha·z_j⁴/4 + (beta − t_j)·z_j]`` with gradient
    ``alpha·z_j³ + beta − t_j``. Same conventions as :func:`exp_boost_loss`. In float32 the loss is
    finite for ``|z| ≲ 1e9``.

    Example:
        >>> z = torch.full((1, 2), 2.0, requires_grad=True)
        >>> cubic_boost_loss(z, torch.tensor([1]), alpha=0.5).backward()
        >>> z.grad  # 0.5·2³ − onehot
        tensor([[4., 3.]])
    """
    return _boost_loss(
        input,
        target,
        alpha=alpha,
        beta=beta,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        cap=math.inf,
        kind="cubic",
    )


class ExpBoostLoss(CrossEntropyConventions):
    """Module form of :func:`exp_boost_loss`.

    Example:
        >>> loss = ExpBoostLoss(alpha=0.1)(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
    """

    def __init__(
        self,
        *,
        alpha: float = 0.1,
        beta: float = 0.0,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        max_logit: float = 30.0,
    ) -> None:
        super().__init__(
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_finite("beta", beta)
        self.max_logit = check_finite("max_logit", max_logit)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return exp_boost_loss(
            input,
            target,
            alpha=self.alpha,
            beta=self.beta,
            **self.conventions(),
            max_logit=self.max_logit,
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, reduction={self.reduction!r}"


class CubicBoostLoss(CrossEntropyConventions):
    """Module form of :func:`cubic_boost_loss`.

    Example:
        >>> loss = CubicBoostLoss(alpha=1e-3)(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
    """

    def __init__(
        self,
        *,
        alpha: float = 1e-3,
        beta: float = 0.0,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_finite("beta", beta)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cubic_boost_loss(
            input,
            target,
            alpha=self.alpha,
            beta=self.beta,
            **self.conventions(),
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, reduction={self.reduction!r}"
