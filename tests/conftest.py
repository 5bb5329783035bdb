"""Settings for the whole test suite.

Every test runs on one intra-op torch thread (restored afterwards). The tests use small tensors:
on a shared 2-core machine, intra-op parallelism makes tiny ops wait for a descheduled worker
thread (milliseconds instead of microseconds), and no result here depends on the thread count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_intra_op_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
