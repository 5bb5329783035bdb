"""Rooted logistic regression: a linear classifier trained with the binary rooted logistic loss.

Source: Z. Wang, A. Veluswami, H. Mishra, S. N. Ravi, "Accelerated Neural Network Training with
Rooted Logistic Objectives", arXiv:2310.03890 (2023), Section "logistic regression" experiments
(LR, LR-L2, RLO, RLO-L2 compared by iterations to convergence and test accuracy).

For labels ``y ∈ {−1, +1}`` and margins ``u_i = y_i·(x_i·w + b)`` the estimator minimises, with
L-BFGS-B (scipy) in float64 from zero and an analytic gradient,

    F(w, b) = (1/n)·Σ_i k·exp(softplus(−u_i)/k) + ‖w‖² / (2·C·n),

which has the same minimiser as ``C·Σ_i ℓ_k(u_i) + ½‖w‖²`` (scikit-learn's ``LogisticRegression``
scaling, intercept not penalised). ``C=None`` or ``C=np.inf`` drops the penalty (plain RLO). More than
two classes are handled one-vs-rest. The exponent ``softplus(−u)/k`` is continued linearly beyond
200 (float64 overflow guard; irrelevant for margins above ``−200·k``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["RootedLogisticRegression", "rooted_logistic_objective"]

_EXP_CAP = 200.0


def rooted_logistic_objective(
    params: NDArray[np.float64],
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    k: float,
    C: float | None,
    fit_intercept: bool,
) -> tuple[float, NDArray[np.float64]]:
    """Objective ``F(w, b)`` (see the module docstring) and its gradient.

    ``params`` is ``w`` followed by ``b`` when ``fit_intercept``; ``y`` holds ±1.

    Example:
        >>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])
        >>> f, g = rooted_logistic_objective(np.zeros(2), X, y, 1.0, None, True)
        >>> round(f, 6)  # k·(1 + e^0)^(1/k) with k = 1
        2.0
    """
    n = X.shape[0]
    if fit_intercept:
        w, b = params[:-1], params[-1]
    else:
        w, b = params, 0.0
    u = y * (X @ w + b)
    x = np.logaddexp(0.0, -u) / k  # softplus(−u)/k
    e = np.exp(np.minimum(x, _EXP_CAP))
    loss = k * e * (1.0 + np.maximum(x - _EXP_CAP, 0.0))
    dl_du = -e * expit(-u)  # d/du of k·exp(softplus(−u)/k)
    coef = dl_du * y / n
    f = float(loss.sum() / n)
    gw = X.T @ coef
    if C is not None:
        f += float(w @ w) / (2.0 * C * n)
        gw = gw + w / (C * n)
    if fit_intercept:
        return f, np.concatenate([gw, [coef.sum()]])
    return f, gw


class RootedLogisticRegression(ClassifierMixin, BaseEstimator):
    """Linear classifier with the rooted logistic loss (binary; one-vs-rest for more classes).

    Args:
        k: root of the loss (``k → ∞`` approaches logistic regression, ``k = 1`` the exponential
            loss).
        C: inverse L2 strength as in scikit-learn; ``None`` or ``np.inf`` means no penalty.
        max_iter: L-BFGS-B iteration limit (a ``ConvergenceWarning`` is raised when reached).
        tol: L-BFGS-B ``gtol`` (projected-gradient tolerance).
        fit_intercept: learn an unpenalised intercept.

    Attributes:
        coef_: ``(1, n_features)`` for two classes, ``(n_classes, n_features)`` otherwise.
        intercept_: ``(1,)`` or ``(n_classes,)``.
        classes_: the sorted class labels.
        n_iter_: L-BFGS-B iterations, one per binary problem.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> clf = RootedLogisticRegression(k=3.0, C=1.0).fit(X, y)
        >>> clf.score(X, y) > 0.9
        True
    """

    def __init__(
        self,
        k: float = 3.0,
        C: float | None = 1.0,
        max_iter: int = 1000,
        tol: float = 1e-6,
        fit_intercept: bool = True,
    ) -> None:
        self.k = k
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept

    def _check_params(self) -> tuple[float, float | None]:
        if not isinstance(self.k, numbers.Real) or not (math.isfinite(self.k) and self.k > 0):
            raise ValueError(f"k: expected a finite number > 0, got {self.k!r}")
        C: float | None
        if self.C is None:
            C = None
        elif not isinstance(self.C, numbers.Real) or not self.C > 0 or math.isnan(self.C):
            raise ValueError(f"C: expected a number > 0, np.inf or None, got {self.C!r}")
        else:
            C = None if math.isinf(self.C) else float(self.C)
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter: expected an integer ≥ 1, got {self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol: expected a number ≥ 0, got {self.tol!r}")
        return float(self.k), C

    def fit(self, X: Any, y: Any) -> RootedLogisticRegression:
        """Fit the model on ``X`` (n_samples, n_features) and labels ``y``."""
        k, C = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class: {self.classes_[0]!r}")
        positives = [self.classes_[1]] if n_classes == 2 else list(self.classes_)
        n_features = X.shape[1]
        coefs, intercepts, iters = [], [], []
        for pos in positives:
            yb = np.where(y == pos, 1.0, -1.0)
            x0 = np.zeros(n_features + int(self.fit_intercept))
            res = minimize(
                rooted_logistic_objective,
                x0,
                args=(X, yb, k, C, self.fit_intercept),
                jac=True,
                method="L-BFGS-B",
                options={
                    "maxiter": int(self.max_iter),
                    "gtol": float(self.tol),
                    "ftol": 64 * np.finfo(float).eps,
                    "maxls": 50,
                },
            )
            if res.status != 0:
                warnings.warn(
                    f"RootedLogisticRegression: L-BFGS-B did not converge ({res.message}); "
                    "increase max_iter or scale the data",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            params = res.x
            coefs.append(params[:n_features])
            intercepts.append(params[n_features] if self.fit_intercept else 0.0)
            iters.append(int(res.nit))
        self.coef_ = np.asarray(coefs, dtype=np.float64)
        self.intercept_ = np.asarray(intercepts, dtype=np.float64)
        self.n_iter_ = np.asarray(iters, dtype=np.int32)
        return self

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Signed scores: ``(n_samples,)`` for two classes, ``(n_samples, n_classes)`` otherwise."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> NDArray[Any]:
        """Predicted class labels."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]
