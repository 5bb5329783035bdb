"""The local pool: one set of workers for many ``execute`` calls, and no worker outlives its
driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from boostprop.bench.executors import LocalExecutor

DRIVER = """
import sys, time
from boostprop.bench.executors import LocalExecutor
executor = LocalExecutor(jobs=2)
pool = executor._workers()
for f in [pool.submit(time.sleep, 0) for _ in range(4)]:
    f.result()
print(" ".join(str(pid) for pid in pool._processes), flush=True)
pool.submit(time.sleep, 600)  # a run in flight when the driver dies
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its reaper is gone as well
        return f.read().split(")")[-1].split()[0] != "Z"


def test_workers_leave_when_their_driver_is_killed() -> None:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    workers = [int(pid) for pid in driver.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a worker outlived its driver"


def test_the_pool_is_kept_across_execute_calls_and_closed_once() -> None:
    executor = LocalExecutor(jobs=2)
    pool = executor._workers()
    assert executor._workers() is pool  # a second call (a second execute) reuses it
    executor.close()
    assert executor._pool is None
    executor.close()  # idempotent
    with LocalExecutor(jobs=2) as again:
        first = again._workers()
    assert again._pool is None and first is not None
