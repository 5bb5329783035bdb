"""RootedLogisticRegression against an independent direct minimisation of the same objective."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.exceptions import ConvergenceWarning, SkipTestWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from boostprop.linear_models import RootedLogisticRegression


def _independent_fit(
    X: np.ndarray, y01: np.ndarray, k: float, C: float | None, fit_intercept: bool = True
) -> np.ndarray:
    """Minimise C·Σ_i k·(1 + exp(−y_i·(x_i·w + b)))^(1/k) + ½‖w‖² with BFGS and torch autograd."""
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(np.where(y01 == 1, 1.0, -1.0))
    d = X.shape[1]

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        w = th[:d]
        b = th[d] if fit_intercept else 0.0
        u = yt * (Xt @ w + b)
        loss = (k * torch.exp(F.softplus(-u, threshold=50.0) / k)).sum()
        obj = loss if C is None else C * loss + 0.5 * (w * w).sum()
        obj.backward()
        assert th.grad is not None
        return float(obj.detach()), th.grad.numpy().copy()

    res = minimize(
        f,
        np.zeros(d + int(fit_intercept)),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 10000},
    )
    return res.x


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:, :8], y


@pytest.mark.parametrize(("k", "C"), [(3.0, 1.0), (1.0, 0.1), (8.0, 10.0)])
def test_binary_matches_independent_minimiser(
    cancer: tuple[np.ndarray, np.ndarray], k: float, C: float
) -> None:
    X, y = cancer
    clf = RootedLogisticRegression(k=k, C=C, tol=1e-10, max_iter=5000).fit(X, y)
    ref = _independent_fit(X, y, k, C)
    np.testing.assert_allclose(clf.coef_[0], ref[:-1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(clf.intercept_[0], ref[-1], rtol=1e-4, atol=1e-5)
    assert clf.coef_.shape == (1, 8) and clf.intercept_.shape == (1,) and clf.n_iter_.shape == (1,)


@pytest.mark.parametrize("C", [None, np.inf])
def test_unpenalised_matches_independent_minimiser(C: float | None) -> None:
    X, y = make_classification(
        n_samples=150, n_features=4, n_informative=3, n_redundant=0, flip_y=0.2, random_state=0
    )
    clf = RootedLogisticRegression(k=2.0, C=C, tol=1e-10, max_iter=5000).fit(X, y)
    ref = _independent_fit(X, y, 2.0, None)
    np.testing.assert_allclose(np.r_[clf.coef_[0], clf.intercept_], ref, rtol=1e-4, atol=1e-5)


def test_without_intercept() -> None:
    X, y = make_classification(
        n_samples=120, n_features=3, n_informative=2, n_redundant=0, flip_y=0.1, random_state=1
    )
    clf = RootedLogisticRegression(k=3.0, C=0.5, tol=1e-10, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(
        clf.coef_[0], _independent_fit(X, y, 3.0, 0.5, False), rtol=1e-4, atol=1e-6
    )
    assert clf.intercept_[0] == 0.0


def test_one_vs_rest() -> None:
    X, y = make_classification(
        n_samples=200,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        class_sep=2.0,
        random_state=2,
    )
    labels = np.array(["a", "b", "c"])[y]
    clf = RootedLogisticRegression(k=3.0, C=1.0, tol=1e-10).fit(X, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.coef_.shape == (3, 5) and clf.n_iter_.shape == (3,)
    for c in range(3):
        ref = _independent_fit(X, (y == c).astype(int), 3.0, 1.0)
        np.testing.assert_allclose(
            np.r_[clf.coef_[c], clf.intercept_[c]], ref, rtol=1e-4, atol=1e-5
        )
    scores = clf.decision_function(X)
    assert scores.shape == (200, 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(1)])
    # one-vs-rest linear classifier: about as accurate as scikit-learn's logistic regression
    assert clf.score(X, labels) > LogisticRegression().fit(X, labels).score(X, labels) - 0.05


def test_large_k_approaches_logistic_regression(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    ours = RootedLogisticRegression(k=1e4, C=0.5, tol=1e-10).fit(X, y)
    lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, lr.coef_, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ours.intercept_, lr.intercept_, rtol=2e-3, atol=2e-3)


def test_binary_predict_and_decision(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    clf = RootedLogisticRegression().fit(X, y)
    d = clf.decision_function(X)
    assert d.shape == (len(y),)
    np.testing.assert_allclose(d, X @ clf.coef_[0] + clf.intercept_[0])
    np.testing.assert_array_equal(clf.predict(X), (d > 0).astype(int))
    assert clf.score(X, y) > 0.9


def test_convergence_warning_and_n_iter(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    with pytest.warns(ConvergenceWarning):
        clf = RootedLogisticRegression(max_iter=2).fit(X, y)
    assert clf.n_iter_[0] <= 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert RootedLogisticRegression(tol=1e-8).fit(X, y).n_iter_[0] > 2


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k": 0.0}, "k"),
        ({"k": -1.0}, "k"),
        ({"C": 0.0}, "C"),
        ({"C": -1.0}, "C"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
    ],
)
def test_bad_parameters(params: dict[str, float], match: str) -> None:
    X, y = make_classification(
        n_samples=30, n_features=3, n_informative=2, n_redundant=0, random_state=0
    )
    with pytest.raises(ValueError, match=match):
        RootedLogisticRegression(**params).fit(X, y)  # type: ignore[arg-type]


def test_single_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="class"):
        RootedLogisticRegression().fit(np.ones((5, 2)), np.zeros(5))


def test_check_estimator() -> None:
    # two checks are skipped by scikit-learn itself here (pandas / array-API not installed)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = check_estimator(RootedLogisticRegression(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 45
