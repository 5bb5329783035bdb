"""The synthetic teacher task of Ergen, Gulluk, Lacotte and Pilanci, "Globally Optimal Training of
Neural Networks with Threshold Activation Functions", ICLR 2023 (arXiv:2303.03382), Figure 2.

Inputs X ~ N(0, I_d); labels sign(tanh(tanh(X W1) W2) W3) with every entry of W1 (d x width),
W2 (width x width) and W3 (width x 1) drawn from U(-1, 1). With ``bias=True`` the teacher's first
layer has a bias, as in the official code (pilancilab/Threshold-networks, ``main.ipynb``, which
appends a column of ones to X before drawing W1 of shape (d + 1) x width): the labels are
sign(tanh(tanh([X, 1] W1) W2) W3), and the last row of W1 is the bias. The returned inputs never
contain the column of ones; the default ``bias=False`` is the bias-free teacher this module has
always served (same weights, inputs and labels as before).

Seeding (documented so results can be recomputed): ``SeedSequence(seed).spawn(4)`` gives four
streams; the first draws W1, W2, W3 in that order with ``default_rng(stream).uniform(-1, 1, shape)``;
the next three draw the train, val and test inputs with ``default_rng(stream).standard_normal((n, d))``.
The inputs are rounded to float32 and the labels computed from those rounded values in float64.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_seed, check_split

__all__ = ["make_teacher", "teacher_weights"]

_SPLIT_STREAM = {"train": 1, "val": 2, "test": 3}


def _check_pos(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def teacher_weights(
    *, d: int = 20, width: int = 20, seed: int = 0, bias: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The teacher's float64 weights (W1, W2 (width, width), W3 (width, 1)) for ``seed``.

    W1 has shape (d, width), or (d + 1, width) with ``bias=True`` (last row: the first-layer bias,
    acting on the column of ones of [x, 1]).

    Example:
        >>> w1, w2, w3 = teacher_weights(d=5, width=3)
        >>> w1.shape, w2.shape, w3.shape
        ((5, 3), (3, 3), (3, 1))
        >>> teacher_weights(d=5, width=3, bias=True)[0].shape
        (6, 3)
    """
    _check_pos(d, "d")
    _check_pos(width, "width")
    _check_bool(bias, "bias")
    stream = np.random.SeedSequence(check_seed(seed)).spawn(4)[0]
    rng = np.random.default_rng(stream)
    w1 = rng.uniform(-1.0, 1.0, (d + int(bias), width))
    w2 = rng.uniform(-1.0, 1.0, (width, width))
    w3 = rng.uniform(-1.0, 1.0, (width, 1))
    return w1, w2, w3


def make_teacher(
    split: Split,
    *,
    n_train: int = 100,
    n_val: int = 100,
    n_test: int = 2000,
    d: int = 20,
    width: int = 20,
    seed: int = 0,
    bias: bool = False,
) -> tuple[Tensor, Tensor]:
    """Draw a split of the Ergen et al. 2023 teacher task: x float32 (n, d), y int64 in {0, 1}.

    The teacher depends on ``seed`` (and ``d``, ``width``, ``bias``) only; each split's inputs come
    from their own stream, so changing ``n_test`` does not change the training set, and ``bias``
    changes the labels but not the inputs. Label 1 where the teacher output is >= 0. No bias column
    is appended to the returned x (with ``bias=True`` the teacher acts on [x, 1], as in the
    official Figure 2 code).

    Example:
        >>> x, y = make_teacher("train", seed=0)
        >>> tuple(x.shape), sorted(set(y.tolist()))
        ((100, 20), [0, 1])
        >>> tuple(make_teacher("train", seed=0, bias=True)[0].shape)
        (100, 20)
    """
    check_split(split)
    sizes = {
        "train": _check_pos(n_train, "n_train"),
        "val": _check_pos(n_val, "n_val"),
        "test": _check_pos(n_test, "n_test"),
    }
    w1, w2, w3 = teacher_weights(d=d, width=width, seed=seed, bias=bias)
    stream = np.random.SeedSequence(seed).spawn(4)[_SPLIT_STREAM[split]]
    x = np.random.default_rng(stream).standard_normal((sizes[split], d)).astype(np.float32)
    h = x.astype(np.float64)
    if bias:
        h = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
    out = np.tanh(np.tanh(h @ w1) @ w2) @ w3
    y = (out[:, 0] >= 0).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)
