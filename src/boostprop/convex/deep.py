"""The three-layer convex method for threshold networks (closed form on a shattered dictionary).

Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural Networks with Threshold
Activation Functions", ICLR 2023 (arXiv:2303.03382), Section on deeper networks and the official code.

With a random, untrained first threshold layer of width >= n, X_hat = 1{X_aug U > 0} has full row
rank, so the second threshold layer can realise every one of the 2^n patterns; inner-layer weight
decay is vanishable, and the Lasso over the complete dictionary,
    min_c 1/2 ||H c - y||^2 + beta ||c||_1,  H = all 0/1 columns,
equals min_delta 1/2 ||delta - y||^2 + beta (||delta_+||_inf + ||delta_-||_inf), solved in closed form
by delta = clip(y, -b, a). The network: a staircase of nested indicators of delta (amplitudes = the
gaps between consecutive levels), each realised from X_hat by min-norm least squares ("pi", test
threshold 0.5) or a linear SVM ("svm"). Generalisation comes from the random first layer only.

The official Figure 2 code (pilancilab/Threshold-networks, ``convexnn.py``) uses a first layer of
width 1000 and, for "Convex-SVM", scikit-learn's ``SVC(kernel="linear", C=1)``:
``fit_three_layer(X, y, beta, width=1000, second_layer="svm", svm_solver="libsvm", svm_C=1.0)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

__all__ = [
    "ThreeLayerResult",
    "ThreeLayerThresholdNetwork",
    "default_width",
    "fit_three_layer",
    "shattered_lasso_closed_form",
]


def _level(v: np.ndarray, beta: float) -> float:
    """t >= 0 solving sum_i (v_i - t)_+ = beta for v >= 0 (t = 0 if sum v <= beta)."""
    if v.size == 0 or v.sum() <= beta:
        return 0.0
    s = np.sort(v)[::-1]
    cs = np.cumsum(s)
    k = np.arange(1, s.size + 1)
    t = (cs - beta) / k  # candidate level using the k largest entries
    nxt = np.append(s[1:], 0.0)
    ok = (t >= nxt) & (t <= s)
    idx = int(np.argmax(ok)) if ok.any() else int(s.size - 1)
    return float(max(t[idx], 0.0))


def shattered_lasso_closed_form(
    y: torch.Tensor | np.ndarray, beta: float
) -> tuple[np.ndarray, float]:
    """Closed-form fit delta and optimal value of the Lasso over the complete 0/1 dictionary.

    min_delta 1/2 ||delta - y||^2 + beta (max(delta_+) + max(delta_-)), delta = clip(y, -b, a) where
    sum_{y_i > a} (y_i - a) = beta (a = 0 if sum y_+ <= beta) and likewise b for the negatives.

    Example:
        >>> delta, val = shattered_lasso_closed_form(np.array([1.0, -1.0, 2.0]), 0.5)
        >>> delta.tolist()
        [1.0, -0.5, 1.5]
    """
    yv = np.asarray(y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y, np.float64)
    if yv.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {yv.shape}")
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta}")
    a = _level(np.maximum(yv, 0.0), beta)
    b = _level(np.maximum(-yv, 0.0), beta)
    delta = np.clip(yv, -b, a)
    val = 0.5 * float(((delta - yv) ** 2).sum()) + beta * (
        float(np.maximum(delta, 0).max(initial=0.0)) + float(np.maximum(-delta, 0).max(initial=0.0))
    )
    return delta, val


def _staircase(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns h_k (n, K) of nested indicators and amplitudes with sum_k amp_k h_k = delta."""
    cols: list[np.ndarray] = []
    amps: list[float] = []
    pos = np.unique(delta[delta > 0])
    prev = 0.0
    for v in pos:
        cols.append((delta >= v).astype(np.float64))
        amps.append(float(v - prev))
        prev = float(v)
    neg = np.unique(-delta[delta < 0])
    prev = 0.0
    for v in neg:
        cols.append((delta <= -v).astype(np.float64))
        amps.append(-float(v - prev))
        prev = float(v)
    if not cols:
        return np.zeros((delta.size, 0)), np.zeros(0)
    return np.stack(cols, axis=1), np.asarray(amps)


class ThreeLayerThresholdNetwork(nn.Module):
    """x -> 1{[x,1] U > 0} (random, fixed) -> 1{h W + b >= 0} -> amplitudes (C outputs).

    Example:
        >>> net = ThreeLayerThresholdNetwork(torch.randn(3, 8), torch.zeros(8, 2), torch.zeros(2),
        ...                                  torch.ones(2, 1))
        >>> net(torch.zeros(4, 2)).shape
        torch.Size([4])
    """

    def __init__(
        self,
        first: torch.Tensor,
        second_weight: torch.Tensor,
        second_bias: torch.Tensor,
        output_weight: torch.Tensor,
        squeeze_output: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("first", first)  # (d+1, m1), bias last
        self.second = nn.Linear(second_weight.shape[0], second_weight.shape[1], bias=True)
        self.second.to(dtype=second_weight.dtype, device=second_weight.device)
        self.output = nn.Linear(output_weight.shape[0], output_weight.shape[1], bias=False)
        self.output.to(dtype=output_weight.dtype, device=output_weight.device)
        # the staircase amplitudes live in the output layer; unit amplitudes for network_objective
        self.amplitude = nn.Parameter(
            torch.ones(second_weight.shape[1], dtype=second_weight.dtype), requires_grad=False
        )
        with torch.no_grad():
            self.second.weight.copy_(second_weight.T)
            self.second.bias.copy_(second_bias)
            self.output.weight.copy_(output_weight.T)
        self.squeeze_output = squeeze_output

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """X_hat = 1{[x, 1] U > 0}."""
        U: torch.Tensor = self.first  # type: ignore[assignment]
        xa = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], dim=1)
        return (xa @ U.to(x.dtype) > 0).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs for ``x`` of shape (n, d): shape (n,) when squeezed, else (n, outputs)."""
        h2 = (self.second(self.first_layer(x)) >= 0).to(x.dtype)
        out = self.output(h2)
        if self.squeeze_output and out.shape[1] == 1:
            return out[:, 0]
        return out


@dataclass
class ThreeLayerResult:
    """Fit of the three-layer convex method."""

    network: ThreeLayerThresholdNetwork
    delta: np.ndarray  # (n, C) closed-form fit on the training data
    objective: float  # sum over outputs of the closed-form Lasso values
    exact: bool  # the reconstructed network reproduces delta on the training data
    n_neurons: int
    width: int = 0  # width m1 of the random first layer


def fit_three_layer(
    X: torch.Tensor | np.ndarray,
    Y: torch.Tensor | np.ndarray,
    beta: float,
    *,
    width: int | None = None,
    second_layer: Literal["pi", "svm"] = "pi",
    seed: int = 0,
    svm_C: float = 1e6,
    svm_solver: Literal["liblinear", "libsvm"] = "liblinear",
) -> ThreeLayerResult:
    """Three-layer convex threshold network: closed-form delta, staircase, second layer by PI/SVM.

    Args:
        X: (n, d) training inputs (standardise them first).
        Y: (n,) or (n, C) targets; each output column gets its own closed form.
        beta: regularisation strength.
        width: first (random) layer width m1 (default ``default_width(n)`` = max(1000, 2 n): the
            official code's 1000, raised to 2 n where 1000 would not leave X_hat full row rank
            with margin; see docs/convex_threshold.md, "Paper protocol").
        second_layer: "pi" (min-norm least squares, threshold 0.5) or "svm" (one linear SVM per
            staircase column).
        seed: seed of the random first layer.
        svm_C: the SVMs' C (the default, large, is near hard-margin, to reproduce the columns
            exactly; the official code uses 1).
        svm_solver: "liblinear" (``LinearSVC``, hinge loss, dual; its intercept is regularised)
            or "libsvm" (``SVC(kernel="linear")``, the official code's; unregularised intercept).

    Example:
        >>> X = torch.randn(30, 2, dtype=torch.float64)
        >>> res = fit_three_layer(X, torch.sign(X[:, 0]), beta=0.1)
        >>> res.exact
        True
    """
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64)) if not isinstance(X, torch.Tensor) else X
    Xt = Xt.to(torch.float64)
    if Xt.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {tuple(Xt.shape)}")
    Yn = Y.detach().cpu().numpy() if isinstance(Y, torch.Tensor) else np.asarray(Y, np.float64)
    vector = Yn.ndim == 1
    Yn = Yn[:, None] if vector else Yn
    if Yn.shape[0] != Xt.shape[0]:
        raise ValueError(f"Y must have {Xt.shape[0]} rows, got {Yn.shape[0]}")
    if second_layer not in ("pi", "svm"):
        raise ValueError(f"second_layer must be 'pi' or 'svm', got {second_layer!r}")
    if svm_solver not in ("liblinear", "libsvm"):
        raise ValueError(f"svm_solver must be 'liblinear' or 'libsvm', got {svm_solver!r}")
    if not (isinstance(svm_C, (int, float)) and svm_C > 0):
        raise ValueError(f"svm_C must be a positive float, got {svm_C!r}")
    n, d = Xt.shape
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise ValueError(f"width must be a positive int or None, got {width!r}")
    m1 = width if width is not None else default_width(n)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    U = torch.randn(d + 1, m1, generator=gen, dtype=torch.float64)
    xa = torch.cat([Xt.cpu(), torch.ones(n, 1, dtype=torch.float64)], dim=1)
    Xh = (xa @ U > 0).to(torch.float64).numpy()  # (n, m1)
    deltas, cols_all, amps_all, outs = [], [], [], []
    total = 0.0
    for c in range(Yn.shape[1]):
        delta, val = shattered_lasso_closed_form(Yn[:, c], beta)
        total += val
        deltas.append(delta)
        cols, amps = _staircase(delta)
        cols_all.append(cols)
        amps_all.append(amps)
        outs.extend([c] * cols.shape[1])
    Hs = np.concatenate(cols_all, axis=1) if cols_all else np.zeros((n, 0))
    amps = np.concatenate(amps_all) if amps_all else np.zeros(0)
    K = Hs.shape[1]
    W2 = np.zeros((m1, K))
    b2 = np.zeros(K)
    if K:
        if second_layer == "pi":
            # min-norm least squares: X_hat W2 = Hs exactly when X_hat has full row rank
            W2 = (torch.linalg.pinv(torch.as_tensor(Xh)) @ torch.as_tensor(Hs)).numpy()
            b2 = -0.5 * np.ones(K)
        else:
            from sklearn.svm import SVC, LinearSVC

            for k in range(K):
                h = Hs[:, k]
                if h.min() == h.max():  # constant column: bias only
                    b2[k] = 1.0 if h[0] > 0 else -1.0
                    continue
                svm: SVC | LinearSVC
                if svm_solver == "libsvm":
                    svm = SVC(kernel="linear", C=svm_C)
                else:
                    svm = LinearSVC(C=svm_C, loss="hinge", max_iter=100_000, dual=True)
                svm.fit(Xh, h)
                W2[:, k] = svm.coef_[0]
                b2[k] = svm.intercept_[0]
    Wout = np.zeros((K, Yn.shape[1]))
    for k, (c, a) in enumerate(zip(outs, amps, strict=True)):
        Wout[k, c] = a
    net = ThreeLayerThresholdNetwork(
        U,
        torch.as_tensor(W2),
        torch.as_tensor(b2),
        torch.as_tensor(Wout),
        squeeze_output=vector,
    )
    D = np.stack(deltas, axis=1)
    with torch.no_grad():
        pred = net(Xt.cpu()).numpy()
    pred = pred[:, None] if pred.ndim == 1 else pred
    exact = bool(np.allclose(pred, D, rtol=1e-9, atol=1e-9))
    return ThreeLayerResult(net, D[:, 0] if vector else D, total, exact, K, m1)


def default_width(n: int) -> int:
    """Default width of the random first layer for n training samples: max(1000, 2 n).

    The official code's 1000 (its Figure 2 setting, measurably better than narrower layers: the
    min-norm second layer generalises better over more random features), raised to 2 n where
    1000 would not exceed n with margin, so that X_hat keeps full row rank (shattering).

    Example:
        >>> default_width(100), default_width(800)
        (1000, 1600)
    """
    return max(1000, 2 * int(n))
