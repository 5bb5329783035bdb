"""Reconstruction (exact outputs, AM-GM objective) and global optimality against non-convex training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boostprop.convex import (
    Patterns,
    STENetwork,
    ThresholdNetClassifier,
    ThresholdNetwork,
    enumerate_patterns,
    lasso_objective,
    network_objective,
    sample_patterns,
    solve_lasso,
    train_ste,
)
from boostprop.data import make_teacher


def _data(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.sign(X[:, 0] * X[:, 1] + 0.3 * torch.randn(n, generator=g, dtype=torch.float64))
    return X, y


@pytest.mark.parametrize("C", [1, 3])
def test_reconstruction_reproduces_HC_and_objective(C: int) -> None:
    X, y = _data(40, 3, seed=C)
    Y = y if C == 1 else torch.stack([y, -y, X[:, 2]], dim=1)
    pat = sample_patterns(X, 300, seed=0)
    beta = 0.3
    res = solve_lasso(pat.H, Y, beta, tol=1e-8)
    net = ThresholdNetwork.from_lasso(pat, res)
    assert net.width == res.support.numel() > 0
    with torch.no_grad():
        out = net(X)
    HC = pat.H @ res.coef
    assert out.shape == HC.shape
    # hidden activations equal the dictionary columns exactly; outputs equal H C up to rounding
    assert torch.equal(net.hidden_patterns(X), pat.H[:, res.support])
    assert torch.allclose(out, HC, rtol=0, atol=1e-12)
    # AM-GM: the network's weight-decay objective equals the Lasso objective
    obj_net = network_objective(net, X, Y, beta)
    assert obj_net == pytest.approx(lasso_objective(pat.H, Y, res.coef, beta), rel=1e-12)
    assert obj_net == pytest.approx(network_objective(net, X, Y, beta, rebalance=True), rel=1e-12)


def test_unbalanced_network_has_larger_objective() -> None:
    # hand-computed: one unit, s = 2, a = 1 on a single point with 1{x >= 0} = 1
    net = ThresholdNetwork(1, 1, 1)
    with torch.no_grad():
        net.hidden.weight.fill_(1.0)
        net.hidden.bias.zero_()
        net.amplitude.fill_(2.0)
        net.output.weight.fill_(1.0)
    X = torch.ones(1, 1, dtype=torch.float64)
    y = torch.zeros(1, dtype=torch.float64)
    # 1/2 (2 - 0)^2 + 0.5/2 (4 + 1) = 2 + 1.25; rebalanced: 2 + 0.5 * 2
    assert network_objective(net, X, y, 0.5) == pytest.approx(3.25)
    assert network_objective(net, X, y, 0.5, rebalance=True) == pytest.approx(3.0)


def test_global_optimality_on_enumerated_2d_problem() -> None:
    X, y = _data(12, 2, seed=3)
    beta = 0.2
    pat = enumerate_patterns(X)
    res = solve_lasso(pat.H, y, beta, tol=1e-10)
    opt = res.objective
    finals = []
    # every STE variant, trained on exactly the convex objective
    for variant in ("identity", "relu", "leaky_relu", "clipped_relu"):
        for seed in range(1):
            st = train_ste(
                X,
                y,
                variant=variant,
                depth=2,
                width=16,
                epochs=200,
                lr=0.01,  # type: ignore[arg-type]
                beta=beta,
                objective="convex",
                seed=seed,
            )
            finals.append(network_objective(st.network, X, y, beta))
            finals.append(network_objective(st.network, X, y, beta, rebalance=True))
    # random-restart non-convex training of the same threshold network: random first layer,
    # amplitudes and output weights trained by Adam on the weight-decay objective
    for seed in range(3):
        torch.manual_seed(100 + seed)
        net = ThresholdNetwork(2, 16, 1)
        with torch.no_grad():
            net.hidden.weight.normal_()
            net.hidden.bias.normal_()
            net.amplitude.normal_()
            net.output.weight.normal_()
        opt_ = torch.optim.Adam([net.amplitude, net.output.weight], lr=0.05)
        for _ in range(200):
            opt_.zero_grad()
            loss = 0.5 * ((net(X) - y) ** 2).sum() + 0.5 * beta * (
                (net.amplitude**2).sum() + (net.output.weight**2).sum()
            )
            loss.backward()
            opt_.step()
        finals.append(network_objective(net, X, y, beta))
    assert min(finals) >= opt * (1 - 1e-9)
    # and the optimum is reachable: the reconstructed network attains it
    net_opt = ThresholdNetwork.from_lasso(pat, res)
    assert network_objective(net_opt, X, y, beta) == pytest.approx(opt, rel=1e-9)


def test_ste_network_objective_uses_its_amplitudes() -> None:
    net = STENetwork(2, 4, 1, variant="relu")
    X, y = _data(8, 2, seed=0)
    v = network_objective(net, X, y, 0.1)
    with torch.no_grad():
        f = net(X)
    with torch.no_grad():
        reg = 0.5 * 0.1 * float((net.amplitude**2).sum() + (net.output.weight**2).sum())
    assert v == pytest.approx(0.5 * float(((f - y) ** 2).sum()) + reg)


def test_from_lasso_errors() -> None:
    X, _y = _data(10, 2, seed=0)
    pat = sample_patterns(X, 20, seed=0)
    with pytest.raises(ValueError, match="rows"):
        ThresholdNetwork.from_lasso(pat, torch.zeros(pat.n_patterns + 1, dtype=torch.float64))
    with pytest.raises(TypeError, match="Patterns"):
        ThresholdNetwork.from_lasso("p", torch.zeros(3))  # type: ignore[arg-type]


# ---- cvxpy solutions: rows below the solver's accuracy are zero (issue 14) ----


def _circle_patterns(n: int) -> tuple[torch.Tensor, Patterns]:
    """n points on the unit circle; pattern k isolates point k, so H = I (an explicit Lasso)."""
    theta = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    X = torch.stack([theta.cos(), theta.sin()], dim=1)
    # [x_j, 1] . (cos t_k, sin t_k, -cos(pi/n)) = cos(t_j - t_k) - cos(pi/n) >= 0 iff j == k
    U = torch.stack([theta.cos(), theta.sin(), -math.cos(math.pi / n) * torch.ones(n)], dim=0)
    H = (torch.cat([X, torch.ones(n, 1, dtype=X.dtype)], dim=1) @ U >= 0).to(X.dtype)
    return X, Patterns(H, U.to(X.dtype), bias=True)


def test_cvxpy_network_has_the_explicit_support() -> None:
    n, beta = 24, 0.3
    X, pat = _circle_patterns(n)
    assert torch.equal(pat.H, torch.eye(n, dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    big = torch.rand(n, generator=g) < 0.5
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    y = sign * torch.where(big, 1.0, 0.05).to(torch.float64)
    # H = I: the Lasso separates, c_k = soft(y_k, beta); its support is {|y_k| > beta}
    soft = torch.sign(y) * (y.abs() - beta).clamp_min(0)
    count = int(big.sum())
    res = solve_lasso(pat.H, y, beta, backend="cvxpy")
    assert int((res.coef != 0).sum()) > count  # the interior-point solver returns no exact zero
    net = ThresholdNetwork.from_lasso(pat, res)
    assert net.width == count == res.support.numel()
    assert set(res.support.tolist()) == set(torch.nonzero(big).flatten().tolist())
    with torch.no_grad():
        out = net(X)
    dropped = torch.ones(n, dtype=torch.bool)
    dropped[res.support] = False
    assert bool((res.coef[dropped].abs() <= res.zero_tol).all())
    # outputs: H c up to the dropped mass, and the closed-form solution to solver accuracy
    assert float((out - pat.H @ res.coef).abs().max()) <= float(res.coef[dropped].abs().sum())
    torch.testing.assert_close(out, soft, rtol=0, atol=1e-6)
    # an explicit tolerance still overrides the result's
    assert ThresholdNetwork.from_lasso(pat, res, tol=0.0).width == n


def _band_problem() -> tuple[torch.Tensor, torch.Tensor, Patterns, float]:
    g = torch.Generator().manual_seed(5)
    X = torch.randn(60, 5, generator=g, dtype=torch.float64)
    y = torch.sign(X[:, 0] * X[:, 1] + 0.5 * torch.randn(60, generator=g, dtype=torch.float64))
    return X, y, sample_patterns(X, 400, seed=5), 0.06


def test_cvxpy_support_matches_fista_up_to_rows_unresolved_at_solver_accuracy() -> None:
    X, y, pat, beta = _band_problem()
    res_c = solve_lasso(pat.H, y, beta, backend="cvxpy")
    # the independent solver, to a tight certified gap (its zeros are exact: soft thresholds)
    res_f = solve_lasso(pat.H, y, beta, tol=1e-8, method="fista", max_iter=400_000)
    assert res_f.zero_tol == 0.0 and res_f.converged
    net = ThresholdNetwork.from_lasso(pat, res_c)
    s_c, s_f = set(res_c.support.tolist()), set(res_f.support.tolist())
    assert net.width == len(s_c)
    assert len(s_c ^ s_f) <= 1
    # a row the two disagree on is one Clarabel's accuracy eps cannot resolve: at the optimum its
    # coefficient and its dual slack 1 - |h_i^T r| / beta are both of order sqrt(eps) (relative)
    eps = max(1e-8, res_c.gap)
    mx = float(res_f.coef.abs().max())
    slack = 1 - (pat.H.T @ (y - pat.H @ res_f.coef)).abs() / beta
    for i in s_c ^ s_f:
        assert float(res_f.coef[i].abs()) <= 3 * eps**0.5 * mx
        assert float(slack[i]) <= 3 * eps**0.5
    # training outputs equal H c up to the dropped rows (each at most zero_tol)
    keep = torch.zeros(pat.n_patterns, dtype=torch.bool)
    keep[res_c.support] = True
    with torch.no_grad():
        dev = float((net(X) - pat.H @ res_c.coef).abs().max())
    assert dev <= float(res_c.coef[~keep].abs().sum()) <= pat.n_patterns * res_c.zero_tol
    # the network's objective is the Lasso objective to the solver's accuracy
    assert network_objective(net, X, y, beta) == pytest.approx(res_f.objective, rel=1e-6)
    # a tighter interior-point solve resolves the band: the supports then agree exactly
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    res_t = solve_lasso(pat.H, y, beta, backend="cvxpy", solver_options=tight)
    assert res_t.zero_tol < res_c.zero_tol
    assert set(res_t.support.tolist()) == s_f


def test_cvxpy_estimator_neurons_match_ssnal_on_the_teacher() -> None:
    x, y = make_teacher("train", seed=0)
    X, Y = x.double().numpy(), y.numpy()
    clf_c = ThresholdNetClassifier(n_patterns=1000, random_state=0, solver="cvxpy").fit(X, Y)
    clf_f = ThresholdNetClassifier(n_patterns=1000, random_state=0, solver="ssnal").fit(X, Y)
    assert clf_c.n_neurons_ == clf_c.network_.width < 1000  # was 1001 of 1001 before issue 14
    assert clf_c.n_neurons_ == clf_f.n_neurons_
    np.testing.assert_allclose(clf_c.decision_function(X), clf_f.decision_function(X), atol=1e-5)
    assert clf_c.objective_ == pytest.approx(clf_f.objective_, rel=1e-6)
