"""Rooted logistic objectives (RLO), binary and multi-class.

Source: Z. Wang, A. Veluswami, H. Mishra, S. N. Ravi, "Accelerated Neural Network Training with
Rooted Logistic Objectives", arXiv:2310.03890 (2023); official code
github.com/ellenzhuwang/rooted_loss.

From ``log u = lim_{k→∞} k·(u^(1/k) − 1)`` applied to the logistic loss (constant ``−k`` dropped):

* binary: ``ℓ_k(z, y) = k·(1 + exp(−y·z))^(1/k) = k·exp(softplus(−y·z)/k)``, ``y ∈ {−1, +1}``;
* multi-class ``form="paper"`` (the official code, where the reported numbers come from):
  ``m·(1 − p_y^(1/k))`` — (m/k)× the Generalized Cross-Entropy with ``q = 1/k``; bounded and
  non-convex; its gradient vanishes for hopeless samples (``p_y → 0``), by design;
* multi-class ``form="natural"``: ``k·p_y^(−1/k) = k·exp(−log p_y / k)``, the faithful convex lift of
  the binary loss (equal to it for C = 2).

Powers of probabilities are computed from log-softmax, never as ``pow`` of a softmax. The natural and
binary forms grow like ``exp(margin/k)``: beyond an exponent cap (``max_exponent``, default 30) the
exponential continues linearly, ``exp(c)·(1 + u − c)``, so loss and gradient stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._common import (
    CrossEntropyConventions,
    as_compute_dtype,
    autocast_off,
    check_finite,
    check_positive,
    check_reduction,
    legacy_reduction,
    values_readable,
)
from ._softmax import Softmax, Term, capped_exp, softmax_family_loss

__all__ = [
    "BinaryRootedLogisticLoss",
    "RootedLogisticLoss",
    "binary_rooted_logistic_loss",
    "rooted_logistic_loss",
]

FORMS = ("paper", "natural")

#: Below this exponent ``exp`` is finite in float32.
_FLOAT32_EXP_MAX = 88.0


def _paper_term(k: float, m: float) -> Term:
    def value(logp: Tensor) -> Tensor:
        return m * (1.0 - torch.exp(logp * (1.0 / k)))  # m·(1 − p^(1/k))

    def value_and_slope(logp: Tensor) -> tuple[Tensor, Tensor]:
        root = torch.exp(logp * (1.0 / k))  # a product, not a division, per element
        return m * (1.0 - root), root * (-m / k)

    def basis(logp: Tensor, combine: Callable[[Tensor], Tensor]) -> tuple[Tensor, None]:
        return torch.mul(logp, 1.0 / k).exp_(), None  # ℓ = m − m·B, ℓ' = −(m/k)·B

    def traced_root(root: Tensor, logp: Tensor) -> tuple[Tensor, Tensor]:
        return m * (1.0 - root), root * (-m / k)

    def traced_sums(
        logp: Tensor, reduce: Callable[[Tensor], Tensor], mass: Tensor | float
    ) -> tuple[Tensor, Tensor]:
        # Σ m·(1 − r) = m·mass − m·Σr and Σ −(m/k)·r: one reduction of r = p^(1/k)
        r_sum = reduce(torch.exp(logp * (1.0 / k)))
        return m * mass - m * r_sum, r_sum * (-m / k)

    integer = _root_power(k)

    def traced_stats_sums(
        shifted: Tensor, reduce: Callable[[Tensor], Tensor], mass: Tensor | float
    ) -> tuple[Tensor, Tensor, Tensor]:
        # with u = exp((z − max)/k): S = Σ u^k and Σ p^(1/k) = S^(−1/k)·Σ u, one traversal (one
        # exponential per element for an integer k, u^k by products)
        u = torch.exp(shifted * (1.0 / k))
        if integer:
            e = u
            for _ in range(integer - 1):
                e = e * u
        else:
            e = torch.exp(shifted)
        total = e.sum(1, keepdim=True)
        r_sum = reduce(u) * torch.pow(total.squeeze(1), -1.0 / k)
        return total, m * mass - m * r_sum, r_sum * (-m / k)

    return Term(
        value,
        value_and_slope,
        basis,
        a=m,
        b=-m,
        slope_scale=-m / k,
        traced_root=traced_root if integer else None,
        root_power=integer or 1,
        traced_sums=traced_sums,
        traced_stats_sums=traced_stats_sums,
    )


#: Largest integer ``k`` whose ``p = (p^(1/k))^k`` is formed by products in the traced path.
_MAX_ROOT_POWER = 8


def _root_power(k: float) -> int | None:
    """``k`` as an int when it is a whole number in ``[1, 8]`` (the traced path's root trick)."""
    return int(k) if float(k).is_integer() and 1 <= k <= _MAX_ROOT_POWER else None


def _natural_term(k: float, cap: float) -> Term:
    def value(logp: Tensor) -> Tensor:
        return k * capped_exp(logp * (-1.0 / k), cap)  # k·p^(−1/k), exponent capped

    def value_and_slope(logp: Tensor) -> tuple[Tensor, Tensor]:
        x = logp * (-1.0 / k)  # −log p / k ≥ 0 (a product, not a division, per element)
        slope = torch.exp(torch.clamp_max(x, cap))  # capped_exp'(x)
        value = slope * (1.0 + torch.relu(x - cap)) * k
        return value, slope.neg()

    def fused(
        parts: Softmax, combine: Callable[[Tensor], Tensor]
    ) -> tuple[Tensor, Tensor, float, Tensor]:
        # ℓ = k·B + k·exp(c)·relu(x − c) with x = −log p / k, B = exp(min(x, c)); ℓ' = −B
        x = parts.logp.mul_(-1.0 / k)
        b = torch.clamp_max(x, cap)
        out = None
        if cap < math.log(torch.finfo(x.dtype).max / k):  # else exp overflows before the cap
            out = combine(x.sub_(b)).mul_(k * math.exp(cap))
        b.exp_()
        combined = combine(b)
        value = combined * k
        return (value if out is None else value.add_(out)), b, -1.0, combined

    def traced_root(root: Tensor, logp: Tensor) -> tuple[Tensor, Tensor]:
        # B = exp(min(x, c)) = min(1/r, exp(c)) with r = exp(−x): a reciprocal, not a second
        # exponential (r = 0 gives inf, then exp(c), as exp of the capped exponent does)
        x = logp * (-1.0 / k)
        slope = torch.clamp_max(root.reciprocal(), math.exp(cap))
        return slope * (1.0 + torch.relu(x - cap)) * k, slope.neg()

    def traced_sums(
        logp: Tensor, reduce: Callable[[Tensor], Tensor], mass: Tensor | float
    ) -> tuple[Tensor, Tensor]:
        # Σ k·B·(1 + relu(x − c)) = k·ΣB + k·exp(c)·Σ relu(x − c) (B = exp(c) wherever x > c) and
        # Σ −B: B is reduced once, the continuation from x alone
        x = logp * (-1.0 / k)
        b_sum = reduce(torch.exp(torch.clamp_max(x, cap)))
        excess = reduce(torch.relu(x - cap))
        return k * b_sum + (k * math.exp(cap)) * excess, b_sum.neg()

    # only where exp(cap) is finite in float32 (else the capped exponential itself overflows and
    # the plain expression's inf is kept)
    finite_cap = cap <= _FLOAT32_EXP_MAX
    integer = _root_power(k) if finite_cap else None
    return Term(
        value,
        value_and_slope,
        fused=fused,
        traced_root=traced_root if integer else None,
        root_power=integer or 1,
        traced_sums=traced_sums if finite_cap else None,
    )


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without ``F.softplus``'s linear cut-off above 20 (keeps curvature)."""
    return -nn.functional.logsigmoid(-x)


def rooted_logistic_loss(
    input: Tensor,
    target: Tensor,
    *,
    k: float = 3.0,
    m: float | None = None,
    form: str = "paper",
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    max_exponent: float = 30.0,
) -> Tensor:
    """Multi-class rooted logistic objective (Wang et al. 2023).

    ``form="paper"``: per position ``m·(1 − p_y^(1/k))`` (``m`` defaults to ``k``), gradient
    ``(m/k)·p_y^(1/k)·(p − onehot(y))``. ``form="natural"``: ``k·p_y^(−1/k)`` with the exponent
    ``−log p_y / k`` continued linearly beyond ``max_exponent`` (``m`` is not used). Same conventions
    as ``F.cross_entropy``; with probability targets the loss is ``Σ_j weight_j t_j · ℓ(p_j)``.

    Example:
        >>> z = torch.tensor([[2.0, 0.0, -1.0]])
        >>> rooted_logistic_loss(z, torch.tensor([0]), k=3.0, form="paper")  # 3·(1 − p_0^(1/3))
        tensor(0.1651)
    """
    k = check_positive("k", k)
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    m_val = k if m is None else check_positive("m", m)
    cap = check_finite("max_exponent", max_exponent)
    term = _paper_term(k, m_val) if form == "paper" else _natural_term(k, cap)
    return softmax_family_loss(
        input,
        target,
        term=term,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def _broadcast_tensor(name: str, value: Tensor | float | None, z: Tensor) -> Tensor | float | None:
    """Validate ``weight``/``pos_weight`` of the binary loss: broadcastable, finite and ≥ 0."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        v = check_finite(name, value)
        if v < 0:
            raise ValueError(f"{name}: expected finite, non-negative values, got {value!r}")
        return v
    try:
        torch.broadcast_shapes(value.shape, z.shape)
    except RuntimeError:
        raise ValueError(
            f"{name}: shape {tuple(value.shape)} does not broadcast to the input's shape "
            f"{tuple(z.shape)}"
        ) from None
    if not value.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {value.dtype}")
    if values_readable(value) and (
        not bool(torch.isfinite(value).all()) or bool((value < 0).any())
    ):
        raise ValueError(f"{name}: expected finite, non-negative values")
    return value.to(device=z.device, dtype=z.dtype)


def binary_rooted_logistic_loss(
    input: Tensor,
    target: Tensor,
    *,
    k: float = 3.0,
    weight: Tensor | None = None,
    pos_weight: Tensor | float | None = None,
    reduction: str = "mean",
    max_exponent: float = 30.0,
) -> Tensor:
    """Binary rooted logistic loss ``k·exp(softplus(−y·z)/k)`` with ``y = 2·target − 1``.

    Conventions of ``F.binary_cross_entropy_with_logits``: targets of the input's shape in {0, 1}
    (soft targets in [0, 1] mix the two terms linearly); ``pos_weight`` (a number or a tensor
    broadcast against the input, e.g. one entry per class along the last dimension) multiplies the
    positive term; ``weight`` (broadcast against the input) rescales each element's loss;
    ``reduction="mean"`` is the plain mean over elements. Per element
    ``weight·[pos_weight·t·ℓ_k(z, +1) + (1 − t)·ℓ_k(z, −1)]``. The exponent ``softplus(−y·z)/k``
    continues linearly beyond ``max_exponent``. Strictly convex in z.

    Example:
        >>> binary_rooted_logistic_loss(torch.tensor([0.0]), torch.tensor([1.0]), k=1.0)
        tensor(2.)
    """
    check_reduction(reduction)
    k = check_positive("k", k)
    cap = check_finite("max_exponent", max_exponent)
    z = as_compute_dtype(input)
    if not isinstance(target, Tensor):
        raise TypeError(f"target: expected a torch.Tensor, got {type(target).__name__}")
    if target.shape != z.shape:
        raise ValueError(
            f"target: expected the input's shape {tuple(z.shape)}, got {tuple(target.shape)}"
        )
    if target.is_complex():
        raise ValueError(f"target: expected real values in [0, 1], got {target.dtype}")
    if values_readable(target) and target.numel() and bool(((target < 0) | (target > 1)).any()):
        raise ValueError("target: expected values in [0, 1] (0 = negative, 1 = positive)")
    w = _broadcast_tensor("weight", weight, z)
    pw = _broadcast_tensor("pos_weight", pos_weight, z)
    t = target.to(device=z.device, dtype=z.dtype)
    with autocast_off(z.device.type):
        pos = k * capped_exp(_softplus(-z) / k, cap)
        neg = k * capped_exp(_softplus(z) / k, cap)
        if pw is not None:
            pos = pos * pw
        loss = t * pos + (1.0 - t) * neg
        if w is not None:
            loss = loss * w
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        return loss


class RootedLogisticLoss(CrossEntropyConventions):
    """Module form of :func:`rooted_logistic_loss`.

    Positional arguments are those of ``torch.nn.CrossEntropyLoss``, in its order
    (``weight, size_average, ignore_index, reduce, reduction, label_smoothing``); the loss's own
    parameters are keyword-only.

    Example:
        >>> crit = RootedLogisticLoss(k=3.0, form="natural")
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
        k: float = 3.0,
        m: float | None = None,
        form: str = "paper",
        max_exponent: float = 30.0,
    ) -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction, label_smoothing)
        self.k = check_positive("k", k)
        self.m = None if m is None else check_positive("m", m)
        if form not in FORMS:
            raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
        self.form = form
        self.max_exponent = check_finite("max_exponent", max_exponent)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of logits ``input`` for ``target`` (see :func:`rooted_logistic_loss`)."""
        return rooted_logistic_loss(
            input,
            target,
            k=self.k,
            m=self.m,
            form=self.form,
            **self.conventions(),
            max_exponent=self.max_exponent,
        )

    def extra_repr(self) -> str:
        return f"k={self.k}, m={self.m}, form={self.form!r}, reduction={self.reduction!r}"


class BinaryRootedLogisticLoss(nn.Module):
    """Module form of :func:`binary_rooted_logistic_loss`.

    Positional arguments are those of ``torch.nn.BCEWithLogitsLoss``, in its order
    (``weight, size_average, reduce, reduction, pos_weight``); tensors ``weight`` and
    ``pos_weight`` are buffers, as there. The loss's own parameters are keyword-only.

    Example:
        >>> crit = BinaryRootedLogisticLoss(pos_weight=torch.tensor(2.0), k=3.0)
        >>> loss = crit(torch.randn(8), torch.randint(0, 2, (8,)).float())
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | float | None = None,
        *,
        k: float = 3.0,
        max_exponent: float = 30.0,
    ) -> None:
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction)
        check_reduction(reduction)
        self.k = check_positive("k", k)
        self.weight: Tensor | None
        self.register_buffer("weight", weight)
        self.pos_weight: Tensor | float | None
        if isinstance(pos_weight, Tensor):
            self.register_buffer("pos_weight", pos_weight)
        else:
            self.pos_weight = None if pos_weight is None else check_finite("pos_weight", pos_weight)
        self.reduction = reduction
        self.max_exponent = check_finite("max_exponent", max_exponent)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of logits ``input`` for ``target`` (see :func:`binary_rooted_logistic_loss`)."""
        return binary_rooted_logistic_loss(
            input,
            target,
            k=self.k,
            weight=self.weight,
            pos_weight=self.pos_weight,
            reduction=self.reduction,
            max_exponent=self.max_exponent,
        )

    def extra_repr(self) -> str:
        return f"k={self.k}, reduction={self.reduction!r}"
