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

import torch
from torch import Tensor, nn

from ._common import (
    CrossEntropyConventions,
    as_compute_dtype,
    check_finite,
    check_positive,
    check_reduction,
    no_autocast,
)
from ._softmax import TermWithSlope, capped_exp, softmax_family_loss

__all__ = [
    "BinaryRootedLogisticLoss",
    "RootedLogisticLoss",
    "binary_rooted_logistic_loss",
    "rooted_logistic_loss",
]

FORMS = ("paper", "natural")


def _paper_term(k: float, m: float) -> TermWithSlope:
    def term(logp_y: Tensor) -> tuple[Tensor, Tensor]:
        root = torch.exp(logp_y / k)  # p_y^(1/k)
        return m * (1.0 - root), root * (-m / k)

    return term


def _natural_term(k: float, cap: float) -> TermWithSlope:
    def term(logp_y: Tensor) -> tuple[Tensor, Tensor]:
        x = logp_y / (-k)  # −log p_y / k ≥ 0
        slope = torch.exp(torch.clamp_max(x, cap))  # capped_exp'(x)
        value = slope * (1.0 + torch.clamp_min(x - cap, 0.0)) * k
        return value, slope.neg()

    return term


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


def binary_rooted_logistic_loss(
    input: Tensor,
    target: Tensor,
    *,
    k: float = 3.0,
    pos_weight: Tensor | float | None = None,
    reduction: str = "mean",
    max_exponent: float = 30.0,
) -> Tensor:
    """Binary rooted logistic loss ``k·exp(softplus(−y·z)/k)`` with ``y = 2·target − 1``.

    Targets in {0, 1} (soft targets in [0, 1] mix the two terms linearly, as in
    ``F.binary_cross_entropy_with_logits``); ``pos_weight`` multiplies the positive term. The
    exponent ``softplus(−y·z)/k`` continues linearly beyond ``max_exponent``. Strictly convex in z.

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
    t = target.to(device=z.device, dtype=z.dtype)
    if t.numel() and bool(((t < 0) | (t > 1)).any()):
        raise ValueError("target: expected values in [0, 1] (0 = negative, 1 = positive)")
    with no_autocast(z.device.type):
        pos = k * capped_exp(_softplus(-z) / k, cap)
        neg = k * capped_exp(_softplus(z) / k, cap)
        if pos_weight is not None:
            pw = pos_weight if isinstance(pos_weight, Tensor) else torch.tensor(float(pos_weight))
            pw = pw.to(z)
            if not bool(torch.isfinite(pw).all()) or bool((pw < 0).any()):
                raise ValueError("pos_weight: expected finite, non-negative values")
            pos = pos * pw
        loss = t * pos + (1.0 - t) * neg
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        return loss


class RootedLogisticLoss(CrossEntropyConventions):
    """Module form of :func:`rooted_logistic_loss`.

    Example:
        >>> crit = RootedLogisticLoss(k=3.0, form="natural")
        >>> loss = crit(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
    """

    def __init__(
        self,
        *,
        k: float = 3.0,
        m: float | None = None,
        form: str = "paper",
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        max_exponent: float = 30.0,
    ) -> None:
        super().__init__(
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
        self.k = check_positive("k", k)
        self.m = None if m is None else check_positive("m", m)
        if form not in FORMS:
            raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
        self.form = form
        self.max_exponent = check_finite("max_exponent", max_exponent)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
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

    Example:
        >>> loss = BinaryRootedLogisticLoss(k=3.0)(torch.randn(8), torch.randint(0, 2, (8,)).float())
    """

    def __init__(
        self,
        *,
        k: float = 3.0,
        pos_weight: Tensor | float | None = None,
        reduction: str = "mean",
        max_exponent: float = 30.0,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        self.k = check_positive("k", k)
        self.pos_weight = pos_weight
        self.reduction = reduction
        self.max_exponent = check_finite("max_exponent", max_exponent)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_rooted_logistic_loss(
            input,
            target,
            k=self.k,
            pos_weight=self.pos_weight,
            reduction=self.reduction,
            max_exponent=self.max_exponent,
        )

    def extra_repr(self) -> str:
        return f"k={self.k}, reduction={self.reduction!r}"
