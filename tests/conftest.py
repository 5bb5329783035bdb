"""Settings for the whole test suite.

Every test runs on one intra-op torch thread (restored afterwards). The tests use small tensors:
on a shared 2-core machine, intra-op parallelism makes tiny ops wait for a descheduled worker
thread (milliseconds instead of microseconds), and no result here depends on the thread count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boostprop._threads import one_thread_if


@pytest.fixture(autouse=True)
def _one_intra_op_thread() -> Iterator[None]:
    with one_thread_if(True):
        yield
