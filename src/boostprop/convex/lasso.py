"""Lasso / row-group Lasso solver with a certified duality gap (public facade).

The convex training problem of two-layer threshold networks (Ergen, Gulluk, Lacotte, Pilanci,
"Globally Optimal Training of Neural Networks with Threshold Activation Functions", ICLR 2023,
arXiv:2303.03382):

    min_C  1/2 ||H C - Y||_F^2 + beta * sum_i ||C_i,:||_2

(the Lasso when Y is a vector). Backends: ``"torch"`` - our semismooth Newton augmented Lagrangian
(Li, Sun, Toh 2018; ``method="ssnal"``) or FISTA with restart (``method="fista"``, for dictionaries
too large for a Newton system); ``"cvxpy"`` - cvxpy with Clarabel (or SCS), the reference. Every
backend's answer is certified the same way: the dual point nu = r / max(1, max_i ||(H^T r)_i||/beta)
with r = Y - H C gives gap = P(C) - D(nu) >= P(C) - P*, reported relative to P(C).

Zeros. The torch solvers end on a proximal (soft-threshold) step, so their inactive rows are exact
zeros. An interior-point solver (cvxpy/Clarabel) never returns exact zeros: a row that is zero at
the optimum comes back at about mu / slack, mu its final barrier parameter. ``LassoResult.zero_tol``
is the norm at or below which a row counts as zero: 0 for the torch solvers, and for cvxpy
sqrt(eps) * max_i ||C_i,:|| with eps = max(the solver's stopping tolerance, the certified relative
gap). Why the square root: at the solver's accuracy the complementarity products ||C_i|| * slack_i
(slack_i = 1 - ||(H^T R)_i|| / beta, both relative) are about eps, so a row whose true value exceeds
sqrt(eps) (relative) has slack below sqrt(eps) and stays above the threshold, and a zero row whose
dual constraint is slack by more than sqrt(eps) falls below it; only rows with both a true value
and a slack under sqrt(eps) are unresolved at that accuracy.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from boostprop._threads import one_thread_if

from ._fista import fista
from ._gap import gap_certificate
from ._ssnal import SolverTrace, ssnal

__all__ = ["LassoResult", "lasso_objective", "solve_lasso", "zero_tolerance"]


@dataclass
class LassoResult:
    """Solution of the (group) Lasso.

    Attributes:
        coef: (P,) for a vector target, (P, C) for a matrix target.
        objective: primal objective P(coef).
        gap: relative duality gap (P - D) / P, certified by a dual-feasible point (an upper bound
            on the relative suboptimality of ``coef``).
        n_iter: Newton steps (ssnal), iterations (fista), or the solver's iterations (cvxpy).
        dual_objective: the certified lower bound D on the optimum.
        converged: whether ``gap <= tol`` was reached.
        backend: "torch:ssnal", "torch:fista" or "cvxpy:<SOLVER>".
        seconds: wall-clock of the solve (including the cvxpy compilation for that backend).
        history: (seconds, relative gap) pairs recorded by the torch solvers.
        zero_tol: rows of ``coef`` with norm <= zero_tol are zero to the solver's accuracy (0 for
            the torch solvers, whose zeros are exact; sqrt(eps) * max row norm for cvxpy, see the
            module docstring). ``support`` and ``ThresholdNetwork.from_lasso`` use it.
    """

    coef: torch.Tensor
    objective: float
    gap: float
    n_iter: int
    dual_objective: float = float("nan")
    converged: bool = False
    backend: str = ""
    seconds: float = float("nan")
    history: list[tuple[float, float]] = field(default_factory=list)
    zero_tol: float = 0.0

    @property
    def support(self) -> torch.Tensor:
        """Indices of the rows of ``coef`` with norm above ``zero_tol`` (the non-zero rows)."""
        c = self.coef if self.coef.ndim == 2 else self.coef[:, None]
        if self.zero_tol <= 0:
            return torch.nonzero((c != 0).any(dim=1)).flatten()
        return torch.nonzero(torch.linalg.vector_norm(c, dim=1) > self.zero_tol).flatten()


def _to_tensor(a: Any, name: str, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a
    elif isinstance(a, (np.ndarray, list, tuple)):
        t = torch.as_tensor(np.asarray(a, dtype=np.float64))
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(a).__name__}")
    t = t.to(dtype=dtype, device=device)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _prepare(
    H: Any, Y: Any, beta: float, dtype: torch.dtype, device: torch.device | str | None
) -> tuple[torch.Tensor, torch.Tensor, bool, float]:
    dev = torch.device(device) if device is not None else None
    if dev is None and isinstance(H, torch.Tensor):
        dev = H.device
    Ht = _to_tensor(H, "H", dtype, dev)
    Yt = _to_tensor(Y, "Y", dtype, Ht.device)
    if Ht.ndim != 2:
        raise ValueError(f"H must be 2-D (n, P), got shape {tuple(Ht.shape)}")
    vector = Yt.ndim == 1
    if vector:
        Yt = Yt[:, None]
    if Yt.ndim != 2 or Yt.shape[0] != Ht.shape[0]:
        raise ValueError(
            f"Y must have shape (n,) or (n, C) with n = H.shape[0] = {Ht.shape[0]},"
            f" got {tuple(Yt.shape)}"
        )
    if Ht.shape[1] == 0 or Ht.shape[0] == 0:
        raise ValueError(f"H must be non-empty, got shape {tuple(Ht.shape)}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise TypeError(f"beta must be a positive float, got {type(beta).__name__}")
    if not (float(beta) > 0 and np.isfinite(float(beta))):
        raise ValueError(f"beta must be a positive finite float, got {beta}")
    return Ht, Yt, vector, float(beta)


def lasso_objective(H: Any, Y: Any, coef: Any, beta: float) -> float:
    """1/2 ||H C - Y||_F^2 + beta * sum_i ||C_i,:||_2 (float64).

    Example:
        >>> lasso_objective(torch.eye(2), torch.ones(2), torch.zeros(2), 1.0)
        1.0
    """
    Ht, Yt, _, b = _prepare(H, Y, beta, torch.float64, None)
    C = _to_tensor(coef, "coef", torch.float64, Ht.device)
    if C.ndim == 1:
        C = C[:, None]
    if C.shape != (Ht.shape[1], Yt.shape[1]):
        raise ValueError(f"coef must have shape {(Ht.shape[1], Yt.shape[1])}, got {tuple(C.shape)}")
    R = Yt - Ht @ C
    return float(0.5 * (R * R).sum() + b * torch.linalg.vector_norm(C, dim=1).sum())


def _certify(Ht: torch.Tensor, Yt: torch.Tensor, C: torch.Tensor, beta: float) -> tuple[float, ...]:
    R = Yt - Ht @ C
    return gap_certificate(Yt, C, R, Ht.T @ R, beta)


def _solve_cvxpy(
    Ht: torch.Tensor,
    Yt: torch.Tensor,
    beta: float,
    solver: str,
    solver_options: dict[str, Any] | None,
) -> tuple[torch.Tensor, int]:
    import cvxpy as cp

    Hn = Ht.detach().cpu().numpy()
    Yn = Yt.detach().cpu().numpy()
    P, C = Hn.shape[1], Yn.shape[1]
    if C == 1:
        c = cp.Variable(P)
        obj = 0.5 * cp.sum_squares(Hn @ c - Yn[:, 0]) + beta * cp.norm1(c)
    else:
        c = cp.Variable((P, C))
        obj = 0.5 * cp.sum_squares(Hn @ c - Yn) + beta * cp.sum(cp.norm(c, 2, axis=1))
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve(solver=solver, **(solver_options or {}))
    if c.value is None:
        raise RuntimeError(f"cvxpy/{solver} failed: status {prob.status}")
    val = np.asarray(c.value, dtype=np.float64).reshape(P, C)
    stats = prob.solver_stats
    n_iter = int(stats.num_iters) if stats is not None and stats.num_iters is not None else -1
    return torch.as_tensor(val, dtype=Ht.dtype, device=Ht.device), n_iter


# stopping tolerances of the cvxpy solvers (cvxpy's defaults where it sets them): option names
# and default values; the largest of them is the solver's accuracy eps
_SOLVER_TOLS: dict[str, dict[str, float]] = {
    "CLARABEL": {"tol_feas": 1e-8, "tol_gap_rel": 1e-8},
    "SCS": {"eps_abs": 1e-5, "eps_rel": 1e-5},
    "ECOS": {"feastol": 1e-8, "reltol": 1e-8},
}
_UNKNOWN_SOLVER_TOL = 1e-6


def _solver_tolerance(solver: str, options: dict[str, Any] | None) -> float:
    """The stopping tolerance eps that ``solver`` runs with under ``options``."""
    opts = options or {}
    table = _SOLVER_TOLS.get(solver.upper())
    if table is None:
        return _UNKNOWN_SOLVER_TOL
    if solver.upper() == "SCS" and "eps" in opts:
        return float(opts["eps"])
    return max(float(opts.get(k, v)) for k, v in table.items())


def zero_tolerance(coef: torch.Tensor, eps: float) -> float:
    """sqrt(eps) * max_i ||coef_i,:||: the row norm below which a solution of accuracy eps is zero.

    Example:
        >>> zero_tolerance(torch.tensor([0.5, -2.0, 1e-9]), 1e-8)
        0.0002
    """
    c = coef if coef.ndim == 2 else coef[:, None]
    if c.numel() == 0:
        return 0.0
    return float(np.sqrt(max(eps, 0.0)) * float(torch.linalg.vector_norm(c, dim=1).max()))


def solve_lasso(
    H: torch.Tensor | np.ndarray,
    Y: torch.Tensor | np.ndarray,
    beta: float,
    *,
    tol: float = 1e-6,
    max_iter: int | None = None,
    device: torch.device | str | None = None,
    backend: Literal["auto", "torch", "cvxpy"] = "auto",
    method: Literal["auto", "ssnal", "fista"] = "auto",
    dtype: torch.dtype = torch.float64,
    cvxpy_solver: str = "CLARABEL",
    solver_options: dict[str, Any] | None = None,
    time_limit: float | None = None,
) -> LassoResult:
    """Solve the Lasso (vector Y) or row-group Lasso (matrix Y) to a certified relative gap.

    min_C 1/2 ||H C - Y||_F^2 + beta * sum_i ||C_i,:||_2

    Args:
        H: (n, P) dictionary (any real matrix; 0/1 arrangement patterns get an exact fast Gram).
        Y: (n,) or (n, C) targets.
        beta: regularisation strength > 0.
        tol: stop when the certified relative duality gap (P - D) / P <= tol (torch backend).
        max_iter: Newton steps (ssnal, default 500) or iterations (fista, default 100_000).
        device: where to solve (default: H's device).
        backend: "torch" (our solver), "cvxpy" (reference), "auto" (= "torch").
        method: "ssnal" (semismooth Newton ALM), "fista", or "auto" (ssnal unless both n and
            P exceed 10_000, where the Newton system would not fit).
        dtype: float64 by default.
        cvxpy_solver: cvxpy solver name for ``backend="cvxpy"`` ("CLARABEL", "SCS", ...).
        solver_options: extra keyword arguments for ``cvxpy.Problem.solve``.
        time_limit: seconds after which the torch solvers return their best point so far.

    Returns:
        LassoResult with ``coef`` of shape (P,) or (P, C) like Y (cvxpy: as the solver returned
        it, with ``zero_tol`` telling which rows are zero to its accuracy).

    Example:
        >>> H = (torch.randn(20, 30, dtype=torch.float64) > 0).double()
        >>> res = solve_lasso(H, torch.randn(20, dtype=torch.float64), beta=0.5)
        >>> res.gap <= 1e-6
        True
    """
    if backend not in ("auto", "torch", "cvxpy"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'cvxpy', got {backend!r}")
    if method not in ("auto", "ssnal", "fista"):
        raise ValueError(f"method must be 'auto', 'ssnal' or 'fista', got {method!r}")
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol must be a positive float, got {tol!r}")
    if max_iter is not None and (not isinstance(max_iter, int) or max_iter < 1):
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    Ht, Yt, vector, b = _prepare(H, Y, beta, dtype, device)
    t0 = time.perf_counter()
    if backend == "cvxpy":
        C, n_iter = _solve_cvxpy(Ht, Yt, b, cvxpy_solver, solver_options)
        seconds = time.perf_counter() - t0
        p_val, d_val, gap = _certify(Ht, Yt, C, b)
        tr = SolverTrace(C, p_val, d_val, gap, n_iter, gap <= tol)
        name = f"cvxpy:{cvxpy_solver}"
        zero_tol = zero_tolerance(C, max(_solver_tolerance(cvxpy_solver, solver_options), gap))
    else:
        n, P = Ht.shape
        if method == "auto":
            method = "fista" if min(n, P) > 10_000 else "ssnal"
        with one_thread_if(Ht.device.type == "cpu" and n * max(n, P) * Yt.shape[1] < 2_000_000):
            if method == "ssnal":
                tr = ssnal(Ht, Yt, b, tol=tol, max_iter=max_iter or 500, time_limit=time_limit)
            else:
                tr = fista(Ht, Yt, b, tol=tol, max_iter=max_iter or 100_000, time_limit=time_limit)
        seconds = time.perf_counter() - t0
        name = f"torch:{method}"
        zero_tol = 0.0  # the solvers end on a soft-threshold step: exact zeros
    if not tr.converged:
        warnings.warn(
            f"solve_lasso ({name}) stopped at relative gap {tr.gap:.2e} > tol={tol:.1e}"
            " (max_iter or time_limit reached); the result is certified only to that gap",
            RuntimeWarning,
            stacklevel=2,
        )
    coef = tr.coef[:, 0] if vector else tr.coef
    return LassoResult(
        coef=coef,
        objective=tr.primal,
        gap=tr.gap,
        n_iter=tr.n_iter,
        dual_objective=tr.dual,
        converged=tr.converged,
        backend=name,
        seconds=seconds,
        history=tr.history,
        zero_tol=zero_tol,
    )
