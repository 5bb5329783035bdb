"""Low-rank matrix completion: a synthetic, documented matrix in the setting of Candès and Recht,
"Exact Matrix Completion via Convex Optimization" (2009), used as the workload of the
matrix-factorisation experiment of Munoz, "Simple Linear Neuron Boosting" (arXiv:2502.01131,
2025).

Construction, for ``seed`` (default 0). ``SeedSequence([seed, 0x4D43]).spawn(3)`` gives three
streams: the first draws ``U`` (500, 8) then ``V`` (400, 8) with ``standard_normal``, and the
noiseless matrix is ``M = U Vᵀ / sqrt(8)`` (rank 8, entries of unit variance); the second draws the
noise ``E`` (500, 400), ``standard_normal`` times 0.1; the third picks 20% of the entries
(40,000, uniformly without replacement: ``choice(200000, 40000, replace=False)``, flat row-major
indices) and that order is the split: the first 80% train (32,000), the next 10% val (4,000), the
last 10% test (4,000). Observed values are ``M + E`` at those entries, rounded to float32.

A sample is one observed entry: ``x`` (N, 2) int64 ``(row, column)`` and ``y`` (N,) float32 its
value; the task is regression (mean squared error: predicting 0 scores about 1.01, the truth
``M`` scores about 0.01, the noise floor). The shape, rank and noise are in the registry's
``metadata``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_seed, check_split

__all__ = [
    "MATRIX_NOISE_STD",
    "MATRIX_OBSERVED_FRACTION",
    "MATRIX_RANK",
    "MATRIX_SHAPE",
    "load_matrix_completion",
    "low_rank_matrix",
]

MATRIX_SHAPE: tuple[int, int] = (500, 400)  #: (rows, columns)
MATRIX_RANK = 8
MATRIX_NOISE_STD = 0.1
MATRIX_OBSERVED_FRACTION = 0.2
_SALT = 0x4D43  # "MC"
_SPLIT_FRACTIONS = (0.8, 0.9)  # cumulative: train, val; test is the rest


@functools.lru_cache(maxsize=4)
def _make(seed: int) -> dict[str, np.ndarray]:
    rows, cols = MATRIX_SHAPE
    s_factors, s_noise, s_mask = np.random.SeedSequence([seed, _SALT]).spawn(3)
    rng = np.random.default_rng(s_factors)
    u = rng.standard_normal((rows, MATRIX_RANK))
    v = rng.standard_normal((cols, MATRIX_RANK))
    clean = u @ v.T / math.sqrt(MATRIX_RANK)
    noise = np.random.default_rng(s_noise).standard_normal((rows, cols)) * MATRIX_NOISE_STD
    n_obs = round(rows * cols * MATRIX_OBSERVED_FRACTION)
    order = np.random.default_rng(s_mask).choice(rows * cols, n_obs, replace=False)
    out = {"clean": clean, "noisy": clean + noise, "order": order}
    for arr in out.values():
        arr.flags.writeable = False
    return out


def low_rank_matrix(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full matrices of ``seed``: noiseless ``M`` and observed-value ``M + E`` (float64, 500 x
    400), and the observation mask (bool), for checking a completion against the truth.

    Example:
        >>> clean, noisy, mask = low_rank_matrix()
        >>> clean.shape, noisy.dtype, int(mask.sum())
        ((500, 400), dtype('float64'), 40000)
    """
    m = _make(check_seed(seed))
    mask = np.zeros(m["clean"].size, dtype=bool)
    mask[m["order"]] = True
    return m["clean"].copy(), m["noisy"].copy(), mask.reshape(MATRIX_SHAPE)


def load_matrix_completion(split: Split, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Observed entries of one split: ``x`` (N, 2) int64 (row, column), ``y`` (N,) float32.

    Example:
        >>> x, y = load_matrix_completion("val")
        >>> x.shape, x.dtype, y.shape, y.dtype
        (torch.Size([4000, 2]), torch.int64, torch.Size([4000]), torch.float32)
    """
    check_split(split)
    m = _make(check_seed(seed))
    order = m["order"]
    a, b = (round(len(order) * f) for f in _SPLIT_FRACTIONS)
    idx = {"train": order[:a], "val": order[a:b], "test": order[b:]}[split]
    rows, cols = np.divmod(idx, MATRIX_SHAPE[1])
    x = torch.from_numpy(np.stack([rows, cols], axis=1).astype(np.int64))
    y = torch.from_numpy(m["noisy"].reshape(-1)[idx].astype(np.float32))
    return x, y
