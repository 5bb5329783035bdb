"""Linear output + exponential / cubic gradient boosting as losses.

Source: A. Øland, A. Bansal, R. B. Dannenberg, B. Raj, "Be Careful What You Backpropagate: A Case
For Linear Output Activations & Gradient Boosting", arXiv:1707.04199 (2017).

The network's output stays linear (logits ``z``); the error sent back is boosted:

* exponential: ``∂L/∂z_j = alpha·exp(z_j) + beta − t_j`` from
  ``L = Σ_j [alpha·exp(z_j) + (beta − t_j)·z_j]``;
* cubic: ``∂L/∂z_j = alpha·z_j³ + beta − t_j`` from ``L = Σ_j [alpha·z_j⁴/4 + (beta − t_j)·z_j]``.

There is no normaliser, so ``exp`` cannot be stabilised by subtracting a max. Above
``max_exponent`` (``c``) the exponential is continued linearly, ``exp(c)·(1 + z − c)``: value and first derivative
are continuous, the loss stays finite for any finite float32 logit, and a logit that is far too high
still receives the (large, finite) gradient ``alpha·exp(c)``.

Both losses are a plain differentiable expression (used under ``torch.compile``, ``torch.func`` and
for higher derivatives) and, in eager mode, a custom autograd function that keeps a single
``(N, C)`` buffer for backward (``exp(min(z, c))``; for the cubic loss ``z²``) and turns it into the
gradient in place (see ``_common.run_kernel``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._common import (
    CrossEntropyConventions,
    Targets,
    as_compute_dtype,
    autocast_off,
    check_finite,
    check_positive,
    check_reduction,
    class_dot,
    class_view,
    dense_coefficients,
    one_hot_like,
    prepare_targets,
    reduce,
    resolve_cap,
    run_kernel,
    sample_mass,
)
from ._softmax import capped_exp, keep_in_forward

__all__ = ["CubicBoostLoss", "ExpBoostLoss", "cubic_boost_loss", "exp_boost_loss"]

# above this cap exp(cap) overflows float64: the continuation cannot be represented, exp is inf anyway
_EXP_CAP_LIMIT = 709.0


class _BoostKernel:
    """Per-position loss ``ω·Σ_j[alpha·f(z_j) + beta·z_j] − Σ_j c_j z_j`` (``f`` = capped exp or
    ``z⁴/4``), ``ω = Σ_j c_j``.

    The linear target term ``Σ_j c_ij z_ij`` is split as ``cy_i·z_iy`` (class indices) plus
    ``valid_i·Σ_j row_j z_ij`` (label smoothing of class indices, ``row = ε·weight/C``) or a dense
    ``(N, C, ...)`` coefficient (probability targets). The fast path keeps one ``(N, C, ...)`` buffer
    for backward (``exp(min(z, c))``; for the cubic loss ``z²``) and turns it into the gradient in
    place; its first derivative is ``ω·(alpha·f'(z) + beta) − c``.
    """

    def __init__(self, t: Targets, alpha: float, beta: float, cap: float, kind: str) -> None:
        self.alpha, self.beta, self.cap, self.kind = alpha, beta, cap, kind
        eps = t.label_smoothing
        self.omega = sample_mass(t)
        self.index: Tensor | None = None
        self.classes: Tensor | None = None  # the raw target (see ``Targets.classes``)
        self.cy: Tensor | None = None
        self.row: Tensor | None = None
        self.valid: Tensor | None = None
        self.dense: Tensor | None = None
        if t.kind == "index":
            assert t.labels is not None and t.weight_y is not None and t.classes is not None
            self.index = t.labels.unsqueeze(1)
            self.classes = t.classes.unsqueeze(1)
            self.cy = t.weight_y * (1.0 - eps) if eps > 0 else t.weight_y
            if eps > 0:
                w = t.weight
                if w is None:
                    w = torch.ones(t.num_classes, dtype=t.weight_y.dtype, device=t.weight_y.device)
                self.row = w * (eps / t.num_classes)
                self.valid = t.valid
        else:
            assert t.prob is not None
            self.dense = dense_coefficients(t, t.prob.dim(), t.weight)

    def _linear(self, z: Tensor) -> Tensor:
        """``Σ_j c_ij z_ij``."""
        out = torch.zeros((), dtype=z.dtype, device=z.device)
        if self.index is not None:
            assert self.cy is not None
            out = z.gather(1, self.index).squeeze(1) * self.cy
        if self.row is not None:
            assert self.valid is not None
            out = out + class_dot(z, self.row) * self.valid
        if self.dense is not None:
            out = out + (z * self.dense).sum(1)
        return out

    def expression(self, z: Tensor) -> Tensor:
        f = capped_exp(z, self.cap) if self.kind == "exp" else z.pow(4) * 0.25
        total = f.sum(1) * self.alpha
        if self.beta != 0.0:
            total = total + self.beta * z.sum(1)
        return self.omega * total - self._linear(z)

    def _coefficients(self) -> list[Tensor]:
        """The per-position coefficients the gradient needs: ω, then c_y and the smoothing mask
        where they exist."""
        coefs = [self.omega]
        if self.cy is not None:
            coefs.append(self.cy)
        if self.valid is not None:
            coefs.append(self.valid)
        return coefs

    def traced_forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        # the per-position coefficients are computed here and saved as float tensors, so that
        # the backward's one pass reads them instead of recomputing them from a saved bool mask
        coefs = self._coefficients()
        return keep_in_forward(self.expression(z), *coefs), coefs

    def traced_grad(self, z: Tensor, aux: list[Tensor], grad_out: Tensor) -> Tensor:
        # one fused elementwise pass: the target's −c_y enters through a comparison with the
        # class index (no scatter, which Inductor runs as a second, random-access pass)
        omega, *rest = aux
        cy = rest.pop(0) if self.cy is not None else None
        valid = rest.pop(0) if self.valid is not None else None
        go = grad_out * omega
        slope = torch.exp(torch.clamp_max(z, self.cap)) if self.kind == "exp" else z * z * z
        grad = slope * (go * self.alpha).unsqueeze(1)
        if self.beta != 0.0:
            grad = grad + (go * self.beta).unsqueeze(1)
        if self.row is not None:
            assert valid is not None
            scale = (grad_out * valid).unsqueeze(1)
            grad = grad - scale * class_view(self.row, grad.dim())
        if self.dense is not None:
            grad = grad - self.dense * grad_out.unsqueeze(1)
        if self.classes is not None:
            assert cy is not None
            grad = grad - one_hot_like(self.classes, z) * (grad_out * cy).unsqueeze(1)
        return grad

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        if self.kind == "exp":
            # buf = exp(min(z, c)) = f'(z); Σ f = Σ buf + exp(c)·Σ relu(z − c)
            buf = torch.clamp_max(z, self.cap).exp_()
            total = buf.sum(1)
            if self.cap < _EXP_CAP_LIMIT:
                excess = torch.sub(z, self.cap).clamp_min_(0.0).sum(1)
                total.add_(excess, alpha=math.exp(self.cap))
            saved = [buf]
        else:
            buf = z * z  # saved: backward needs z³ = buf·z
            if z.dim() == 2:
                total = torch.linalg.vector_norm(buf, 2, dim=1).square_()
            else:
                total = (buf * buf).sum(1)
            total.mul_(0.25)
            saved = [buf]
        out = total.mul_(self.alpha)
        if self.beta != 0.0:
            out.add_(z.sum(1), alpha=self.beta)
        return out.mul_(self.omega).sub_(self._linear(z)), saved

    def backward(self, z: Tensor, saved: list[Tensor], grad_out: Tensor, reuse: bool) -> Tensor:
        (buf,) = saved
        go = grad_out * self.omega
        coef = (go * self.alpha).unsqueeze(1)
        if self.kind == "exp":
            grad = buf.mul_(coef) if reuse else buf * coef
        else:
            grad = buf.mul_(z) if reuse else buf * z
            grad.mul_(coef)
        if self.beta != 0.0:
            grad.add_((go * self.beta).unsqueeze(1))
        if self.index is not None:
            assert self.cy is not None
            grad.scatter_add_(1, self.index, (grad_out * self.cy).neg_().unsqueeze(1))
        if self.row is not None:
            assert self.valid is not None
            scale = (grad_out * self.valid).unsqueeze(1)
            grad.addcmul_(scale, class_view(self.row, grad.dim()), value=-1.0)
        if self.dense is not None:
            grad.addcmul_(self.dense, grad_out.unsqueeze(1), value=-1.0)
        return grad


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
    with autocast_off(z.device.type):
        z, t = prepare_targets(z, target, weight, ignore_index, label_smoothing)
        kernel = _BoostKernel(t, alpha, beta, cap, kind)
        return reduce(run_kernel(z, kernel), t, reduction)


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
    max_exponent: float = 30.0,
    max_logit: float | None = None,
) -> Tensor:
    """Exponential gradient-boosting loss of linear outputs (Øland et al. 2017).

    Per position ``L = Σ_j [alpha·exp(z_j) + (beta − t_j)·z_j]``, whose gradient is exactly
    ``alpha·exp(z_j) + beta − t_j`` for ``z_j ≤ max_exponent``; above, ``exp`` continues linearly
    as ``exp(c)·(1 + z − c)``. Conventions (shapes, ``weight``, ``ignore_index``, ``reduction``,
    ``label_smoothing``, probability targets) are those of ``F.cross_entropy``; the loss is linear
    in the (weighted) target, ``Σ_j weight_j t_j · L(z, onehot(j))``, which equals the formula
    above for targets summing to 1 without weights. Predict with ``argmax`` of the logits.
    ``max_logit`` is the deprecated former name of ``max_exponent``.

    Example:
        >>> z = torch.zeros(2, 3, requires_grad=True)
        >>> exp_boost_loss(z, torch.tensor([0, 2]), alpha=0.1).backward()
        >>> z.grad[0]  # (alpha·exp(0) − onehot) / N
        tensor([-0.4500,  0.0500,  0.0500])
    """
    cap = resolve_cap(max_exponent, max_logit, "max_logit")
    return _boost_loss(
        input,
        target,
        alpha=alpha,
        beta=beta,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        cap=cap,
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

    Positional arguments are those of ``torch.nn.CrossEntropyLoss``, in its order
    (``weight, size_average, ignore_index, reduce, reduction, label_smoothing``); the loss's own
    parameters are keyword-only. ``max_logit`` is the deprecated former name of ``max_exponent``.

    Example:
        >>> crit = ExpBoostLoss(torch.ones(10), alpha=0.1)  # like CrossEntropyLoss(weight)
        >>> loss = crit(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        *,
        alpha: float = 0.1,
        beta: float = 0.0,
        max_exponent: float = 30.0,
        max_logit: float | None = None,
    ) -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction, label_smoothing)
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_finite("beta", beta)
        self.max_exponent = resolve_cap(max_exponent, max_logit, "max_logit")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of logits ``input`` for ``target`` (see :func:`exp_boost_loss`)."""
        return exp_boost_loss(
            input,
            target,
            alpha=self.alpha,
            beta=self.beta,
            **self.conventions(),
            max_exponent=self.max_exponent,
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, reduction={self.reduction!r}"


class CubicBoostLoss(CrossEntropyConventions):
    """Module form of :func:`cubic_boost_loss`.

    Positional arguments are those of ``torch.nn.CrossEntropyLoss``, in its order; the loss's own
    parameters are keyword-only.

    Example:
        >>> loss = CubicBoostLoss(alpha=1e-3)(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        *,
        alpha: float = 1e-3,
        beta: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction, label_smoothing)
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_finite("beta", beta)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of logits ``input`` for ``target`` (see :func:`cubic_boost_loss`)."""
        return cubic_boost_loss(
            input,
            target,
            alpha=self.alpha,
            beta=self.beta,
            **self.conventions(),
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, reduction={self.reduction!r}"
