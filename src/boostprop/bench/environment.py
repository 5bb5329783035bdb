"""The environment recorded with every result: library versions, CPU, threads, git commit.

Following the training-benchmark conventions (MLCommons AlgoPerf, DeepOBS), every record
carries what it ran on, so numbers from different machines are never silently mixed.

Example:
    >>> sorted(environment())[:3]
    ['boostprop', 'cpu', 'cpu_count']
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path

import torch


@functools.lru_cache(maxsize=1)
def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the boostprop checkout, or ``"unknown"`` outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def environment() -> dict[str, str | int]:
    """A small dict describing the machine and software a result was produced with."""
    from boostprop import __version__

    return {
        "boostprop": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count() or 1,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "git_commit": git_commit(),
        "hostname": platform.node(),
    }
