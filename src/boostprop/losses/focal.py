"""Multi-class focal loss on softmax, the baseline of the rooted-logistic-objective paper.

Sources: T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object
Detection", arXiv:1708.02002 (2017); used as a baseline by Z. Wang et al., "Accelerated Neural
Network Training with Rooted Logistic Objectives", arXiv:2310.03890 (2023) with alpha=0.25, gamma=3.

Per position ``−alpha_y·(1 − p_y)^gamma·log p_y`` with ``p = softmax(z)``. ``1 − p_y`` is computed as
``−expm1(log p_y)`` so that confident samples keep their (tiny) loss instead of rounding to 0 early.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ._common import CrossEntropyConventions, check_class_vector
from ._softmax import Softmax, Term, softmax_family_loss

__all__ = ["FocalLoss", "focal_loss"]


def _focal_term(gamma: float) -> Term:
    def value(logp: Tensor) -> Tensor:
        if gamma == 0.0:
            return -logp
        d = -torch.expm1(logp)  # 1 − p
        # d^gamma with a zero (not inf·0) derivative where d = 0: the exact limit for gamma > 0
        positive = d > 0
        safe = torch.where(positive, d, torch.ones_like(d))
        dg = torch.where(positive, safe.pow(gamma), torch.zeros_like(d))
        return -dg * logp

    def value_and_slope(logp: Tensor) -> tuple[Tensor, Tensor]:
        q = torch.exp(logp)
        d = -torch.expm1(logp)  # 1 − p_y
        dg = d.pow(gamma)
        # −log q / (1 − q) → 1 as q → 1
        r = torch.where(d > 0, -logp / d.clamp_min(torch.finfo(d.dtype).tiny), 1.0)
        return dg * (-logp), -dg * (1.0 + gamma * q * r)

    def fused(
        parts: Softmax, combine: Callable[[Tensor], Tensor]
    ) -> tuple[Tensor, Tensor, float, None]:
        # integer gamma ≥ 1, d = 1 − p from the softmax parts (no expm1 pass), u = d^(γ−1)·log p
        # (in log p's buffer): ℓ = −d·u, ℓ' = −d^(γ−1)·(d − γ·p·log p) = −(d^γ − γ·p·u)
        u, p, d = parts
        assert d is not None
        for _ in range(int(gamma) - 1):
            u.mul_(d)
        value = combine(d * u).neg_()
        x = d.square_() if gamma == 2.0 else d.pow_(gamma)
        return value, x.addcmul_(p, u, value=-gamma), -1.0, None

    def traced(parts: Softmax) -> tuple[Tensor, Tensor]:
        # integer gamma ≥ 1, out of place (torch.compile): ℓ = −d^γ·log p,
        # ℓ' = −d^(γ−1)·(d − γ·p·log p), d = 1 − p from the softmax parts: one exp, no division
        logp, p, d = parts
        assert d is not None
        dg1 = d
        for _ in range(int(gamma) - 2):
            dg1 = dg1 * d
        value = -(dg1 * d if gamma > 1 else d) * logp
        inner = d - gamma * p * logp
        return value, -(dg1 * inner) if gamma > 1 else -inner

    def traced_stats_sums(
        shifted: Tensor, reduce: Callable[[Tensor], Tensor], mass: Tensor | float
    ) -> tuple[Tensor, Tensor, Tensor]:
        # integer gamma: (1 − p)^γ = Σ_j C(γ, j)(−p)^j with p = e/S, e = exp(z − max), so the class
        # sums of ℓ = −d^γ·log p and ℓ' = −d^γ + γ·d^(γ−1)·p·log p are combinations of the moments
        # M_j = Σ e^j and A_j = Σ e^j·(z − max) (log p = (z − max) − log S): S and all moments from
        # one traversal, one exponential per element (e^j by products)
        g = int(gamma)
        e = torch.exp(shifted)
        total = e.sum(1, keepdim=True)
        inv = total.squeeze(1).reciprocal()
        log_s = total.squeeze(1).log()
        moments: list[Tensor | float] = [mass]
        logp_moments = [reduce(shifted) - log_s * mass]  # B_j = Σ e^j·log p = A_j − log S·M_j
        power = e
        for j in range(1, g + 1):
            m_j = reduce(power)
            moments.append(m_j)
            logp_moments.append(reduce(power * shifted) - log_s * m_j)
            if j < g:
                power = power * e
        value = torch.zeros_like(inv)
        slope = torch.zeros_like(inv)
        scale: Tensor | float = 1.0  # (−1/S)^j
        for j in range(g + 1):
            c = float(math.comb(g, j))
            value = value - c * scale * logp_moments[j]
            slope = slope - c * scale * moments[j]
            if j < g:
                # γ·Σ_j C(γ−1, j)(−1)^j S^(−j−1)·B_(j+1)
                slope = slope - (gamma * math.comb(g - 1, j)) * (scale * -inv) * logp_moments[j + 1]
            scale = scale * -inv
        return total, value, slope

    integer = gamma >= 1 and float(gamma).is_integer()
    # the moment form loses accuracy like 2^γ where the classes share the mass: up to γ = 3
    moment_form = integer and gamma <= _MAX_MOMENT_GAMMA
    return Term(
        value,
        value_and_slope,
        fused=fused if integer else None,
        fused_one_minus_p=True,
        traced=traced if integer else None,
        traced_stats_sums=traced_stats_sums if moment_form else None,
    )


#: Largest integer gamma whose traced smoothed sums use the moment form (see ``_focal_term``).
_MAX_MOMENT_GAMMA = 3


def focal_loss(
    input: Tensor,
    target: Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Tensor | None = None,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax focal loss ``−alpha_y·(1 − p_y)^gamma·log p_y`` (Lin et al. 2017).

    ``alpha``: ``None`` (no factor), a float — applied as a constant factor on every class, which
    is how multi-class softmax implementations (and the RLO paper's baseline, alpha=0.25) use the
    binary paper's alpha; it rescales the loss and the gradient but does not change the direction —
    or a per-class tensor (``alpha_y`` multiplies the term of class ``y``; unlike ``weight`` it does
    not enter the ``mean`` divisor). ``gamma = 0`` with ``alpha=None`` is ``F.cross_entropy``.

    Example:
        >>> z = torch.tensor([[2.0, 0.0, -1.0]])
        >>> focal_loss(z, torch.tensor([0]), gamma=0.0)  # = cross-entropy
        tensor(0.1698)
    """
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma: expected a number ≥ 0, got {gamma!r}") from None
    if not (math.isfinite(g) and g >= 0):
        raise ValueError(f"gamma: expected a finite number ≥ 0, got {gamma!r}")
    factor: Tensor | float | None
    if alpha is None:
        factor = None
    elif isinstance(alpha, Tensor):
        num_classes = input.shape[1] if input.dim() > 1 else input.shape[0]
        factor = check_class_vector("alpha", alpha, num_classes, input)
    else:
        try:
            factor = float(alpha)
        except (TypeError, ValueError):
            raise ValueError(
                f"alpha: expected None, a number > 0 or a tensor, got {alpha!r}"
            ) from None
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"alpha: expected a finite number > 0, got {alpha!r}")
    return softmax_family_loss(
        input,
        target,
        term=_focal_term(g),
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        class_factor=factor,
    )


class FocalLoss(CrossEntropyConventions):
    """Module form of :func:`focal_loss`.

    Positional arguments are those of ``torch.nn.CrossEntropyLoss``, in its order; ``gamma`` and
    ``alpha`` are keyword-only.

    Example:
        >>> loss = FocalLoss(gamma=3.0, alpha=0.25)(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))
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
        gamma: float = 2.0,
        alpha: float | Tensor | None = None,
    ) -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction, label_smoothing)
        self.gamma = gamma
        self.alpha = alpha

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of logits ``input`` for ``target`` (see :func:`focal_loss`)."""
        return focal_loss(
            input,
            target,
            gamma=self.gamma,
            alpha=self.alpha,
            **self.conventions(),
        )

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, alpha={self.alpha}, reduction={self.reduction!r}"
