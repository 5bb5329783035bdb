"""Intra-op thread control for small CPU workloads.

Kernels on tiny tensors take microseconds; on a busy machine, OpenMP synchronisation across
threads then costs 10–100× the arithmetic. Small problems (the convex solver of Ergen et al. 2023
on small dictionaries, full-batch straight-through training of small threshold networks) run on
one intra-op thread; the caller's setting is restored afterwards.

Example:
    >>> import torch
    >>> with one_thread_if(True):
    ...     torch.get_num_threads()
    1
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_thread_if(small: bool) -> Iterator[None]:
    """Run the block on one intra-op torch thread when ``small`` (restored afterwards)."""
    if not small or torch.get_num_threads() == 1:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
