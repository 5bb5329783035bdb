"""STE surrogate gradients against hand-computed values; training history and objectives."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from boostprop.convex import STENetwork, network_objective, ste_threshold, train_ste

Z = torch.tensor([-2.0, -0.5, 0.0, 0.5, 1.5], dtype=torch.float64)
EXPECTED = {
    "identity": [1.0, 1.0, 1.0, 1.0, 1.0],
    "relu": [0.0, 0.0, 1.0, 1.0, 1.0],
    "leaky_relu": [0.01, 0.01, 1.0, 1.0, 1.0],
    "clipped_relu": [0.0, 0.0, 1.0, 1.0, 0.0],
}


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_forward_and_backward(variant: str) -> None:
    z = Z.clone().requires_grad_(True)
    out = ste_threshold(z, variant)  # type: ignore[arg-type]
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # forward 1{z > 0}
    g = torch.arange(1.0, 6.0, dtype=torch.float64)
    out.backward(g)
    assert z.grad is not None
    assert torch.allclose(z.grad, g * torch.tensor(EXPECTED[variant], dtype=torch.float64))


@pytest.mark.parametrize("depth", [2, 3])
def test_train_history_and_convex_objective(depth: int) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(30, 2, generator=g, dtype=torch.float64)
    y = torch.sign(X[:, 0])
    res = train_ste(
        X,
        y,
        variant="relu",
        depth=depth,
        width=10,
        epochs=40,
        beta=0.1,
        objective="convex",
        seed=0,
        X_test=X,
        y_test=y,
    )
    assert len(res.objective) == len(res.seconds) == len(res.train_accuracy) == 40
    assert len(res.test_accuracy) == 40
    assert all(b >= a for a, b in zip(res.seconds, res.seconds[1:], strict=False))
    assert isinstance(res.network, STENetwork) and res.network.depth == depth
    # the recorded convex objective is the network objective of the parameters at that epoch:
    # after the last step it is recomputed and must be finite and consistent in form
    val = network_objective(res.network, X, y, 0.1)
    assert val > 0
    # objective decreased from the start
    assert res.objective[-1] < res.objective[0]


def test_paper_objective_matches_formula_at_start() -> None:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(12, 3, generator=g, dtype=torch.float64)
    y = torch.sign(X[:, 1])
    torch.manual_seed(5)
    net = STENetwork(3, 6, 1, variant="identity")
    w1 = net.hidden_layers[0].weight.detach().clone()
    w2 = net.output.weight.detach().clone()
    with torch.no_grad():
        f = net(X)
    expect = float(((f - y) ** 2).mean() / 2 + 0.5 * (w1.norm() + w2.norm()) / (2 * 12))
    res = train_ste(X, y, epochs=1, beta=0.5, objective="paper", init=net)
    assert res.objective[0] == pytest.approx(expect, rel=1e-12)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="variant"):
        ste_threshold(Z, "sigmoid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        STENetwork(2, 3, depth=4)
    with pytest.raises(ValueError, match="objective"):
        train_ste(torch.randn(4, 2), torch.ones(4), objective="mse")  # type: ignore[arg-type]


def test_convex_objective_step_is_lr_times_gradient_of_objective_over_n() -> None:
    """One step on the convex objective moves the trainable weights by lr·∇(objective / n), so
    ``lr`` means what it means for the per-sample-mean loss (the paper's lr 0.01 does not blow up
    on n samples)."""
    g = torch.Generator().manual_seed(3)
    X = torch.randn(50, 3, generator=g, dtype=torch.float64)
    y = torch.sign(X[:, 0] - X[:, 1])
    torch.manual_seed(0)
    init = STENetwork(3, 8, 1, depth=2, variant="relu", dtype=torch.float64)
    ref = copy.deepcopy(init)
    beta, lr = 0.05, 0.01
    res = train_ste(
        X, y, variant="relu", width=8, epochs=1, lr=lr, beta=beta, objective="convex", init=init
    )
    # independent reference: autograd of the closed-form objective on the copy
    out = ref(X)
    obj = 0.5 * ((out - y) ** 2).sum() + 0.5 * beta * (
        (ref.amplitude**2).sum() + (ref.output.weight**2).sum()
    )
    (obj / X.shape[0]).backward()
    assert res.objective[0] == pytest.approx(obj.item(), rel=1e-12)
    for p_new, p_old in zip(res.network.parameters(), ref.parameters(), strict=True):
        assert p_old.grad is not None
        torch.testing.assert_close(
            p_new.detach(), p_old.detach() - lr * p_old.grad, rtol=0, atol=1e-12
        )


# ---- the official Figure 2 networks: three layers, hidden widths (1000, n), no biases ----


def test_bias_free_network_has_no_bias_and_its_forward_is_the_closed_form() -> None:
    n = 100
    torch.manual_seed(0)
    net = STENetwork(21, (1000, n), bias=False, dtype=torch.float32)
    assert net.depth == 3 and net.widths == (1000, n)
    names = [name for name, _ in net.named_parameters()]
    assert not any("bias" in name for name in names)
    assert [layer.bias for layer in net.hidden_layers] == [None, None]
    assert net.output.bias is None
    shapes = [tuple(p.shape) for p in net.parameters()]
    assert sorted(shapes) == sorted([(1000, 21), (n, 1000), (n,), (1, n)])
    g = torch.Generator().manual_seed(1)
    x = torch.randn(50, 20, generator=g)
    xa = torch.cat([x, torch.ones(50, 1)], dim=1)  # the official code's column of ones
    with torch.no_grad():
        out = net(xa).numpy()
    w1 = net.hidden_layers[0].weight.detach().numpy()
    w2 = net.hidden_layers[1].weight.detach().numpy()
    a = net.output.weight.detach().numpy()
    s = net.amplitude.detach().numpy()
    h1 = (xa.numpy() @ w1.T > 0).astype(np.float32)
    h2 = (h1 @ w2.T > 0).astype(np.float32)
    np.testing.assert_allclose(out, (h2 * s) @ a[0], rtol=1e-5, atol=1e-5)


def test_bias_free_paper_step_is_the_hand_written_identity_ste_gradient() -> None:
    """One "paper" step of the official three-layer network (identity STE, no biases), against
    the surrogate gradient written out by hand in float64 (threshold forward, identity backward)."""
    g = torch.Generator().manual_seed(2)
    n, d = 40, 6
    X = torch.cat([torch.randn(n, d, generator=g, dtype=torch.float64), torch.ones(n, 1)], dim=1)
    y = torch.sign(X[:, 0] + X[:, 1])
    torch.manual_seed(3)
    init = STENetwork(d + 1, (30, n), bias=False, variant="identity")
    w1 = init.hidden_layers[0].weight.detach().numpy().copy()
    w2 = init.hidden_layers[1].weight.detach().numpy().copy()
    a = init.output.weight.detach().numpy()[0].copy()
    beta, lr = 0.04, 0.01
    res = train_ste(X, y, width=(30, n), bias=False, epochs=1, lr=lr, beta=beta, init=init)
    x, t = X.numpy(), y.numpy()
    z1 = x @ w1.T
    h1 = (z1 > 0).astype(float)
    z2 = h1 @ w2.T
    h2 = (z2 > 0).astype(float)
    f = h2 @ a
    loss = ((f - t) ** 2).mean() / 2 + beta * (np.linalg.norm(w1) + np.linalg.norm(w2)) / (2 * n)
    assert res.objective[0] == pytest.approx(loss, rel=1e-12)
    gf = (f - t) / n  # d loss / d f
    ga = h2.T @ gf
    gz2 = np.outer(gf, a)  # identity surrogate: d h2 / d z2 := 1
    gw2 = gz2.T @ h1 + beta / (2 * n) * w2 / np.linalg.norm(w2)
    gz1 = gz2 @ w2
    gw1 = gz1.T @ x + beta / (2 * n) * w1 / np.linalg.norm(w1)
    net = res.network
    np.testing.assert_allclose(
        net.hidden_layers[0].weight.detach().numpy(), w1 - lr * gw1, atol=1e-12
    )
    np.testing.assert_allclose(
        net.hidden_layers[1].weight.detach().numpy(), w2 - lr * gw2, atol=1e-12
    )
    np.testing.assert_allclose(net.output.weight.detach().numpy()[0], a - lr * ga, atol=1e-12)
    assert float(net.amplitude.detach().sub(1).abs().max()) == 0.0  # fixed under "paper"


def test_widths_validation_and_default_configuration_unchanged() -> None:
    torch.manual_seed(0)
    old = STENetwork(3, 8, 1, depth=3)
    assert old.widths == (8, 8) and all(layer.bias is not None for layer in old.hidden_layers)
    torch.manual_seed(0)
    same = STENetwork(3, (8, 8), 1, bias=True)
    for p, q in zip(old.parameters(), same.parameters(), strict=True):
        assert torch.equal(p, q)  # an int width is the tuple of equal widths, same init stream
    assert STENetwork(3, 5).depth == 2
    with pytest.raises(ValueError, match="hidden width"):
        STENetwork(3, (8, 4), depth=2)
    with pytest.raises(ValueError, match="positive int"):
        STENetwork(3, (8, 0))
    with pytest.raises(ValueError, match="depth"):
        STENetwork(3, (8, 4, 2))
    with pytest.raises(TypeError, match="bias"):
        STENetwork(3, 4, bias="no")  # type: ignore[arg-type]
