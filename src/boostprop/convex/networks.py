"""Threshold networks built from a convex (group) Lasso solution, and their weight-decay objective.

Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural Networks with Threshold
Activation Functions", ICLR 2023 (arXiv:2303.03382). A two-layer threshold network
f(x) = sum_j s_j 1{x w_j + b_j >= 0} a_j with weight decay beta/2 sum_j (s_j^2 + ||a_j||^2) is, by
AM-GM (s^2 + ||a||^2 >= 2 s ||a||), the Lasso over arrangement patterns; a Lasso solution C gives
the network with one neuron per non-zero row c_i: direction u_i, s = sqrt(||c_i||), a = c_i / s.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .arrangements import Patterns
from .lasso import LassoResult

__all__ = ["ThresholdNetwork", "network_objective"]


class ThresholdNetwork(nn.Module):
    """Linear -> amplitude-scaled threshold s * 1{z >= 0} -> Linear (no output bias).

    Args:
        in_features: d.
        width: number of hidden threshold units m.
        out_features: C (outputs are squeezed to (n,) when ``squeeze_output`` and C == 1).
        squeeze_output: return (n,) for a single output.

    Example:
        >>> net = ThresholdNetwork(3, 4, 1)
        >>> net(torch.zeros(5, 3, dtype=torch.float64)).shape
        torch.Size([5])
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        out_features: int = 1,
        *,
        squeeze_output: bool = True,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not isinstance(width, int) or width < 0:
            raise ValueError(f"width must be a non-negative int, got {width!r}")
        kw: dict[str, Any] = {"dtype": dtype, "device": device}
        self.hidden = nn.Linear(in_features, width, bias=True, **kw)
        self.amplitude = nn.Parameter(torch.ones(width, **kw))
        self.output = nn.Linear(width, out_features, bias=False, **kw)
        self.squeeze_output = squeeze_output

    @property
    def width(self) -> int:
        """Number of hidden threshold units."""
        return int(self.amplitude.shape[0])

    def hidden_patterns(self, x: torch.Tensor) -> torch.Tensor:
        """The (n, m) 0/1 activations 1{x W^T + b >= 0}, computed as [x, 1] @ [W, b]^T."""
        Wb = torch.cat([self.hidden.weight, self.hidden.bias[:, None]], dim=1)
        xa = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], dim=1)
        return (xa @ Wb.T >= 0).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs for ``x`` of shape (n, d): shape (n,) when squeezed, else (n, outputs)."""
        h = self.hidden_patterns(x) * self.amplitude
        out = self.output(h)
        if self.squeeze_output and out.shape[1] == 1:
            return out[:, 0]
        return out

    @classmethod
    def from_lasso(
        cls, patterns: Patterns, result: LassoResult | torch.Tensor, *, tol: float | None = None
    ) -> ThresholdNetwork:
        """Build the network of a Lasso solution: one neuron per non-zero row of the coefficients.

        Its outputs on the training data equal ``patterns.H @ coef`` (exactly for the torch
        solvers, whose zeros are exact; for cvxpy up to the sum of the dropped rows' norms, each
        at most ``result.zero_tol``), and its weight-decay objective (``network_objective``)
        equals the Lasso objective of the kept rows.

        Args:
            patterns: the dictionary the Lasso was solved over.
            result: a ``LassoResult`` or the coefficient tensor (P,) / (P, C).
            tol: rows with norm <= tol are dropped. None: the result's ``zero_tol`` (zero to the
                solver's accuracy; 0 for the torch solvers) for a ``LassoResult``, 0 (every
                non-zero row) for a tensor.

        Example:
            >>> X = torch.randn(20, 2, dtype=torch.float64)
            >>> pat = sample_patterns(X, 30, seed=0)  # doctest: +SKIP
            >>> net = ThresholdNetwork.from_lasso(pat, solve_lasso(pat.H, y, 0.1))  # doctest: +SKIP
        """
        if not isinstance(patterns, Patterns):
            raise TypeError(f"patterns must be a Patterns, got {type(patterns).__name__}")
        coef = result.coef if isinstance(result, LassoResult) else result
        if not isinstance(coef, torch.Tensor):
            raise TypeError("result must be a LassoResult or a torch.Tensor of coefficients")
        if tol is None:
            tol = result.zero_tol if isinstance(result, LassoResult) else 0.0
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
            raise ValueError(f"tol must be a non-negative float or None, got {tol!r}")
        vector = coef.ndim == 1
        C = coef[:, None] if vector else coef
        if C.shape[0] != patterns.n_patterns:
            raise ValueError(
                f"coefficients have {C.shape[0]} rows but patterns has {patterns.n_patterns} columns"
            )
        U = patterns.directions.to(C.dtype)
        norms = torch.linalg.vector_norm(C, dim=1)
        keep = torch.nonzero(norms > tol).flatten()
        d = U.shape[0] - (1 if patterns.bias else 0)
        net = cls(d, int(keep.numel()), C.shape[1], dtype=C.dtype, device=C.device)
        with torch.no_grad():
            Uk = U[:, keep]
            net.hidden.weight.copy_(Uk[:d].T)
            if patterns.bias:
                net.hidden.bias.copy_(Uk[d])
            else:
                net.hidden.bias.zero_()
            s = torch.sqrt(norms[keep])
            net.amplitude.copy_(s)
            net.output.weight.copy_((C[keep] / s[:, None]).T)
        net.squeeze_output = vector
        return net


def network_objective(
    net: nn.Module,
    X: torch.Tensor,
    Y: torch.Tensor,
    beta: float,
    *,
    rebalance: bool = False,
) -> float:
    """Weight-decay objective 1/2 ||f(X) - Y||^2 + beta/2 sum_j (s_j^2 + ||a_j||^2) of a network.

    ``net`` must have a last hidden layer with amplitudes ``net.amplitude`` (m,) and output weights
    ``net.output.weight`` (C, m) (``ThresholdNetwork``, ``STENetwork``). With ``rebalance=True``
    each unit's (s_j, a_j) is replaced by the rescaling with the least decay that computes the
    same function, beta * sum_j |s_j| ||a_j|| (the AM-GM bound): the infimum of the objective over
    networks that compute f by rescaling.

    Example:
        >>> net = ThresholdNetwork(2, 3, 1)
        >>> network_objective(net, torch.zeros(4, 2, dtype=torch.float64),
        ...                   torch.zeros(4, dtype=torch.float64), 0.1) >= 0
        True
    """
    if not (isinstance(beta, (int, float)) and beta >= 0):
        raise ValueError(f"beta must be a non-negative float, got {beta!r}")
    amp = getattr(net, "amplitude", None)
    out = getattr(net, "output", None)
    if not isinstance(amp, torch.Tensor) or not isinstance(out, nn.Linear):
        raise TypeError("net must have an `amplitude` parameter and an `output` nn.Linear layer")
    with torch.no_grad():
        f = net(X)
        Yt = Y.to(f.dtype)
        if f.ndim == 1 and Yt.ndim == 2 and Yt.shape[1] == 1:
            Yt = Yt[:, 0]
        if f.shape != Yt.shape:
            raise ValueError(
                f"Y has shape {tuple(Y.shape)} but the network outputs {tuple(f.shape)}"
            )
        fit = 0.5 * float(((f - Yt) ** 2).sum())
        a = out.weight  # (C, m)
        if rebalance:
            reg = float((amp.abs() * torch.linalg.vector_norm(a, dim=0)).sum())
        else:
            reg = 0.5 * float((amp**2).sum() + (a**2).sum())
        if out.bias is not None:
            raise ValueError("network_objective expects an output layer without bias")
    return fit + beta * reg
