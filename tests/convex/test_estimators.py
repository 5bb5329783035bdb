"""scikit-learn estimators: the real check_estimator, and behaviour on small data sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_moons
from sklearn.utils.estimator_checks import check_estimator

from boostprop.convex import ThresholdNetClassifier, ThresholdNetRegressor, solve_lasso


@pytest.mark.parametrize(
    "est",
    [
        ThresholdNetClassifier(n_patterns=60, random_state=0),
        ThresholdNetRegressor(n_patterns=60, random_state=0),
        ThresholdNetClassifier(depth=3, random_state=0),
    ],
    ids=["clf2", "reg2", "clf3"],
)
def test_check_estimator(est: object) -> None:
    check_estimator(est)


def test_binary_and_multiclass_fit() -> None:
    X, y = make_moons(80, noise=0.1, random_state=0)
    clf = ThresholdNetClassifier(n_patterns=200, beta=1e-3, random_state=0).fit(X, y)
    assert clf.score(X, y) >= 0.95
    assert clf.duality_gap_ <= 1e-6
    assert clf.n_neurons_ == clf.network_.width > 0
    Xi, yi = load_iris(return_X_y=True)
    clf3 = ThresholdNetClassifier(n_patterns=200, random_state=0).fit(Xi, yi)
    assert clf3.decision_function(Xi).shape == (150, 3)
    assert clf3.score(Xi, yi) >= 0.95
    # the multi-class fit is the group Lasso on one-hot targets, with the objective it reports
    Xs = (Xi - clf3.mean_) / clf3.scale_
    import torch

    with torch.no_grad():
        out = clf3.network_(torch.tensor(Xs)).numpy()
    np.testing.assert_allclose(clf3.decision_function(Xi), out)
    assert clf3.objective_ == pytest.approx(
        0.5 * ((out - np.eye(3)[yi]) ** 2).sum()
        + 1e-3
        * 150
        * 0.5
        * 2
        * float(
            np.linalg.norm(clf3.network_.output.weight.detach().numpy(), axis=0)
            @ clf3.network_.amplitude.detach().numpy()
        ),
        rel=1e-9,
    )
    assert callable(solve_lasso)


def test_one_class_and_bad_params() -> None:
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match="one class"):
        ThresholdNetClassifier().fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="depth"):
        ThresholdNetRegressor(depth=4).fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="n_patterns"):
        ThresholdNetRegressor(n_patterns=0).fit(X, np.zeros(10))
