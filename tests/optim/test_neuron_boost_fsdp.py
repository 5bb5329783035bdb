"""NeuronBoost under FSDP2 (``fully_shard``) equals one process (Munoz 2025, arXiv:2502.01131).

Two gloo processes on CPU shard every module's parameters by rows (FSDP2's ``Shard(0)``, uneven
and empty shards included: 3 conv channels and a 1-unit head over 2 ranks), each holds half of
every batch, and FSDP2 reduce-scatters the mean gradient. NeuronBoost gathers the gradients, takes
the step on full tensors with its own reductions of the input moments and ``Â·v`` products, and
writes back each rank's rows. The independent reference is one process, unsharded, on the
concatenated batch, in float64. Both ways of applying ``Â`` (Gram matrix and matrix-free) are
exercised, and the last steps accumulate two micro-batches per rank. FSDP1, DTensor parameters
outside ``fully_shard`` and an optimizer built before ``fully_shard`` are rejected.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from _dist import WORLD, gloo_group, run_two_ranks
from torch import nn

from boostprop.optim import NeuronBoost
from boostprop.optim._linear_ops import Neuron

STEPS = 4
ACC_STEPS = 2  # then steps with two accumulated micro-batches per rank
SETTINGS = {"lr": 0.3, "cg_iters": 2, "grad_clip": 5.0}


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2, padding=1),  # 3 channels on 2 ranks: shards of 2 and 1
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 16),  # matrix-free at 20 samples per rank
        nn.LayerNorm(16),  # no neuron: identity metric, sharded too
        nn.Tanh(),
        nn.Linear(16, 16, bias=False),  # Gram path
        nn.Tanh(),
        nn.Linear(16, 1),  # rank 1 holds empty shards of its weight and bias
    ).double()


def _data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(40, 1, 8, 8, generator=g, dtype=torch.float64) + 0.5,
            torch.randn(40, 1, generator=g, dtype=torch.float64),
        )
        for _ in range(STEPS + ACC_STEPS)
    ]


def _train(model: nn.Module, rank: int, world: int) -> list[list[torch.Tensor]]:
    """One step per batch; the ranks take their halves, and from step ``STEPS`` on (ranks only)
    each half in two micro-batches whose gradients FSDP2 accumulates into the sharded ones."""
    opt = NeuronBoost(model, **SETTINGS)
    traj = []
    for t, (xb, yb) in enumerate(_data()):
        n = xb.shape[0] // world
        sl = slice(rank * n, (rank + 1) * n)
        micro = 2 if world > 1 and t >= STEPS else 1
        for xm, ym in zip(xb[sl].chunk(micro), yb[sl].chunk(micro), strict=True):
            (F.mse_loss(model(xm), ym) / micro).backward()
        opt.step()
        opt.zero_grad()
        traj.append(
            [
                p.full_tensor() if world > 1 else p.detach().clone()
                for p in opt.param_groups[0]["params"]
            ]
        )
    return traj


def _run_rank(rank: int, port: int) -> list[list[torch.Tensor]]:
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import DTensor, Shard, init_device_mesh

    with gloo_group(rank, port):
        # DTensor parameters outside fully_shard (tensor parallelism) are rejected
        mesh = init_device_mesh("cpu", (WORLD,))
        tp = nn.Linear(4, 4)
        tp.weight = nn.Parameter(DTensor.from_local(torch.zeros(2, 4), mesh, [Shard(0)]))
        with pytest.raises(ValueError, match="tensor-parallel"):
            NeuronBoost(tp)

        def sharded(opt_first: bool) -> tuple[nn.Module, NeuronBoost | None]:
            model = _model()
            opt = NeuronBoost(model, **SETTINGS) if opt_first else None
            for m in model:
                if any(True for _ in m.parameters()):
                    fully_shard(m)
            fully_shard(model)
            return model, opt

        # an optimizer built before fully_shard holds the replaced parameters: a clear error
        model, opt = sharded(opt_first=True)
        assert opt is not None
        xb, yb = _data()[0]
        F.mse_loss(model(xb[:4]), yb[:4]).backward()
        with pytest.raises(RuntimeError, match="after fully_shard"):
            opt.step()

        model, _ = sharded(opt_first=False)
        shapes = [p.to_local().shape for p in model.parameters()]
        return [shapes, *_train(model, rank, WORLD)]


def test_fsdp2_two_processes_match_single_process_on_concatenated_batch():
    model = _model()
    probes = [Neuron(module=m, name="", weight=m.weight, bias=m.bias) for m in (model[3], model[6])]
    assert [p.gram_is_cheaper(20, 3) for p in probes] == [False, True]
    ref = _train(model, 0, 1)
    (shapes0, *traj0), (shapes1, *traj1) = run_two_ranks(_run_rank)
    # really sharded: conv weight rows 2 + 1, the head's weight and bias 1 + 0
    assert [s[0] for s in shapes0] == [2, 2, 8, 8, 8, 8, 8, 1, 1]
    assert [s[0] for s in shapes1] == [1, 1, 8, 8, 8, 8, 8, 0, 0]
    for step in range(STEPS + ACC_STEPS):
        for a, b, r in zip(traj0[step], traj1[step], ref[step], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # the gathered parameters
            torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-12)
    init = list(_model().parameters())
    for a, p0 in zip(traj0[-1], init, strict=True):
        assert (a - p0.detach()).abs().max() > 1e-3  # every tensor was trained
