"""Hyperplane-arrangement patterns 1{X u >= 0}: the dictionary of the convex threshold-network Lasso.

Ergen, Gulluk, Lacotte, Pilanci, "Globally Optimal Training of Neural Networks with Threshold
Activation Functions", ICLR 2023 (arXiv:2303.03382). A two-layer threshold network is a Lasso over
the matrix ``H = [1{X u_i >= 0}]_i`` of all distinct arrangement patterns of the data. This module
samples such patterns (Gaussian directions) or enumerates all of them exactly in low dimension.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["Patterns", "augment", "count_bound", "enumerate_patterns", "sample_patterns"]


@dataclass(frozen=True)
class Patterns:
    """A dictionary of arrangement patterns and the directions that generate them.

    Attributes:
        H: (n, P) float tensor of 0/1, column ``i`` is ``1{X_aug @ directions[:, i] >= 0}``.
        directions: (d + 1, P) tensor if ``bias`` else (d, P); the first-layer weights (bias last).
        bias: whether a column of ones was appended to ``X`` (the last row of ``directions`` is then
            the first-layer bias).
    """

    H: torch.Tensor
    directions: torch.Tensor
    bias: bool = True

    @property
    def n_patterns(self) -> int:
        """Number of (distinct) patterns P."""
        return int(self.H.shape[1])


def _as_tensor(X: Any, name: str = "X", dtype: torch.dtype | None = None) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        t = X
    elif isinstance(X, (np.ndarray, list, tuple)):
        t = torch.as_tensor(np.asarray(X, dtype=np.float64))
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(X).__name__}")
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {tuple(t.shape)}")
    if not torch.is_floating_point(t):
        t = t.to(torch.float64)
    if dtype is not None:
        t = t.to(dtype)
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def augment(X: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """Append a column of ones to ``X`` when ``bias`` (the first-layer bias coordinate).

    Example:
        >>> augment(torch.zeros(3, 2)).shape
        torch.Size([3, 3])
    """
    if not bias:
        return X
    return torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)], dim=1)


def _dedupe_columns(H: torch.Tensor, U: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove duplicate and all-zero columns of the 0/1 matrix H (keeping first occurrences)."""
    Hb = H.to(torch.uint8).T.contiguous().cpu().numpy()
    nonzero = np.asarray(Hb.any(axis=1), dtype=bool)
    packed = np.packbits(Hb, axis=1)
    _, first = np.unique(packed, axis=0, return_index=True)
    keep = np.sort(first)
    keep = keep[nonzero[keep]]
    idx = torch.as_tensor(keep, dtype=torch.long, device=H.device)
    return H[:, idx], U[:, idx]


def sample_patterns(
    X: torch.Tensor | np.ndarray,
    n_patterns: int,
    *,
    seed: int,
    bias: bool = True,
    dtype: torch.dtype = torch.float64,
) -> Patterns:
    """Sample arrangement patterns ``1{X_aug u >= 0}`` with Gaussian directions ``u ~ N(0, I)``.

    Duplicate and all-zero patterns are removed (so at most ``n_patterns`` columns are returned),
    each kept pattern with the direction that generated it. Standardise the features first so
    that the bias coordinate matters.

    Args:
        X: (n, d) data.
        n_patterns: number of directions drawn (P before de-duplication).
        seed: seed of the direction generator.
        bias: append a column of ones (the first-layer bias).
        dtype: floating dtype of ``H`` and ``directions``.

    Example:
        >>> p = sample_patterns(torch.randn(10, 2), 50, seed=0)
        >>> p.H.shape[0], p.directions.shape[0]
        (10, 3)
    """
    Xt = _as_tensor(X, dtype=dtype)
    if isinstance(n_patterns, bool) or not isinstance(n_patterns, (int, np.integer)):
        raise TypeError(f"n_patterns must be an int, got {type(n_patterns).__name__}")
    if n_patterns < 1:
        raise ValueError(f"n_patterns must be >= 1, got {n_patterns}")
    Xa = augment(Xt, bias)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    U = torch.randn(Xa.shape[1], int(n_patterns), generator=gen, dtype=dtype).to(Xa.device)
    H = (Xa @ U >= 0).to(dtype)
    H, U = _dedupe_columns(H, U)
    return Patterns(H=H, directions=U, bias=bias)


def count_bound(n: int, rank: int) -> int:
    """Number of regions of a generic central arrangement of n hyperplanes in R^rank (Cover 1965).

    ``2 * sum_{k < rank} C(n - 1, k)``: the number of distinct patterns for data in general position.

    Example:
        >>> count_bound(4, 2)
        8
    """
    return 2 * sum(math.comb(n - 1, k) for k in range(rank))


def enumerate_patterns(
    X: torch.Tensor | np.ndarray,
    *,
    bias: bool = True,
    max_patterns: int = 200_000,
    dtype: torch.dtype = torch.float64,
) -> Patterns:
    """Every distinct non-zero pattern ``1{X_aug u >= 0}`` of data in general position, exactly.

    Each cell of the central arrangement ``{u : x_i . u = 0}`` (in the row space of ``X_aug``, of
    dimension r) is a pointed cone with an extreme ray on the intersection of r - 1 hyperplanes;
    around each such ray all 2^(r-1) sign choices on those hyperplanes are cells. So the patterns
    are enumerated from C(n, r-1) rays, with a direction perturbed off each ray realising each
    pattern (the pattern returned is the one that direction produces). Costs
    O(C(n, r-1) 2^r n): for small low-rank data (e.g. d <= 3 with bias and n <= 200).

    Args:
        X: (n, d) data.
        bias: append a column of ones.
        max_patterns: raise ``ValueError`` when the general-position count
            ``count_bound(n, r)`` exceeds it.
        dtype: floating dtype of the outputs.

    Example:
        >>> p = enumerate_patterns(torch.randn(6, 1))
        >>> p.n_patterns  # 2 * (C(5,0) + C(5,1)) = 12 cells, minus the all-zero pattern
        11
    """
    Xt = _as_tensor(X, dtype=torch.float64)
    Xa = augment(Xt, bias).cpu().numpy()
    n = Xa.shape[0]
    # coordinates in the row space: Xa = Z @ Vr^T with Z = U S
    _, s, vt = np.linalg.svd(Xa, full_matrices=False)
    r = int((s > s[0] * 1e-10 * max(Xa.shape)).sum()) if s[0] > 0 else 0
    if r == 0:
        raise ValueError("X (with the bias column) has rank 0: there are no patterns to enumerate")
    bound = count_bound(n, r)
    if bound > max_patterns:
        raise ValueError(
            f"enumerate_patterns: data of n={n} points with rank {r} can have up to {bound} patterns,"
            f" more than max_patterns={max_patterns}; use sample_patterns or raise max_patterns"
        )
    n_rays = math.comb(n, r - 1)
    if n_rays * 2**r * n > 4e8:
        raise ValueError(
            f"enumerate_patterns: {n_rays} candidate rays for n={n}, rank {r} is too much work;"
            " use sample_patterns"
        )
    Vr = vt[:r].T  # (d+1, r)
    Z = Xa @ Vr  # (n, r)
    dirs: list[np.ndarray] = []
    if r == 1:
        dirs.append(np.array([[1.0], [-1.0]]))
    else:
        subsets = np.array(list(itertools.combinations(range(n), r - 1)), dtype=np.int64)
        signs = np.array(list(itertools.product([-1.0, 1.0], repeat=r - 1)))  # (2^(r-1), r-1)
        chunk = max(1, int(2e6 // (n * r)))
        for start in range(0, len(subsets), chunk):
            S = subsets[start : start + chunk]  # (m, r-1)
            ZS = Z[S]  # (m, r-1, r)
            # ray: null vector of ZS; dual basis W with ZS W = I
            _, _, vts = np.linalg.svd(ZS, full_matrices=True)
            ray = vts[:, -1, :]  # (m, r)
            W = np.linalg.pinv(ZS)  # (m, r, r-1)
            marg = np.abs(np.einsum("nr,mr->mn", Z, ray))  # (m, n)
            pert = np.abs(np.einsum("nr,mrk->mnk", Z, W)).sum(-1)  # (m, n)
            member = np.zeros_like(marg, dtype=bool)
            np.put_along_axis(member, S, True, axis=1)
            ratio = np.where(member | (pert <= 0), np.inf, marg / np.maximum(pert, 1e-300))
            eps = 0.5 * ratio.min(axis=1)
            eps = np.where(np.isfinite(eps) & (eps > 0), eps, 1e-8)
            off = np.einsum("mrk,sk->msr", W, signs) * eps[:, None, None]  # (m, 2^(r-1), r)
            for sgn in (1.0, -1.0):
                d = sgn * ray[:, None, :] + off
                dirs.append(d.reshape(-1, r))
    D = np.concatenate(dirs, axis=0)  # (K, r)
    Hb = Z @ D.T >= 0  # (n, K)
    packed = np.packbits(Hb.T, axis=1)
    _, first = np.unique(packed, axis=0, return_index=True)
    keep = np.sort(first)
    keep = keep[Hb[:, keep].any(axis=0)]
    H = torch.as_tensor(Hb[:, keep], dtype=dtype)
    U = torch.as_tensor(Vr @ D[keep].T, dtype=dtype)  # back to (d+1)-space directions
    dev = Xt.device if isinstance(X, torch.Tensor) else torch.device("cpu")
    return Patterns(H=H.to(dev), directions=U.to(dev), bias=bias)
