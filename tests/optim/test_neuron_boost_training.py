"""NeuronBoost (Munoz 2025, arXiv:2502.01131) in real training loops: gradient accumulation,
parameter groups, mixed precision, ``torch.compile`` and robustness.

References are independent of the code under test: one batch instead of micro-batches, a float64
closed form, eager instead of compiled, a run without the skipped batch.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from boostprop.optim import NeuronBoost

DT = torch.float64


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 8),
        nn.LayerNorm(8),
        nn.Tanh(),
        nn.Linear(8, 3),
    ).to(DT)


def _batches(n: int, size: int, seed: int = 1) -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(size, 1, 7, 7, generator=g, dtype=DT) + 0.3,
            torch.randint(0, 3, (size,), generator=g),
        )
        for _ in range(n)
    ]


# --------------------------------------------------------------------------- accumulation
@pytest.mark.parametrize("zero_first", [False, True])
def test_accumulated_micro_batches_equal_one_batch(zero_first):
    """k micro-batches (loss / k each, one step) take the step of the concatenated batch, over
    several steps (both zero_grad placements: before the forwards or after the step)."""
    k, size = 4, 16
    data = _batches(3, size)
    kw = dict(lr=0.3, cg_iters=3, grad_clip=2.0)
    ref = _net()
    opt = NeuronBoost(ref, **kw)
    for xb, yb in data:
        F.cross_entropy(ref(xb), yb).backward()
        opt.step()
        opt.zero_grad()
    acc = _net()
    opt = NeuronBoost(acc, **kw)
    for xb, yb in data:
        if zero_first:
            opt.zero_grad()
        for xm, ym in zip(xb.chunk(k), yb.chunk(k), strict=True):
            (F.cross_entropy(acc(xm), ym) / k).backward()
        opt.step()
        if not zero_first:
            opt.zero_grad()
    for a, b in zip(acc.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert any(
        not torch.allclose(a, b) for a, b in zip(ref.parameters(), _net().parameters(), strict=True)
    )


def test_zero_grad_forgets_forwards_of_discarded_gradients():
    data = _batches(2, 8)
    ref = _net()
    opt = NeuronBoost(ref, lr=0.3)
    F.cross_entropy(ref(data[1][0]), data[1][1]).backward()
    opt.step()
    net = _net()
    opt = NeuronBoost(net, lr=0.3)
    F.cross_entropy(net(data[0][0]), data[0][1]).backward()  # discarded
    opt.zero_grad()
    F.cross_entropy(net(data[1][0]), data[1][1]).backward()
    opt.step()
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
