"""Independent float64 references: plain Python loops over positions and classes (no torch ops).

Each multi-class loss is evaluated position by position from its definition,
``Σ_j weight_j · t̃_j · ℓ(z, j)`` with ``t̃`` the label-smoothed target, and reduced with
``cross_entropy``'s divisor (Σ weight[y] over counted positions for class indices, the number of
positions for probability targets).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch


def _log_probs(z: Sequence[float]) -> list[float]:
    mx = max(z)
    lse = mx + math.log(sum(math.exp(v - mx) for v in z))
    return [v - lse for v in z]


def _capped_exp(x: float, cap: float) -> float:
    return math.exp(x) if x <= cap else math.exp(cap) * (1.0 + x - cap)


def term_expboost(alpha: float, beta: float, cap: float = 30.0) -> Callable:
    def ell(z: Sequence[float], j: int) -> float:
        return sum(alpha * _capped_exp(v, cap) + beta * v for v in z) - z[j]

    return ell


def term_cubic(alpha: float, beta: float) -> Callable:
    def ell(z: Sequence[float], j: int) -> float:
        return sum(alpha * v**4 / 4.0 + beta * v for v in z) - z[j]

    return ell


def term_paper(k: float, m: float) -> Callable:
    def ell(z: Sequence[float], j: int) -> float:
        return m * (1.0 - math.exp(_log_probs(z)[j] / k))

    return ell


def term_natural(k: float, cap: float = 30.0) -> Callable:
    def ell(z: Sequence[float], j: int) -> float:
        return k * _capped_exp(-_log_probs(z)[j] / k, cap)

    return ell


def term_focal(gamma: float, alpha: Sequence[float] | float | None) -> Callable:
    def ell(z: Sequence[float], j: int) -> float:
        lp = _log_probs(z)[j]
        p = math.exp(lp)
        if alpha is None:
            a = 1.0
        elif isinstance(alpha, float):
            a = alpha
        else:
            a = alpha[j]
        return -a * (1.0 - p) ** gamma * lp

    return ell


def reference_loss(
    ell: Callable,
    z: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Loop reference for inputs (N, C) or (N, C, d1, ...)."""
    zz = z.detach().double()
    N, C = zz.shape[0], zz.shape[1]
    spatial = list(zz.shape[2:])
    prob = target.is_floating_point()
    w = [1.0] * C if weight is None else [float(v) for v in weight]
    eps = label_smoothing
    out = torch.zeros([N, *spatial], dtype=torch.float64)
    divisor = 0.0
    for n in range(N):
        for pos in itertools.product(*[range(s) for s in spatial]):
            zv = [float(zz[(n, c, *pos)]) for c in range(C)]
            if prob:
                tv = [float(target[(n, c, *pos)]) for c in range(C)]
                tv = [(1 - eps) * v + eps / C for v in tv]
                divisor += 1.0
            else:
                y = int(target[(n, *pos)])
                if y == ignore_index:
                    continue
                tv = [(1 - eps) * (1.0 if c == y else 0.0) + eps / C for c in range(C)]
                divisor += w[y]
            out[(n, *pos)] = sum(w[j] * tv[j] * ell(zv, j) for j in range(C) if tv[j] != 0.0)
    if reduction == "none":
        return out
    if reduction == "sum":
        return out.sum()
    return out.sum() / divisor


# ------------------------------------------------------------------ closed forms in torch operations
# Differentiable float64 references for derivatives of every order (torch.func.hessian, jvp, ...):
# the textbook formula of each loss on a dense coefficient matrix c_ij = weight_j·t̃_ij, written
# without any code of the package (softmax powers via pow, one-hot via F.one_hot, no capping: the
# tests keep logits moderate).


def closed_form_per_class(name: str, z: torch.Tensor, params: dict[str, float]) -> torch.Tensor:
    """``ℓ_j(z_i)`` for every class j, shape of ``z`` ``(N, C, ...)``: the loss for one-hot target j."""
    if name == "expboost":
        a, b = params["alpha"], params["beta"]
        return (a * torch.exp(z) + b * z).sum(1, keepdim=True) - z
    if name == "cubic":
        a, b = params["alpha"], params["beta"]
        return (a * z**4 / 4 + b * z).sum(1, keepdim=True) - z
    p = torch.softmax(z, dim=1)
    if name == "paper":
        return params["m"] * (1 - p ** (1 / params["k"]))
    if name == "natural":
        return params["k"] * p ** (-1 / params["k"])
    if name == "focal":
        return -((1 - p) ** params["gamma"]) * torch.log(p)
    raise KeyError(name)


def closed_form_loss(
    name: str,
    params: dict[str, float],
    z: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_factor: torch.Tensor | None = None,
) -> torch.Tensor:
    """Σ_j weight_j·factor_j·t̃_ij·ℓ_j(z_i) with cross_entropy's divisor, in torch operations."""
    C = z.shape[1]
    view = (1, C, *([1] * (z.dim() - 2)))
    w = torch.ones(C, dtype=z.dtype) if weight is None else weight.to(z.dtype)
    eps = label_smoothing
    if target.is_floating_point():
        t = (1 - eps) * target + eps / C
        c = t * w.view(view)
        divisor = torch.tensor(float(target[:, 0].numel()), dtype=z.dtype)
    else:
        valid = target != ignore_index
        y = torch.where(valid, target, torch.zeros_like(target))
        onehot = torch.nn.functional.one_hot(y, C).movedim(-1, 1).to(z.dtype)
        t = (1 - eps) * onehot + eps / C
        c = t * w.view(view) * valid.unsqueeze(1)
        divisor = (w[y] * valid).sum()
    if class_factor is not None:
        c = c * class_factor.view(view)
    per = (c * closed_form_per_class(name, z, params)).sum(1)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / divisor


def closed_form_binary(
    z: torch.Tensor,
    target: torch.Tensor,
    *,
    k: float,
    weight: torch.Tensor | None = None,
    pos_weight: torch.Tensor | float | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """weight·[pos_weight·t·k(1 + e^(−z))^(1/k) + (1 − t)·k(1 + e^z)^(1/k)] (BCEWithLogits layout)."""
    pos = k * (1 + torch.exp(-z)) ** (1 / k)
    neg = k * (1 + torch.exp(z)) ** (1 / k)
    if pos_weight is not None:
        pos = pos * pos_weight
    loss = target * pos + (1 - target) * neg
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
