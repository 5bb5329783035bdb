"""Run functions for the Ray executor's tests, importable by the Ray workers (the tests put this
folder on the workers' PYTHONPATH through the job's ``runtime_env``).

:func:`controlled_run` lets a test steer a run through files in the folder named by the
``BOOSTPROP_TEST_RAY_CONTROL`` environment variable (set in the job's ``runtime_env``):

- every start leaves ``started-<key>-<pid>-<ns>``, so a test counts how often a run was trained;
- ``hang-<key>`` makes the run's first attempt take the file (renamed ``hung-<key>``, so a
  retry trains normally), write its worker's pid to ``pid-<key>`` and wait (in short sleeps, so
  Ray's cancellation interrupts it) until the worker is killed; a cancelled wait leaves
  ``cancelled-<key>``;
- ``gate-<key>`` makes the run wait until ``open`` exists (or it is cancelled) before training.

Example:
    >>> CONTROL_ENV
    'BOOSTPROP_TEST_RAY_CONTROL'
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from boostprop.bench.runner import RunSpec, run

CONTROL_ENV = "BOOSTPROP_TEST_RAY_CONTROL"
HANG_SECONDS = 600.0  # far longer than a test; a hung run is killed or cancelled long before
GATE_SECONDS = 30.0


def _wait(until: Path | None, seconds: float, cancelled: Path) -> None:
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not (until is not None and until.exists()):
            time.sleep(0.02)
    except KeyboardInterrupt:  # what ray.cancel raises in a running task
        cancelled.touch()
        raise


def _take(marker: Path, taken: Path) -> bool:
    """Rename ``marker`` to ``taken``; False when there was no marker to take."""
    try:
        marker.rename(taken)
    except FileNotFoundError:
        return False
    return True


def controlled_run(spec: RunSpec) -> dict[str, Any]:
    """:func:`boostprop.bench.runner.run`, steered by the control files described above."""
    control = Path(os.environ[CONTROL_ENV])
    key, pid = spec.key(), os.getpid()
    (control / f"started-{key}-{pid}-{time.monotonic_ns()}").touch()
    if _take(control / f"hang-{key}", control / f"hung-{key}"):
        tmp = control / f".pid-{key}.tmp"
        tmp.write_text(str(pid))
        tmp.replace(control / f"pid-{key}")
        _wait(None, HANG_SECONDS, control / f"cancelled-{key}")
        raise RuntimeError(f"run {key} hung for {HANG_SECONDS} s and was not killed")
    if (control / f"gate-{key}").exists():
        _wait(control / "open", GATE_SECONDS, control / f"cancelled-{key}")
    return run(spec)
