"""Reconstruction (exact outputs, AM-GM objective) and global optimality against non-convex training."""

from __future__ import annotations

import pytest
import torch

from boostprop.convex import (
    STENetwork,
    ThresholdNetwork,
    enumerate_patterns,
    lasso_objective,
    network_objective,
    sample_patterns,
    solve_lasso,
    train_ste,
)


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
