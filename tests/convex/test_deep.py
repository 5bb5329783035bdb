"""The three-layer closed form vs the Lasso over the complete 0/1 dictionary solved by cvxpy."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest
import torch

from boostprop.convex import default_width, fit_three_layer, shattered_lasso_closed_form


def _complete_dictionary(n: int) -> np.ndarray:
    cols = [c for c in itertools.product([0.0, 1.0], repeat=n) if any(c)]
    return np.array(cols).T  # (n, 2^n - 1)


@pytest.mark.parametrize(
    ("n", "beta", "kind"),
    [(6, 0.3, "gauss"), (8, 1.0, "pm1"), (9, 0.05, "gauss"), (7, 50.0, "gauss"), (10, 2.0, "pm1")],
)
def test_closed_form_equals_complete_dictionary_lasso(n: int, beta: float, kind: str) -> None:
    rng = np.random.default_rng(n)
    y = rng.standard_normal(n) if kind == "gauss" else np.sign(rng.standard_normal(n))
    H = _complete_dictionary(n)
    c = cp.Variable(H.shape[1])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(H @ c - y) + beta * cp.norm1(c)))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10)
    delta, val = shattered_lasso_closed_form(y, beta)
    assert val == pytest.approx(prob.value, rel=1e-6, abs=1e-9)
    # the fit H c* is unique (strictly convex in H c): it is delta
    np.testing.assert_allclose(H @ c.value, delta, atol=1e-5)


def test_closed_form_by_hand() -> None:
    # y = (3, 1, -2), beta = 1: a solves (3 - a) = 1 -> a = 2; b solves (2 - b) = 1 -> b = 1
    delta, val = shattered_lasso_closed_form(np.array([3.0, 1.0, -2.0]), 1.0)
    np.testing.assert_allclose(delta, [2.0, 1.0, -1.0])
    assert val == pytest.approx(0.5 * (1 + 0 + 1) + 1.0 * (2 + 1))


@pytest.mark.parametrize("second_layer", ["pi", "svm"])
def test_network_reproduces_delta(second_layer: str) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(25, 3, generator=g, dtype=torch.float64)
    Y = torch.stack([torch.sign(X[:, 0]), X[:, 1]], dim=1)
    res = fit_three_layer(X, Y, 0.2, second_layer=second_layer, seed=1)  # type: ignore[arg-type]
    assert res.exact
    with torch.no_grad():
        out = res.network(X).numpy()
    ref = np.stack([shattered_lasso_closed_form(Y[:, k], 0.2)[0] for k in range(2)], axis=1)
    np.testing.assert_allclose(out, ref, atol=1e-9)
    assert res.objective == pytest.approx(
        sum(shattered_lasso_closed_form(Y[:, k], 0.2)[1] for k in range(2))
    )
    # staircase: positive and negative levels of each column
    n_levels = sum(len(np.unique(ref[:, k][ref[:, k] != 0])) for k in range(2))
    assert res.n_neurons == n_levels


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="second_layer"):
        fit_three_layer(torch.randn(4, 2), torch.ones(4), 0.1, second_layer="lsq")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beta"):
        shattered_lasso_closed_form(np.ones(3), 0.0)


def _figure2_like(n: int = 40, d: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(7)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Xt = torch.randn(300, d, generator=g, dtype=torch.float64)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    return X, torch.sign(torch.tanh(X @ w) + 0.3), Xt


def test_convex_pi_equals_the_written_out_reconstruction() -> None:
    """Convex-PI as the official code evaluates it: 1{1{[x,1] U > 0} pinv(X_hat) D > 0.5} amps."""
    X, y, Xt = _figure2_like()
    n, beta = X.shape[0], 1e-3 * X.shape[0]
    res = fit_three_layer(X, y, beta, width=1000, second_layer="pi", seed=3)
    assert res.width == 1000 and res.exact
    U = torch.randn(
        X.shape[1] + 1, 1000, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    aug = lambda Z: np.concatenate([Z.numpy(), np.ones((Z.shape[0], 1))], axis=1)  # noqa: E731
    Xh = (aug(X) @ U.numpy() > 0).astype(float)
    delta, _ = shattered_lasso_closed_form(y, beta)
    # +-1 labels: one positive level a and one negative level -b (the staircase has two steps)
    a, b = float(delta.max()), float(-delta.min())
    D = np.stack([(delta > 0).astype(float), (delta < 0).astype(float)], axis=1)
    V = np.linalg.pinv(Xh) @ D
    Xth = (aug(Xt) @ U.numpy() > 0).astype(float)
    ref = (Xth @ V > 0.5).astype(float) @ np.array([a, -b])
    with torch.no_grad():
        out = res.network(Xt).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-12)
    assert n < 1000


def test_convex_svm_with_the_official_svc() -> None:
    """Convex-SVM as the official code builds it: one SVC(kernel="linear", C=1) per column."""
    from sklearn.svm import SVC

    X, y, Xt = _figure2_like()
    beta = 1e-3 * X.shape[0]
    res = fit_three_layer(
        X, y, beta, width=1000, second_layer="svm", svm_solver="libsvm", svm_C=1.0, seed=4
    )
    U = torch.randn(
        X.shape[1] + 1, 1000, generator=torch.Generator().manual_seed(4), dtype=torch.float64
    )
    aug = lambda Z: np.concatenate([Z.numpy(), np.ones((Z.shape[0], 1))], axis=1)  # noqa: E731
    Xh = (aug(X) @ U.numpy() > 0).astype(float)
    Xth = (aug(Xt) @ U.numpy() > 0).astype(float)
    delta, _ = shattered_lasso_closed_form(y, beta)
    a, b = float(delta.max()), float(-delta.min())
    cols = [np.where(delta > 0, 1, -1), np.where(delta < 0, 1, -1)]
    ref = sum(  # the official test-time rule: decision value > 1e-8
        amp * (SVC(kernel="linear", C=1.0).fit(Xh, c).decision_function(Xth) > 1e-8)
        for amp, c in zip((a, -b), cols, strict=True)
    )
    with torch.no_grad():
        out = res.network(Xt).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-9)
    # and on the training data the SVMs reproduce the closed form (separable in 1000 features)
    assert res.exact


def test_default_width() -> None:
    assert default_width(100) == 1000 and default_width(500) == 1000 and default_width(501) == 1002
    X, y, _ = _figure2_like(n=30)
    assert fit_three_layer(X, y, 0.1).width == 1000
    assert fit_three_layer(X, y, 0.1, width=64).width == 64
    with pytest.raises(ValueError, match="width"):
        fit_three_layer(X, y, 0.1, width=0)
    with pytest.raises(ValueError, match="svm_solver"):
        fit_three_layer(X, y, 0.1, second_layer="svm", svm_solver="sgd")  # type: ignore[arg-type]
