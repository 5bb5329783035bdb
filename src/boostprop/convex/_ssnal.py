"""Semismooth Newton augmented Lagrangian (SSNAL) for the Lasso and row-group Lasso (private).

Li, Sun, Toh, "A highly efficient semismooth Newton augmented Lagrangian method for solving Lasso
problems", SIAM J. Optim. 28(1), 2018, applied to the convex threshold-network Lasso of Ergen et al.,
ICLR 2023 (arXiv:2303.03382).

The augmented Lagrangian of the dual  min_{y,z} 1/2||y||^2 + <b,y> + delta(z) s.t. A^T y + z = 0
(multiplier x = the primal coefficients) is minimised over z in closed form, leaving the smooth,
strongly convex
    psi(y) = 1/2||y||^2 + <b, y> + 1/(2 sigma) ||prox_{sigma p}(x - sigma A^T y)||^2,
    grad psi(y) = y + b - A prox(.),   generalized Hessian  I + sigma A_J M A_J^T,
with J the rows kept by the (group) soft-threshold. The Newton system is solved through the
Woodbury identity on |J| x |J| when |J| <= n (the solution is sparse), else on n x n; for matrix
targets the Kronecker coupling M is handled by preconditioned CG with the block-diagonal Woodbury
factor as preconditioner. The iteration stops on the certified relative duality gap.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import torch

from ._gap import gap_certificate, row_norms

__all__ = ["SolverTrace", "ssnal"]

_DEBUG = bool(os.environ.get("BOOSTPROP_SSNAL_DEBUG"))


@dataclass
class SolverTrace:
    """What a private solver returns to the facade."""

    coef: torch.Tensor
    primal: float
    dual: float
    gap: float
    n_iter: int
    converged: bool
    history: list[tuple[float, float]] = field(default_factory=list)  # (seconds, gap)


def _prox(w: torch.Tensor, thr: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row-group soft threshold: returns (prox, active mask, row norms)."""
    rho = row_norms(w)
    active = rho > thr
    scale = torch.where(active, 1.0 - thr / torch.clamp(rho, min=1e-300), torch.zeros_like(rho))
    return w * scale[:, None], active, rho


class _Newton:
    """Solves (I + sigma A_J M A_J^T) d = g for the current active set."""

    def __init__(
        self,
        A: torch.Tensor,
        gram: torch.Tensor | None,
        J: torch.Tensor,
        sigma: float,
        w: torch.Tensor,
        rho: torch.Tensor,
        thr: float,
    ) -> None:
        n = A.shape[0]
        C = w.shape[1]
        self.A_J = A[:, J]
        self.sigma = sigma
        self.k = int(J.numel())
        self.C = C
        if C > 1:
            t = thr / rho[J]
            self.t = t
            self.what = w[J] / rho[J][:, None]
            dscale = (1.0 - t) + t / C  # trace average of M_i (exact when C == 1)
        else:
            dscale = torch.ones(self.k, dtype=A.dtype, device=A.device)
        sq = torch.sqrt(dscale)
        self.sq = sq
        # cost of each factorisation (flops, up to constants): Woodbury k x k vs full n x n
        cost_wood = self.k**3 / 3 + (0 if gram is not None else self.k * self.k * n)
        cost_full = n**3 / 3 + n * n * self.k
        if cost_wood <= cost_full:
            self.mode = "woodbury"
            K = gram[J[:, None], J].to(A.dtype) if gram is not None else self.A_J.T @ self.A_J
            if C > 1:
                K = K * (sq[:, None] * sq[None, :])
            K.diagonal().add_(1.0 / sigma)
            self.L = _chol(K)
        else:
            self.mode = "full"
            As = self.A_J * sq[None, :] if C > 1 else self.A_J
            K = sigma * (As @ As.T)
            K.diagonal().add_(1.0)
            self.L = _chol(K)

    def precond(self, g: torch.Tensor) -> torch.Tensor:
        if self.k == 0:
            return g.clone()
        if self.mode == "woodbury":
            As = self.A_J * self.sq[None, :] if self.C > 1 else self.A_J
            v = torch.cholesky_solve(As.T @ g, self.L)
            return g - As @ v
        return torch.cholesky_solve(g, self.L)

    def apply(self, d: torch.Tensor) -> torch.Tensor:
        """The exact generalized Hessian times d."""
        if self.k == 0:
            return d.clone()
        q = self.A_J.T @ d  # (k, C)
        if self.C > 1:
            proj = (q * self.what).sum(1, keepdim=True)
            q = (1.0 - self.t)[:, None] * q + (self.t[:, None] * proj) * self.what
        return d + self.sigma * (self.A_J @ q)

    def solve(self, g: torch.Tensor, rtol: float, max_cg: int = 50) -> torch.Tensor:
        d = self.precond(g)
        if self.C == 1 or self.k == 0:
            return d
        # preconditioned CG on the exact operator, warm-started at the preconditioned point
        r = g - self.apply(d)
        gn = float(torch.linalg.vector_norm(g))
        z = self.precond(r)
        p = z.clone()
        rz = float((r * z).sum())
        for _ in range(max_cg):
            if float(torch.linalg.vector_norm(r)) <= rtol * gn:
                break
            Ap = self.apply(p)
            pAp = float((p * Ap).sum())
            if pAp <= 0:
                break
            alpha = rz / pAp
            d = d + alpha * p
            r = r - alpha * Ap
            z = self.precond(r)
            rz_new = float((r * z).sum())
            p = z + (rz_new / rz) * p
            rz = rz_new
        return d


def _gram(A: torch.Tensor) -> torch.Tensor:
    """A^T A; for a 0/1 matrix with n < 2^24 rows it is computed and stored in float32, which is
    exact (every product is 0 or 1 and every partial sum an integer below 2^24) and twice as fast."""
    if A.shape[0] < 2**24 and bool(((A == 0) | (A == 1)).all()):
        A32 = A.to(torch.float32)
        G = A32.T @ A32
        return G.to(A.dtype) if A.shape[1] <= 5000 else G
    return A.T @ A


def _chol(K: torch.Tensor) -> torch.Tensor:
    L, info = torch.linalg.cholesky_ex(K)
    if int(info) != 0:
        jitter = 1e-12 * float(K.diagonal().abs().max())
        K = K + jitter * torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
        L = torch.linalg.cholesky(K)
    return L


def ssnal(
    A: torch.Tensor,
    B: torch.Tensor,
    beta: float,
    *,
    tol: float,
    max_iter: int,
    sigma0: float | None = None,
    sigma_scale: float = 30.0,
    sigma_growth: float = 3.0,
    use_gram: bool | None = None,
    x0: torch.Tensor | None = None,
    time_limit: float | None = None,
) -> SolverTrace:
    """Minimise 1/2||A x - B||_F^2 + beta sum_i ||x_i,:|| by SSNAL; stop when the gap <= tol.

    ``max_iter`` bounds the total number of Newton steps (the reported ``n_iter``).
    """
    t0 = time.perf_counter()
    n_rows, P = A.shape
    C = B.shape[1]
    if use_gram is None:
        # H^T H costs n P^2 once; a Newton step without it costs n |J|^2 with |J| <~ min(n, P):
        # worth it unless P >> n (and while it fits in memory)
        use_gram = min(10_000, 4 * n_rows) >= P
    gram = _gram(A) if use_gram else None
    x = torch.zeros(P, C, dtype=A.dtype, device=A.device) if x0 is None else x0.clone()
    y = A @ x - B
    Aty = A.T @ y
    bnorm = float(torch.linalg.vector_norm(B))
    if sigma0 is None:
        # balances the identity against sigma * (typical squared column norm)
        colsq = float((A * A).sum()) / max(P, 1)
        sigma0 = sigma_scale / max(colsq, 1e-12)
    sigma = sigma0
    mu = 1e-4
    n_newton = 0
    history: list[tuple[float, float]] = []
    best: tuple[float, float, float, torch.Tensor] | None = None
    converged = False
    inner_tol = 0.1 * max(bnorm, 1e-12)
    outer = 0
    while n_newton < max_iter and not converged and outer < 200:
        outer += 1
        thr = sigma * beta
        # ---- inner semismooth Newton on psi(y) ----
        inner_steps = 0
        while True:
            w = x - sigma * Aty
            u, active, rho = _prox(w, thr)
            J = torch.nonzero(active).flatten()
            Au = A[:, J] @ u[J]
            grad = y + B - Au
            psi = (
                0.5 * float((y * y).sum())
                + float((B * y).sum())
                + float((u * u).sum()) / (2 * sigma)
            )
            # certified gap of the candidate primal point u (residual R = B - A u = grad - y)
            R = B - Au
            HtR = A.T @ R
            p_val, d_val, gap = gap_certificate(B, u, R, HtR, beta, extra=(-y, -Aty))
            history.append((time.perf_counter() - t0, gap))
            if best is None or gap < best[2]:
                best = (p_val, d_val, gap, u)
            if gap <= tol:
                converged = True
                break
            gnorm = float(torch.linalg.vector_norm(grad))
            if gnorm <= inner_tol or n_newton >= max_iter or inner_steps >= 60:
                break
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                break
            newton = _Newton(A, gram, J, sigma, w, rho, thr)
            d = -newton.solve(grad, rtol=min(0.1, gnorm / max(bnorm, 1e-300)))
            n_newton += 1
            inner_steps += 1
            Atd = A.T @ d
            slope = float((grad * d).sum())
            if slope >= 0:  # not a descent direction (numerical trouble): fall back to -grad
                d = -grad
                Atd = A.T @ d
                slope = -gnorm * gnorm
            alpha = 1.0
            for _ in range(40):
                y_new = y + alpha * d
                Aty_new = Aty + alpha * Atd
                u_new, _, _ = _prox(x - sigma * Aty_new, thr)
                psi_new = (
                    0.5 * float((y_new * y_new).sum())
                    + float((B * y_new).sum())
                    + float((u_new * u_new).sum()) / (2 * sigma)
                )
                if psi_new <= psi + mu * alpha * slope + 1e-14 * abs(psi):
                    break
                alpha *= 0.5
            y, Aty = y_new, Aty_new
            if _DEBUG:
                print(
                    f"  outer {outer} sigma {sigma:.2e} |J|={J.numel()} alpha={alpha:.3g}"
                    f" gnorm={gnorm:.2e} gap={gap:.2e} t={time.perf_counter() - t0:.3f}"
                )
        if converged:
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        # ---- multiplier update ----
        x = u
        inner_tol = max(0.2 * inner_tol, 1e-14 * max(bnorm, 1.0))
        sigma = min(sigma * sigma_growth, 1e12 * sigma0)
        if not math.isfinite(sigma):
            break
    assert best is not None
    p_val, d_val, gap, coef = best
    return SolverTrace(
        coef=coef,
        primal=p_val,
        dual=d_val,
        gap=gap,
        n_iter=n_newton,
        converged=converged,
        history=history,
    )
