"""Straight-through-estimator (STE) baselines for threshold networks.

The non-convex baselines of Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural
Networks with Threshold Activation Functions", ICLR 2023 (arXiv:2303.03382): forward 1{z > 0}, and a
surrogate backward - identity (STE), ReLU (zero where z < 0), leaky ReLU (x0.01 where z < 0) or
clipped ReLU (zero where z < 0 or z > 1; the BNN estimator of Courbariaux/Hubara et al.). Trained
full-batch with SGD (lr 0.01, 2000 epochs) and ReduceLROnPlateau(0.5) on the training loss, as the
paper's code does; ``objective="convex"`` trains instead on exactly the convex problem's objective
1/2 ||f(X) - y||^2 + beta/2 sum_j (s_j^2 + ||a_j||^2) (trainable amplitudes s on the last hidden layer),
so the final objectives are comparable with the Lasso optimum via ``network_objective``.

The official Figure 2 networks (pilancilab/Threshold-networks, ``modelsnew.py``) are three-layer,
of hidden widths (1000, n), with no biases at all: ``STENetwork(d + 1, (1000, n), bias=False)`` on
inputs [X, 1] (the column of ones then carries the first-layer bias, as in that code).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from boostprop._threads import one_thread_if

__all__ = ["STENetwork", "STEResult", "ste_threshold", "train_ste"]

Variant = Literal["identity", "relu", "leaky_relu", "clipped_relu"]
_VARIANTS = ("identity", "relu", "leaky_relu", "clipped_relu")


class _STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, variant: str) -> torch.Tensor:
        ctx.save_for_backward(z)
        ctx.variant = variant
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (z,) = ctx.saved_tensors
        v = ctx.variant
        if v == "identity":
            return g, None
        if v == "relu":
            return g * (z >= 0).to(g.dtype), None
        if v == "leaky_relu":
            return g * torch.where(z < 0, 0.01, 1.0).to(g.dtype), None
        return g * ((z >= 0) & (z <= 1)).to(g.dtype), None


def ste_threshold(z: torch.Tensor, variant: Variant = "identity") -> torch.Tensor:
    """Forward 1{z > 0}; backward by the chosen straight-through surrogate.

    Example:
        >>> ste_threshold(torch.tensor([-1.0, 2.0]), "relu")
        tensor([0., 1.])
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
    out: torch.Tensor = _STE.apply(z, variant)
    return out


def _hidden_widths(width: int | Sequence[int], depth: int | None) -> tuple[tuple[int, ...], int]:
    """The hidden widths and the depth of an STE network from ``width`` and ``depth``."""
    if isinstance(width, bool) or not isinstance(width, (int, Sequence)):
        raise TypeError(f"width must be an int or a sequence of ints, got {type(width).__name__}")
    if isinstance(width, int):
        depth = 2 if depth is None else depth
        if depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3, got {depth!r}")
        widths: tuple[int, ...] = (width,) * (depth - 1)
    else:
        widths = tuple(width)
        if depth is None:
            depth = len(widths) + 1
        if depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3, got {depth!r}")
        if len(widths) != depth - 1:
            raise ValueError(
                f"width must list {depth - 1} hidden width(s) for depth {depth}, got {widths!r}"
            )
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"width must be positive int(s), got {width!r}")
    return widths, depth


class STENetwork(nn.Module):
    """Threshold MLP of depth 2 or 3 trained with an STE; last hidden layer has amplitudes.

    f(x) = (1{... 1{x W1^T + b1 > 0} ... > 0} * s) A^T: threshold units forward, the variant's
    surrogate backward; the amplitudes ``s`` of the last hidden layer are trainable under the
    "convex" objective of ``train_ste`` and fixed at 1 under the "paper" one.

    Args:
        in_features: d (d + 1 when a column of ones is appended to carry the bias, as the official
            code does).
        width: hidden width (the same for every hidden layer) or the hidden widths, e.g.
            ``(1000, n)`` for the official three-layer networks.
        out_features: C.
        depth: 2 or 3 (None: 2 for an int ``width``, ``len(width) + 1`` for a sequence).
        variant: the STE surrogate ("identity", "relu", "leaky_relu", "clipped_relu").
        dtype: parameter dtype.
        squeeze_output: return (n,) for a single output.
        bias: hidden layers with biases (True) or none at all (False, the official code's
            networks). The output layer never has a bias.

    Example:
        >>> net = STENetwork(3, 8, 1, depth=3, variant="relu")
        >>> net(torch.zeros(4, 3, dtype=torch.float64)).shape
        torch.Size([4])
        >>> paper = STENetwork(21, (1000, 100), bias=False)
        >>> paper.widths, paper.depth, [n for n, _ in paper.named_parameters() if "bias" in n]
        ((1000, 100), 3, [])
    """

    def __init__(
        self,
        in_features: int,
        width: int | Sequence[int],
        out_features: int = 1,
        *,
        depth: int | None = None,
        variant: Variant = "identity",
        dtype: torch.dtype = torch.float64,
        squeeze_output: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        widths, depth = _hidden_widths(width, depth)
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
        self.variant = variant
        self.depth = depth
        self.widths = widths
        self.bias = bias
        sizes = (in_features, *widths)
        self.hidden_layers = nn.ModuleList(
            nn.Linear(a, b, bias=bias, dtype=dtype) for a, b in itertools.pairwise(sizes)
        )
        self.amplitude = nn.Parameter(torch.ones(widths[-1], dtype=dtype))
        self.output = nn.Linear(widths[-1], out_features, bias=False, dtype=dtype)
        self.squeeze_output = squeeze_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Threshold units forward, the STE variant's surrogate gradient backward."""
        h = x
        for layer in self.hidden_layers:
            h = ste_threshold(layer(h), self.variant)
        out = self.output(h * self.amplitude)
        if self.squeeze_output and out.shape[1] == 1:
            return out[:, 0]
        return out


@dataclass
class STEResult:
    """A trained STE network and its per-epoch history (seconds are cumulative training time)."""

    network: STENetwork
    objective: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    @property
    def final_objective(self) -> float:
        """Training objective after the last epoch."""
        return self.objective[-1] if self.objective else float("nan")


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    if out.ndim == 1:
        pred = torch.where(out >= 0, 1.0, -1.0).to(y.dtype)
        return float((pred == y).to(torch.float64).mean())
    return float((out.argmax(1) == y.argmax(1)).to(torch.float64).mean())


def train_ste(
    X: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    variant: Variant = "identity",
    depth: int | None = None,
    width: int | Sequence[int] = 100,
    bias: bool = True,
    epochs: int = 2000,
    lr: float = 0.01,
    beta: float = 1e-3,
    objective: Literal["paper", "convex"] = "paper",
    seed: int = 0,
    X_test: torch.Tensor | np.ndarray | None = None,
    y_test: torch.Tensor | np.ndarray | None = None,
    init: STENetwork | None = None,
) -> STEResult:
    """Train a threshold network with a straight-through estimator, full batch, SGD + plateau LR.

    Targets: (n,) with +-1 labels (accuracy by sign) or (n, C) one-hot/+-1 (accuracy by argmax).
    ``width``, ``depth`` and ``bias`` are those of ``STENetwork``: by default every hidden layer
    has a bias (the bias column of the convex formulation); ``bias=False`` with ``width=(1000, n)``
    on inputs [X, 1] is the official Figure 2 network (no biases; the column of ones carries the
    first-layer bias).

    Objectives (evaluated each epoch before the step, recorded in ``objective``):
      * "paper": mean((f - y)^2)/2 + beta (||W1||_F + ||W2||_F) / (2 n), the official code's loss
        (unsquared norms; W2 is the output layer for depth 2, the second hidden layer for depth 3).
      * "convex": 1/2 ||f - y||^2 + beta/2 (||s||^2 + ||A||_F^2), the convex problem's objective
        (= ``network_objective``), so it is comparable with the Lasso optimum. It is a sum over
        the n samples, so the step is taken on it divided by n (same minimiser): ``lr`` keeps the
        meaning it has for the per-sample-mean "paper" loss (the paper's lr 0.01 works for both).

    Example:
        >>> X = torch.randn(20, 2, dtype=torch.float64)
        >>> res = train_ste(X, torch.sign(X[:, 0]), epochs=5, width=8)
        >>> len(res.objective)
        5
    """
    Xt = torch.as_tensor(np.asarray(X, np.float64)) if not isinstance(X, torch.Tensor) else X
    yt = torch.as_tensor(np.asarray(y, np.float64)) if not isinstance(y, torch.Tensor) else y
    if Xt.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {tuple(Xt.shape)}")
    if yt.shape[0] != Xt.shape[0] or yt.ndim not in (1, 2):
        raise ValueError(f"y must have shape (n,) or (n, C) with n={Xt.shape[0]}")
    if objective not in ("paper", "convex"):
        raise ValueError(f"objective must be 'paper' or 'convex', got {objective!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    dtype = Xt.dtype if torch.is_floating_point(Xt) else torch.float64
    Xt = Xt.to(dtype)
    yt = yt.to(dtype=dtype, device=Xt.device)
    n = Xt.shape[0]
    C = 1 if yt.ndim == 1 else yt.shape[1]
    torch.manual_seed(seed)
    if init is not None:
        net = init
    else:
        net = STENetwork(
            Xt.shape[1], width, C, depth=depth, variant=variant, dtype=dtype, bias=bias
        )
        net.to(Xt.device)
    if objective == "paper":
        net.amplitude.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, eps=1e-12)
    res = STEResult(net)
    Xte = yte = None
    if X_test is not None and y_test is not None:
        Xte = torch.as_tensor(np.asarray(X_test, np.float64)).to(dtype=dtype, device=Xt.device)
        yte = torch.as_tensor(np.asarray(y_test, np.float64)).to(dtype=dtype, device=Xt.device)
    elapsed = 0.0
    second = net.hidden_layers[1] if net.depth == 3 else net.output
    # tiny full-batch problems: one intra-op thread (see boostprop._threads)
    with one_thread_if(Xt.device.type == "cpu" and n * sum(net.widths) < 2_000_000):
        for _ in range(epochs):
            t0 = time.perf_counter()
            opt.zero_grad()
            out = net(Xt)
            if objective == "paper":
                loss = ((out - yt) ** 2).mean() / 2 + beta * (
                    torch.linalg.norm(net.hidden_layers[0].weight)
                    + torch.linalg.norm(second.weight)
                ) / (2 * n)
            else:
                loss = 0.5 * ((out - yt) ** 2).sum() + 0.5 * beta * (
                    (net.amplitude**2).sum() + (net.output.weight**2).sum()
                )
            (loss / n if objective == "convex" else loss).backward()
            opt.step()
            sched.step(loss.item())
            elapsed += time.perf_counter() - t0
            res.objective.append(loss.item())
            res.seconds.append(elapsed)
            with torch.no_grad():
                res.train_accuracy.append(_accuracy(out.detach(), yt))
                if Xte is not None and yte is not None:
                    res.test_accuracy.append(_accuracy(net(Xte), yte))
    return res
