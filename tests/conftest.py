"""Settings for the whole test suite.

Every test runs on one intra-op torch thread (restored afterwards). The tests use small tensors:
on a shared 2-core machine, intra-op parallelism makes tiny ops wait for a descheduled worker
thread (milliseconds instead of microseconds), and no result here depends on the thread count.

``make test`` runs the suite on two pytest-xdist workers (``-n 2 --dist loadgroup``). Each test
file is one group, so a file's module-scoped fixtures (a Ray cluster, a browser) are built once;
the files that read the session-scoped ``smoke`` results folder form one group between them, so
that folder is built once too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boostprop._threads import one_thread_if

SHARED_FIXTURE_GROUPS = {"smoke": "smoke-results"}  # session fixture -> the group of its files


@pytest.fixture(autouse=True)
def _one_intra_op_thread() -> Iterator[None]:
    with one_thread_if(True):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests for pytest-xdist's ``loadgroup``: one group per file, and one group for
    all the files that use a costly session fixture (see the module docstring)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    group_of_file: dict[str, str] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        for fixture, group in SHARED_FIXTURE_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                group_of_file[path] = group
    for item in items:
        path = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group_of_file.get(path, path)))
