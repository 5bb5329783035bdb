"""solve_lasso against cvxpy/Clarabel (an independent interior-point solver), gaps and KKT."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import torch

from boostprop.convex import lasso_objective, solve_lasso


def _problem(n: int, P: int, C: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    H = (torch.randn(n, P, generator=g, dtype=torch.float64) > 0.3).to(torch.float64)
    Y = torch.randn(n, C, generator=g, dtype=torch.float64)
    return H, (Y[:, 0] if C == 1 else Y)


def _cvxpy_reference(H: torch.Tensor, Y: torch.Tensor, beta: float) -> float:
    """Optimal value written directly in cvxpy (not through our backend)."""
    Hn, Yn = H.numpy(), Y.numpy()
    if Yn.ndim == 1:
        c = cp.Variable(Hn.shape[1])
        reg = cp.norm1(c)
    else:
        c = cp.Variable((Hn.shape[1], Yn.shape[1]))
        reg = cp.sum(cp.norm(c, 2, axis=1))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Hn @ c - Yn) + beta * reg))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    return float(prob.value)


CASES = [(30, 60, 1, 0.5), (60, 25, 1, 0.2), (40, 150, 1, 2.0), (30, 60, 3, 0.5), (50, 120, 4, 1.0)]


@pytest.mark.parametrize(("n", "P", "C", "beta"), CASES)
@pytest.mark.parametrize("method", ["ssnal", "fista"])
def test_matches_cvxpy_and_gap_is_certified(
    n: int, P: int, C: int, beta: float, method: str
) -> None:
    H, Y = _problem(n, P, C, seed=n + P + C)
    ref = _cvxpy_reference(H, Y, beta)
    res = solve_lasso(H, Y, beta, tol=1e-7, method=method)  # type: ignore[arg-type]
    assert res.converged and res.gap <= 1e-7
    assert res.coef.shape == ((P,) if C == 1 else (P, C))
    # objective recomputed independently; agrees with cvxpy to 1e-6 relative
    obj = lasso_objective(H, Y, res.coef, beta)
    assert abs(obj - res.objective) <= 1e-12 * max(1.0, obj)
    assert abs(obj - ref) <= 1e-6 * ref
    # the certificate is a true lower bound: D <= optimum <= P
    assert res.dual_objective <= ref * (1 + 1e-9)
    assert (obj - res.dual_objective) / obj <= 1e-7


@pytest.mark.parametrize("C", [1, 3])
def test_kkt_conditions(C: int) -> None:
    H, Y = _problem(40, 80, C, seed=7)
    beta = 0.7
    res = solve_lasso(H, Y, beta, tol=1e-12)
    coef = res.coef if C > 1 else res.coef[:, None]
    Ym = Y if C > 1 else Y[:, None]
    G = H.T @ (Ym - H @ coef)  # = beta * subgradient of the penalty at the optimum
    gn = torch.linalg.vector_norm(G, dim=1)
    cn = torch.linalg.vector_norm(coef, dim=1)
    assert float(gn.max()) <= beta * (1 + 1e-4)
    support = cn > 1e-8
    assert int(support.sum()) > 0
    expect = beta * coef[support] / cn[support][:, None]
    assert torch.allclose(G[support], expect, atol=1e-4 * beta)


def test_cvxpy_backend_and_vector_group_consistency() -> None:
    H, y = _problem(30, 50, 1, seed=3)
    res_cvx = solve_lasso(H, y, 0.4, backend="cvxpy")
    res_ours = solve_lasso(H, y, 0.4)
    assert res_cvx.backend == "cvxpy:CLARABEL"
    assert abs(res_cvx.objective - res_ours.objective) <= 1e-6 * res_ours.objective
    # a one-column group Lasso is the Lasso
    res_grp = solve_lasso(H, y[:, None], 0.4)
    assert res_grp.coef.shape == (50, 1)
    assert abs(res_grp.objective - res_ours.objective) <= 1e-6 * res_ours.objective


def test_numpy_input_and_zero_solution() -> None:
    H, y = _problem(20, 30, 1, seed=5)
    big = float((H.T @ y).abs().max()) * 1.01  # beta above ||H^T y||_inf: c* = 0
    res = solve_lasso(H.numpy(), y.numpy(), big)
    assert float(res.coef.abs().max()) == 0.0
    assert res.gap == pytest.approx(0.0, abs=1e-12)
    assert res.objective == pytest.approx(0.5 * float((y**2).sum()))


def test_bad_input() -> None:
    H, y = _problem(10, 12, 1, seed=1)
    with pytest.raises(ValueError, match="beta"):
        solve_lasso(H, y, -1.0)
    with pytest.raises(ValueError, match="Y must have shape"):
        solve_lasso(H, y[:5], 1.0)
    with pytest.raises(ValueError, match="backend"):
        solve_lasso(H, y, 1.0, backend="mosek")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="H contains NaN"):
        solve_lasso(H * float("nan"), y, 1.0)
    with pytest.raises(TypeError, match="H must be"):
        solve_lasso("H", y, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tol"):
        solve_lasso(H, y, 1.0, tol=0.0)
    assert np.isfinite(solve_lasso(H, y, 1.0).gap)


def test_not_converged_warns_and_reports_true_gap() -> None:
    H, y = _problem(30, 60, 1, seed=11)
    with pytest.warns(RuntimeWarning, match="stopped at relative gap"):
        res = solve_lasso(H, y, 0.5, tol=1e-12, max_iter=2, method="fista")
    assert not res.converged
    ref = _cvxpy_reference(H, y, 0.5)
    # the reported gap is a valid bound on the suboptimality of the returned point
    assert res.objective - ref <= res.gap * res.objective + 1e-9
    assert res.gap > 1e-12
