"""scikit-learn estimators for globally optimal (convex) threshold-network training.

Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural Networks with Threshold
Activation Functions", ICLR 2023 (arXiv:2303.03382). Depth 2: a (group) Lasso over sampled
arrangement patterns, solved to a certified duality gap, then the threshold network of its solution.
Depth 3: the closed form on a shattered dictionary behind a random first threshold layer.
Multi-class targets are one-hot and use the group Lasso (depth 2) or one closed form per class
(depth 3).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .arrangements import Patterns, augment, sample_patterns
from .deep import fit_three_layer
from .lasso import solve_lasso
from .networks import ThresholdNetwork

__all__ = ["ThresholdNetClassifier", "ThresholdNetRegressor"]


class _ThresholdNetBase(BaseEstimator):
    def __init__(
        self,
        depth: int = 2,
        n_patterns: int = 1000,
        beta: float = 1e-3,
        tol: float = 1e-6,
        max_iter: int | None = None,
        solver: str = "auto",
        second_layer: str = "pi",
        width: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.depth = depth
        self.n_patterns = n_patterns
        self.beta = beta
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.second_layer = second_layer
        self.width = width
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3, got {self.depth!r}")
        if not isinstance(self.n_patterns, (int, np.integer)) or self.n_patterns < 1:
            raise ValueError(f"n_patterns must be a positive int, got {self.n_patterns!r}")
        if not (isinstance(self.beta, (int, float)) and self.beta > 0):
            raise ValueError(f"beta must be a positive float, got {self.beta!r}")
        if self.solver not in ("auto", "ssnal", "fista", "cvxpy"):
            raise ValueError(
                f"solver must be 'auto', 'ssnal', 'fista' or 'cvxpy', got {self.solver!r}"
            )
        if self.second_layer not in ("pi", "svm"):
            raise ValueError(f"second_layer must be 'pi' or 'svm', got {self.second_layer!r}")

    def _standardise(self, X: np.ndarray, fit: bool) -> torch.Tensor:
        if fit:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        return torch.tensor((X - self.mean_) / self.scale_, dtype=torch.float64)

    def _fit_targets(self, X: np.ndarray, T: np.ndarray) -> None:
        """Fit the network to targets T (n,) or (n, C) on standardised X."""
        self._check_params()
        Xs = self._standardise(X, fit=True)
        n = Xs.shape[0]
        beta = float(self.beta) * n
        seed = 0 if self.random_state is None else int(self.random_state)
        Tt = torch.tensor(T, dtype=torch.float64)
        if self.depth == 2:
            pat = sample_patterns(Xs, int(self.n_patterns), seed=seed)
            pat = _with_all_ones(pat, Xs)
            backend: Literal["torch", "cvxpy"] = "cvxpy" if self.solver == "cvxpy" else "torch"
            method = cast(
                Literal["auto", "ssnal", "fista"],
                self.solver if self.solver in ("ssnal", "fista") else "auto",
            )
            res = solve_lasso(
                pat.H,
                Tt,
                beta,
                tol=self.tol,
                max_iter=self.max_iter,
                backend=backend,
                method=method,
            )
            net = ThresholdNetwork.from_lasso(pat, res)
            self.duality_gap_ = float(res.gap)
            self.objective_ = float(res.objective)
            self.n_iter_ = max(int(res.n_iter), 1)
            self.network_: torch.nn.Module = net
            self.n_neurons_ = net.width
        else:
            res3 = fit_three_layer(
                Xs,
                Tt,
                beta,
                width=self.width,
                second_layer=cast(Literal["pi", "svm"], self.second_layer),
                seed=seed,
            )
            self.network_ = res3.network
            self.duality_gap_ = 0.0  # closed form: exact over the complete dictionary
            self.objective_ = float(res3.objective)
            self.n_iter_ = 1
            self.n_neurons_ = res3.n_neurons
            self.exact_ = res3.exact

    def _raw_output(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        with torch.no_grad():
            out = self.network_(self._standardise(Xv, fit=False))
        return np.asarray(out.cpu().numpy(), dtype=np.float64)


def _with_all_ones(pat: Patterns, Xs: torch.Tensor) -> Patterns:
    """Add the all-ones pattern (the output bias; direction e_bias) if it was not drawn."""
    H = pat.H
    if bool((H == 1).all(dim=0).any()):
        return pat
    u = torch.zeros(pat.directions.shape[0], 1, dtype=H.dtype)
    u[-1, 0] = 1.0
    Xa = augment(Xs, pat.bias)
    h = (Xa @ u >= 0).to(H.dtype)
    return Patterns(torch.cat([H, h], dim=1), torch.cat([pat.directions, u], dim=1), pat.bias)


class ThresholdNetClassifier(ClassifierMixin, _ThresholdNetBase):
    """Threshold-network classifier trained to global optimality by convex optimisation.

    Binary: +-1 targets and the Lasso; multi-class: one-hot targets and the group Lasso (depth 2)
    or one closed form per class (depth 3). Decision: sign (binary) or argmax.

    Parameters:
        depth: 2 (Lasso over sampled patterns) or 3 (random first layer, closed form).
        n_patterns: directions drawn for the pattern dictionary (depth 2).
        beta: regularisation per sample: the Lasso uses beta * n_samples (the paper's 1e-3 n).
        tol: certified relative duality gap to reach (depth 2).
        max_iter: solver iteration cap (None: the solver's default).
        solver: "auto", "ssnal", "fista" (ours) or "cvxpy" (Clarabel reference).
        second_layer: depth 3: "pi" (min-norm least squares) or "svm".
        width: depth 3: width of the random first layer (None: ``default_width(n)`` =
            max(1000, 2 n)).
        random_state: seed of the pattern directions / random first layer.

    Fitted attributes: ``classes_``, ``network_`` (acts on standardised inputs
    ``(X - mean_) / scale_``), ``duality_gap_``, ``objective_``, ``n_neurons_``, ``n_iter_``.

    Example:
        >>> from sklearn.datasets import make_moons
        >>> X, y = make_moons(60, random_state=0)
        >>> ThresholdNetClassifier(n_patterns=200, random_state=0).fit(X, y).score(X, y) > 0.9
        True
    """

    def fit(self, X: Any, y: Any) -> ThresholdNetClassifier:
        """Fit to (X, y); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "ThresholdNetClassifier needs at least 2 classes; y has only one class:"
                f" {self.classes_[0]!r}"
            )
        if len(self.classes_) == 2:
            T = np.where(idx == 1, 1.0, -1.0)
        else:
            T = np.eye(len(self.classes_))[idx]
        self._fit_targets(X, T)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Network outputs: (n,) for two classes (positive means classes_[1]), else (n, C)."""
        return self._raw_output(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels."""
        out = self._raw_output(X)
        if out.ndim == 1:
            return np.asarray(self.classes_[(out >= 0).astype(int)])
        return np.asarray(self.classes_[out.argmax(axis=1)])


class ThresholdNetRegressor(RegressorMixin, _ThresholdNetBase):
    """Threshold-network regressor trained to global optimality by convex optimisation.

    Same parameters and fitted attributes as ``ThresholdNetClassifier`` (the Lasso fits y itself;
    the output bias is the all-ones pattern, always in the dictionary).

    Example:
        >>> X = np.linspace(-1, 1, 40)[:, None]
        >>> reg = ThresholdNetRegressor(n_patterns=100, random_state=0).fit(X, np.sin(3 * X[:, 0]))
        >>> reg.score(X, np.sin(3 * X[:, 0])) > 0.9
        True
    """

    def fit(self, X: Any, y: Any) -> ThresholdNetRegressor:
        """Fit to (X, y); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self._fit_targets(X, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values."""
        return self._raw_output(X)
