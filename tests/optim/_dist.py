"""Run a test body on two gloo ranks: rank 0 in the test process, rank 1 in a child process.

Shared by the distributed NeuronBoost tests (DDP and FSDP2). Starting one process instead of two
saves a torch import on the shared 2-core machine. Loopback only (``127.0.0.1``).
"""

from __future__ import annotations

import datetime
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gloo_group(rank: int, port: int, world: int = WORLD) -> Iterator[None]:
    """The default process group (gloo, loopback, one intra-op thread) for the block's duration.

    Example:
        >>> with gloo_group(0, free_port(), world=1):  # doctest: +SKIP
        ...     dist.get_world_size()
        1
    """
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=90),
    )
    try:
        yield
    finally:
        dist.destroy_process_group()


def _child(fn: Callable[..., Any], rank: int, port: int, out: str, args: tuple[Any, ...]) -> None:
    torch.save(fn(rank, port, *args), out)


def run_two_ranks(
    fn: Callable[..., Any], *args: Any, start_method: str = "fork", timeout: float = 120
) -> tuple[Any, Any]:
    """``fn(rank, port, *args)`` on rank 0 here and rank 1 in a child process; both results.

    The child is forked by default: it inherits the imported torch (and ``torch._dynamo``, which
    every optimizer's construction imports), which saves 5-10 s per test on the shared machine.
    With ``start_method="spawn"``, ``fn`` must be a module-level function (pickled by name). The
    result must be ``torch.save``-able. The caller's intra-op thread count is restored afterwards.

    Example:
        >>> r0, r1 = run_two_ranks(some_module_level_fn)  # doctest: +SKIP
    """
    port = free_port()
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rank1.pt")
        ctx = mp.get_context(start_method)
        proc = ctx.Process(target=_child, args=(fn, 1, port, out, args))
        proc.start()
        try:
            result0 = fn(0, port, *args)
        finally:
            torch.set_num_threads(threads)
            proc.join(timeout=timeout)
            if proc.is_alive():  # rank 0 failed; rank 1 waits in a collective
                proc.kill()
                proc.join()
        assert proc.exitcode == 0, f"rank 1 exited with {proc.exitcode}"
        result1 = torch.load(out)
    return result0, result1
