"""Tests of boostprop.data.make_teacher against an independent numpy recomputation (Ergen 2023)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boostprop.data import make_teacher, teacher_weights


def _reference(
    split: str, n: int, d: int, width: int, seed: int, bias: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The documented recipe, written out: SeedSequence(seed).spawn(4) -> W's, train, val, test.

    With ``bias`` the official Figure 2 teacher: W1 is (d + 1, width) and acts on [x, 1]."""
    streams = np.random.SeedSequence(seed).spawn(4)
    g = np.random.default_rng(streams[0])
    w1 = g.uniform(-1, 1, size=(d + 1 if bias else d, width))
    w2 = g.uniform(-1, 1, size=(width, width))
    w3 = g.uniform(-1, 1, size=(width, 1))
    k = {"train": 1, "val": 2, "test": 3}[split]
    x = np.random.default_rng(streams[k]).standard_normal((n, d)).astype(np.float32)
    h = x.astype(np.float64)
    if bias:  # the closed form with the bias written out: x W1[:d] + W1[d]
        out = np.tanh(np.tanh(h @ w1[:d] + w1[d]) @ w2) @ w3
    else:
        out = np.tanh(np.tanh(h @ w1) @ w2) @ w3
    labels = np.where(np.sign(out[:, 0]) >= 0, 1, 0)  # sign(.) with sign(0) counted positive
    return x, labels


@pytest.mark.parametrize(
    ("split", "n", "d", "width", "seed"),
    [
        ("train", 100, 20, 20, 0),
        ("val", 100, 20, 20, 0),
        ("test", 2000, 20, 20, 0),
        ("train", 37, 5, 7, 11),
    ],
)
def test_matches_independent_recomputation(
    split: str, n: int, d: int, width: int, seed: int
) -> None:
    kwargs = {"n_train": n, "n_val": n, "n_test": n}
    x, y = make_teacher(split, d=d, width=width, seed=seed, **kwargs)  # type: ignore[arg-type]
    x_ref, y_ref = _reference(split, n, d, width, seed)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (n, d)  # no bias column
    np.testing.assert_array_equal(x.numpy(), x_ref)
    np.testing.assert_array_equal(y.numpy(), y_ref)
    assert 0 < y.sum() < n  # both classes occur


def test_weights_and_split_independence() -> None:
    w1, w2, w3 = teacher_weights(seed=2)
    assert w1.shape == (20, 20) and w2.shape == (20, 20) and w3.shape == (20, 1)
    assert np.all(np.abs(np.concatenate([w1.ravel(), w2.ravel(), w3.ravel()])) <= 1)
    a = make_teacher("train", seed=2)
    b = make_teacher("train", seed=2, n_test=10, n_val=3)  # other sizes don't move train
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    tr, va, te = (make_teacher(s, seed=2)[0] for s in ("train", "val", "test"))
    assert not torch.equal(tr, va) and not torch.equal(tr, te[:100])
    other = make_teacher("train", seed=3)
    assert not torch.equal(a[0], other[0])
    # labels are the teacher of seed 2 applied to the returned inputs
    out = np.tanh(np.tanh(a[0].double().numpy() @ w1) @ w2) @ w3
    np.testing.assert_array_equal(a[1].numpy(), (out[:, 0] >= 0).astype(np.int64))


@pytest.mark.parametrize(
    ("split", "n", "d", "width", "seed"),
    [("train", 100, 20, 20, 0), ("test", 2000, 20, 20, 0), ("val", 37, 5, 7, 11)],
)
def test_first_layer_bias_matches_independent_recomputation(
    split: str, n: int, d: int, width: int, seed: int
) -> None:
    kwargs = {"n_train": n, "n_val": n, "n_test": n}
    x, y = make_teacher(split, d=d, width=width, seed=seed, bias=True, **kwargs)  # type: ignore[arg-type]
    x_ref, y_ref = _reference(split, n, d, width, seed, bias=True)
    assert x.shape == (n, d)  # the column of ones is not returned
    np.testing.assert_array_equal(x.numpy(), x_ref)
    np.testing.assert_array_equal(y.numpy(), y_ref)
    assert 0 < y.sum() < n
    # the inputs are those of the bias-free teacher; the labels are not (the bias matters)
    x0, y0 = make_teacher(split, d=d, width=width, seed=seed, **kwargs)  # type: ignore[arg-type]
    assert torch.equal(x, x0)
    if n >= 100:
        assert not torch.equal(y, y0)


def test_bias_weights_shape_and_default_unchanged() -> None:
    w1b, w2b, w3b = teacher_weights(d=4, width=3, seed=5, bias=True)
    assert w1b.shape == (5, 3) and w2b.shape == (3, 3) and w3b.shape == (3, 1)
    w1, _, _ = teacher_weights(d=4, width=3, seed=5)
    assert w1.shape == (4, 3)
    # the stream draws W1 first, row-major: its first d rows are the bias-free W1
    np.testing.assert_array_equal(w1b[:4], w1)
    with pytest.raises(TypeError, match="bias"):
        make_teacher("train", bias=1)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="split"):
        make_teacher("all")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_train"):
        make_teacher("train", n_train=0)
    with pytest.raises(TypeError, match="width"):
        make_teacher("train", width=2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        make_teacher("train", seed=-3)
