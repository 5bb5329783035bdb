"""Objective and certified duality gap of the (group) Lasso (private).

For the convex threshold-network Lasso of Ergen et al., ICLR 2023 (arXiv:2303.03382):
primal P(C) = 1/2 ||H C - Y||_F^2 + beta * sum_i ||C_i,:||_2, dual D(nu) = 1/2 ||Y||^2 - 1/2 ||Y - nu||^2
over nu with max_i ||(H^T nu)_i,:||_2 <= beta. Any nu rescaled into that set certifies P - D >= P - P*.
"""

from __future__ import annotations

import torch

__all__ = ["dual_value", "gap_certificate", "primal_value", "row_norms"]


def row_norms(M: torch.Tensor) -> torch.Tensor:
    """Euclidean norms of the rows of a (k, C) matrix (absolute values when C == 1)."""
    if M.shape[1] == 1:
        return M[:, 0].abs()
    return torch.linalg.vector_norm(M, dim=1)


def primal_value(R: torch.Tensor, C: torch.Tensor, beta: float) -> float:
    """1/2 ||R||^2 + beta * sum of row norms of C, for the residual R = Y - H C."""
    return float(0.5 * (R * R).sum() + beta * row_norms(C).sum())


def dual_value(Y: torch.Tensor, nu: torch.Tensor) -> float:
    """D(nu) = 1/2 ||Y||^2 - 1/2 ||Y - nu||^2 = <Y, nu> - 1/2 ||nu||^2."""
    return float((Y * nu).sum() - 0.5 * (nu * nu).sum())


def _scaled_dual(Y: torch.Tensor, nu: torch.Tensor, Htnu: torch.Tensor, beta: float) -> float:
    m = float(row_norms(Htnu).max()) if Htnu.numel() else 0.0
    s = max(1.0, m / beta)
    return dual_value(Y, nu / s)


def gap_certificate(
    Y: torch.Tensor,
    C: torch.Tensor,
    R: torch.Tensor,
    HtR: torch.Tensor,
    beta: float,
    extra: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[float, float, float]:
    """Primal value, best certified dual value and relative gap (P - D) / max(P, tiny).

    The dual point is ``nu = R / max(1, max_i ||(H^T R)_i||/beta)``; ``extra = (nu2, H^T nu2)``
    offers a second candidate (e.g. the solver's own dual iterate), the better bound is kept.
    """
    p = primal_value(R, C, beta)
    d = _scaled_dual(Y, R, HtR, beta)
    if extra is not None:
        d = max(d, _scaled_dual(Y, extra[0], extra[1], beta))
    gap = max(p - d, 0.0) / max(abs(p), 1e-300)
    return p, d, gap
