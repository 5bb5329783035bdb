"""Arrangement patterns: exact enumeration vs Cover's count and brute-force sampling (Ergen 2023)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boostprop.convex import count_bound, enumerate_patterns, sample_patterns


def _set(H: torch.Tensor) -> set[bytes]:
    return {bytes(col) for col in H.T.to(torch.uint8).cpu().numpy()}


@pytest.mark.parametrize(("n", "d"), [(5, 1), (9, 2), (13, 2), (8, 3)])
def test_enumerate_counts_match_cover_and_brute_force(n: int, d: int) -> None:
    g = torch.Generator().manual_seed(n * 10 + d)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    pat = enumerate_patterns(X)
    # Cover (1965): a generic central arrangement of n hyperplanes in R^(d+1) has this many
    # regions; one of them is the all-zero pattern, which is dropped
    assert pat.n_patterns == count_bound(n, d + 1) - 1
    assert len(_set(pat.H)) == pat.n_patterns  # distinct
    # every brute-force (random direction) pattern is enumerated
    brute = sample_patterns(X, 20_000, seed=1)
    assert _set(brute.H) <= _set(pat.H)
    # each direction produces its pattern
    Xa = torch.cat([X, torch.ones(n, 1, dtype=X.dtype)], dim=1)
    assert torch.equal((Xa @ pat.directions >= 0).to(pat.H.dtype), pat.H)


def test_enumerate_tiny_exact_by_hand() -> None:
    # 1-D points 0 < 1 < 2 with bias: patterns are thresholds {x >= t} and {x <= t}
    X = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    got = _set(enumerate_patterns(X).H)
    expect = {
        bytes(np.array(p, dtype=np.uint8))
        for p in [(1, 1, 1), (0, 1, 1), (0, 0, 1), (1, 0, 0), (1, 1, 0)]
    }
    assert got == expect


def test_sample_patterns_dedupes_and_keeps_directions() -> None:
    X = torch.randn(6, 1, dtype=torch.float64)
    pat = sample_patterns(X, 500, seed=0)
    assert pat.H.shape[1] == pat.directions.shape[1] <= count_bound(6, 2) - 1
    assert len(_set(pat.H)) == pat.n_patterns
    Xa = torch.cat([X, torch.ones(6, 1, dtype=X.dtype)], dim=1)
    assert torch.equal((Xa @ pat.directions >= 0).to(pat.H.dtype), pat.H)
    assert bool(pat.H.any(dim=0).all())  # no all-zero column
    same = sample_patterns(X.numpy(), 500, seed=0)
    assert torch.equal(same.H, pat.H)


def test_errors() -> None:
    with pytest.raises(ValueError, match="max_patterns"):
        enumerate_patterns(torch.randn(200, 5, dtype=torch.float64), max_patterns=1000)
    with pytest.raises(ValueError, match="n_patterns"):
        sample_patterns(torch.randn(4, 2), 0, seed=0)
    with pytest.raises(ValueError, match="2-D"):
        sample_patterns(torch.randn(4), 3, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        sample_patterns(torch.tensor([[float("nan")]]), 3, seed=0)
    with pytest.raises(TypeError, match="X must be"):
        sample_patterns("abc", 3, seed=0)  # type: ignore[arg-type]
