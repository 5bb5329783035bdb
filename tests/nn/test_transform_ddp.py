"""update_transforms_ under torch.distributed (2 gloo processes) equals one process on the
concatenated batch (Raiko et al. 2012 transformations, data-parallel)."""

from __future__ import annotations

import copy
import os
import socket
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _shortcut_reference import randomize_

from boostprop.nn import ShortcutMLP, TransformSchedule

SIZES = [6, 5, 4, 3]
SPLIT = 7  # rank 0 gets 7 samples, rank 1 gets 13: the average must weight by counts


def _model_and_data() -> tuple[ShortcutMLP, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    net = ShortcutMLP(SIZES, transforms="alpha_beta_gamma").to(torch.float64)
    randomize_(net, g)
    x = 1.3 * torch.randn(20, 6, generator=g, dtype=torch.float64) + 0.2
    return net, x


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.set_num_threads(1)
        net, x = _model_and_data()
        # (no DistributedDataParallel wrapper: its construction alone costs seconds here, and the
        # update only needs the initialised process group)
        local = x[:SPLIT] if rank == 0 else x[SPLIT:]
        sched = TransformSchedule(net, every_steps=1)
        sched.after_step(local)
        sched.after_step(local.flip(0))  # a second update from non-initial α, β, γ
        torch.save(net.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ddp_statistics_equal_single_process() -> None:
    with tempfile.TemporaryDirectory() as out_dir:
        # fork: the children inherit the imported modules (spawn would re-import torch twice)
        mp.start_processes(
            _worker, args=(_free_port(), out_dir), nprocs=2, join=True, start_method="fork"
        )
        states = [torch.load(os.path.join(out_dir, f"rank{r}.pt")) for r in range(2)]
    net, x = _model_and_data()
    initial = copy.deepcopy(net.state_dict())
    net.update_transforms_(x)
    net.update_transforms_(torch.cat([x[:SPLIT].flip(0), x[SPLIT:].flip(0)]))
    expected = net.state_dict()
    for key, value in expected.items():
        for state in states:
            torch.testing.assert_close(state[key], value, rtol=1e-12, atol=1e-13)
    # the update really moved the buffers (so the comparison is not vacuous)
    assert float((expected["units.1.beta"] - initial["units.1.beta"]).abs().max()) > 1e-3
    assert float((expected["units.0.gamma"] - initial["units.0.gamma"]).abs().max()) > 1e-3
