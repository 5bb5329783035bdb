"""Shared fixtures of the harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from boostprop._threads import one_thread_if
from boostprop.bench.pipeline import reproduce


@pytest.fixture(scope="session")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One smoke-size `boostprop reproduce` of every claim (in this process, one torch thread):
    the results folder, with its report."""
    out = tmp_path_factory.mktemp("smoke")
    with one_thread_if(True):
        html = reproduce(out, preset="smoke", progress=False, command="pytest smoke")
    assert html == out / "report.html"
    return out
