"""Executors: who trains the runs of a plan. The local process pool by default; Ray for a cluster.

An executor takes run specifications and a :class:`~boostprop.bench.store.ResultsStore`, trains
the specifications the store does not hold yet (a record with status ``"error"`` is retried; an
``"ok"`` or ``"diverged"`` record is a result and is kept), and appends each record *in the
driver process* as soon as it finishes. Every executor therefore writes the same records to the
same store, and an interrupted sweep loses at most the runs in flight.

Executors are layer 2 of the harness (see ``ARCHITECTURE.md``): they know the runner and the
store, nothing above them.

Example:
    >>> LocalExecutor(jobs=2).jobs
    2
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from boostprop.bench.runner import RunSpec, run
from boostprop.bench.store import ResultsStore

RETRIED_STATUSES = ("error",)  # a record with this status is trained again


class Executor(Protocol):
    """What the sweep needs from an executor (see :class:`LocalExecutor`)."""

    def execute(
        self,
        specs: Sequence[RunSpec],
        store: ResultsStore,
        *,
        desc: str = "runs",
        progress: bool = True,
    ) -> None:
        """Train the specs not yet in ``store``, appending each record as it finishes."""
        ...

    def close(self) -> None:
        """Release what :meth:`execute` started (worker processes); the executor stays usable."""
        ...


def latest_by_key(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per run key: the latest that is a result (status not retried), else the
    latest attempt — the record every stage reads, so the executor, the sweep, the summary and
    the report agree on which runs are done and what they gave.

    Example:
        >>> [r["status"] for r in latest_by_key([{"key": "a", "status": "ok"},
        ...                                      {"key": "a", "status": "error"}]).values()]
        ['ok']
    """
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        prev = out.get(r["key"])
        if (
            prev is None
            or r.get("status") not in RETRIED_STATUSES
            or (prev.get("status") in RETRIED_STATUSES)
        ):
            out[r["key"]] = dict(r)
    return out


def pending_specs(specs: Sequence[RunSpec], store: ResultsStore) -> list[RunSpec]:
    """The specs of ``specs`` that ``store`` holds no result for (duplicates dropped, order kept).

    Example:
        >>> import tempfile, pathlib
        >>> store = ResultsStore(pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl")
        >>> pending_specs([], store)
        []
    """
    done = store.keys(skip_status=RETRIED_STATUSES)
    seen: set[str] = set()
    out = []
    for spec in specs:
        key = spec.key()
        if key not in done and key not in seen:
            seen.add(key)
            out.append(spec)
    return out


def progress_bar(total: int, done: int, desc: str, progress: bool) -> Any:
    """The sweep's progress bar (``total`` runs of which ``done`` are already finished)."""
    return tqdm(total=total, initial=done, desc=desc, disable=not progress, unit="run", leave=False)


PARENT_POLL_SECONDS = 0.5  # how often a worker checks that its driver is still alive


def _init_worker(threads: int, driver_pid: int) -> None:
    torch.set_num_threads(threads)
    # a driver killed outright (SIGKILL, or SIGTERM to it alone) cannot stop its pool: the
    # workers would go on training runs nobody records, so each one leaves when its driver does
    threading.Thread(target=_exit_with_driver, args=(driver_pid,), daemon=True).start()


def _exit_with_driver(driver_pid: int) -> None:
    while os.getppid() == driver_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


class LocalExecutor:
    """Runs on this machine: in this process (``jobs=1``) or in a pool of ``jobs`` spawned
    processes, each with ``cpu_count // jobs`` torch threads (always in the pool when
    ``jobs > 1``, so every run of a sweep has the same thread count).

    The pool is started at the first :meth:`execute` that needs it and kept for the next ones,
    so a sweep of many comparisons pays the workers' start-up (importing torch, loading a data
    set) once, not once per comparison. :meth:`close` (or leaving a ``with`` block) stops the
    workers; a later :meth:`execute` starts new ones.

    Example:
        >>> with LocalExecutor() as executor:
        ...     executor.jobs
        1
    """

    def __init__(self, jobs: int = 1, *, run_fn: Callable[[RunSpec], dict[str, Any]] = run):
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
        self.jobs = jobs
        self.run_fn = run_fn
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes, if any (idempotent; the executor stays usable)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            threads = max(1, (os.cpu_count() or 1) // self.jobs)
            self._pool = ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(threads, os.getpid()),
            )
        return self._pool

    def execute(
        self,
        specs: Sequence[RunSpec],
        store: ResultsStore,
        *,
        desc: str = "runs",
        progress: bool = True,
    ) -> None:
        """Train the specs not yet in ``store``, appending each record as soon as it finishes."""
        pending = pending_specs(specs, store)
        unique = len({s.key() for s in specs})
        bar = progress_bar(unique, unique - len(pending), desc, progress)
        try:
            if self.jobs == 1 or not pending:
                for spec in pending:
                    bar.set_postfix_str(f"{spec.recipe} lr={spec.lr:g} seed={spec.seed}")
                    store.append(self.run_fn(spec))
                    bar.update()
                return
            pool = self._workers()
            futures: set[Future[dict[str, Any]]] = {pool.submit(self.run_fn, s) for s in pending}
            unstored: set[Future[dict[str, Any]]] = set()
            try:
                while futures:
                    finished, futures = wait(futures, return_when=FIRST_COMPLETED)
                    unstored = set(finished)
                    for fut in finished:
                        store.append(fut.result())
                        unstored.discard(fut)
                        bar.update()
            except BaseException:
                # keep what has finished, drop what has not started, do not wait for the rest
                for fut in unstored | futures:
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        store.append(fut.result())
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        finally:
            bar.close()
