"""NeuronBoost in data-parallel training (Munoz 2025, arXiv:2502.01131).

Two gloo processes on CPU, each holding half of every batch, must take the same steps as one
process holding the concatenated batch (the independent reference), to float32 round-off.
Gradients are averaged across ranks with one ``all_reduce`` per step, which is what
``DistributedDataParallel`` does during ``backward()``; the wrapper itself is not used because
its construction imports ``torch._dynamo`` (≈ 7 s per process on the shared 2-core machine).
Everything NeuronBoost reduces itself (input moments, every ``Â·v`` product) is exercised.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from _dist import WORLD, gloo_group, run_two_ranks
from torch import nn

from boostprop.optim import NeuronBoost
from boostprop.optim._linear_ops import Neuron

STEPS = 4
ACC_STEPS = 2  # then steps with two accumulated micro-batches per rank (DDP's no_sync)


def _model() -> nn.Module:
    torch.manual_seed(0)
    # Linear(16, 16) at 40 samples takes the Gram path, Linear(64, 16) the matrix-free one.
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 16),
        nn.LayerNorm(16),
        nn.Tanh(),
        nn.Linear(16, 16),
        nn.Tanh(),
        nn.Linear(16, 3),
    )


def _data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [
        (torch.randn(40, 1, 8, 8, generator=g) + 0.5, torch.randint(0, 3, (40,), generator=g))
        for _ in range(STEPS + ACC_STEPS)
    ]


def _train(
    model: nn.Module, opt: NeuronBoost, batches, rank: int, world: int, acc_from: int | None = None
) -> list[list]:
    """From step ``acc_from`` on, each rank accumulates two micro-batches (loss / 2 each) and
    the gradients are averaged only after the second, as under DDP's ``no_sync()``."""
    traj = []
    for t, (xb, yb) in enumerate(batches):
        n = xb.shape[0] // world
        sl = slice(rank * n, (rank + 1) * n)
        micro = 2 if acc_from is not None and t >= acc_from else 1
        for xm, ym in zip(xb[sl].chunk(micro), yb[sl].chunk(micro), strict=True):
            (F.cross_entropy(model(xm), ym) / micro).backward()
        if world > 1:  # DDP's gradient averaging
            grads = [p.grad for p in model.parameters()]
            flat = torch.cat([g.reshape(-1) for g in grads]) / world
            dist.all_reduce(flat)
            torch.nn.utils.vector_to_parameters(flat, grads)
        opt.step()
        opt.zero_grad()
        traj.append([p.detach().clone() for p in opt.param_groups[0]["params"]])
    return traj


def _run_rank(rank: int, port: int) -> list[list]:
    with gloo_group(rank, port):
        model = _model()  # same initialisation on every rank (DDP would broadcast rank 0's)
        opt = NeuronBoost(model, lr=0.3, cg_iters=2, grad_clip=5.0)
        return _train(model, opt, _data(), rank, WORLD, acc_from=STEPS)


def test_ddp_two_processes_match_single_process_on_concatenated_batch():
    """Also with gradient accumulation under ``no_sync``: the last steps' two micro-batches per
    rank equal the single process's one batch."""
    model = _model()
    # both ways of applying Â are reduced across ranks: Gram (Linear 16→16) and matrix-free
    probes = [Neuron(module=m, name="", weight=m.weight, bias=m.bias) for m in (model[3], model[6])]
    assert [p.gram_is_cheaper(20, 3) for p in probes] == [False, True]
    ref = _train(model, NeuronBoost(model, lr=0.3, cg_iters=2, grad_clip=5.0), _data(), 0, 1)
    # rank 0 in this process, rank 1 in a forked one (tests/optim/_dist.py)
    traj0, traj1 = run_two_ranks(_run_rank)
    for step in range(STEPS + ACC_STEPS):
        for a, b, r in zip(traj0[step], traj1[step], ref[step], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # ranks agree exactly
            torch.testing.assert_close(a, r, rtol=2e-5, atol=2e-6)
    init = list(_model().parameters())
    assert any(not torch.allclose(a, p0.detach()) for a, p0 in zip(traj0[-1], init, strict=True))
