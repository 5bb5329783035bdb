"""The Ray executor: a sweep's runs as Ray tasks on a Ray cluster, records written by the driver.

Same contract as :class:`~boostprop.bench.executors.LocalExecutor`: the specs the store does not
hold yet become one Ray task each, calling :func:`boostprop.bench.runner.run`; each record is
appended to the :class:`~boostprop.bench.store.ResultsStore` *in the driver* as soon as its task
finishes, so the store, its keys and its records are the same whichever executor trained them.

A task whose worker dies is retried by Ray up to ``max_retries`` times. A run that is still lost
after that is not recorded (nothing fake goes into the store): the other runs go on and are
appended as they finish, and :class:`RunsLostError` is raised at the end, naming the lost runs;
the same command then trains only those. A ``KeyboardInterrupt`` keeps every finished run and
cancels the rest.

Ray is an optional extra (``pip install 'boostprop[ray]'``) and is imported only when a
:class:`RayExecutor` is built, so importing boostprop never needs it. Layer 2 of the harness
(see ``ARCHITECTURE.md``): it knows the runner and the store, nothing above them.

Example:
    >>> ex = RayExecutor("auto", num_cpus_per_run=2, threads_per_run=2)
    >>> ex.address, ex.num_cpus_per_run, ex.threads_per_run, ex.max_retries
    ('auto', 2, 2, 3)
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from boostprop.bench.executors import RETRIED_STATUSES, pending_specs, progress_bar
from boostprop.bench.runner import RunSpec, run
from boostprop.bench.store import ResultsStore

RAY_EXTRA = "pip install 'boostprop[ray]'"


def _import_ray() -> Any:
    """The ``ray`` module, or an ImportError that names the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            f"the Ray executor needs Ray, which is not installed: {RAY_EXTRA}"
        ) from exc
    return ray


class RunsLostError(RuntimeError):
    """Runs whose Ray task finally failed (after Ray's retries); every other run is in the store.

    ``lost`` holds ``(spec, reason)`` pairs. Re-running the same sweep trains only these runs.

    Example:
        >>> from boostprop.bench.runner import make_spec
        >>> spec = make_spec("softmax-ce+adam", "iris", "mlp", lr=1e-3, seed=0, epochs=1,
        ...                  batch_size=16)
        >>> err = RunsLostError([(spec, "its Ray worker died")], total=4, max_retries=3)
        >>> str(err).splitlines()[0].split(":")[0]
        '1 of 4 runs were lost'
    """

    def __init__(
        self,
        lost: Sequence[tuple[RunSpec, str]],
        *,
        total: int,
        max_retries: int,
        store_path: str = "the store",
    ) -> None:
        self.lost = list(lost)
        lines = [
            f"{len(self.lost)} of {total} runs were lost: their Ray tasks failed (a task whose "
            f"worker died was retried up to max_retries={max_retries} times); every finished "
            f"run is in {store_path}:"
        ]
        lines += [
            f"  {spec.recipe} lr={spec.lr:g} seed={spec.seed} key={spec.key()}: {reason}"
            for spec, reason in self.lost
        ]
        lines.append(
            "Re-running the same command trains only the lost runs and completes the sweep "
            "(finished runs are skipped)."
        )
        super().__init__("\n".join(lines))


def _reason(exc: BaseException, ray: Any) -> str:
    """Why a Ray task failed, in a few words."""
    ex = ray.exceptions
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, ex.WorkerCrashedError):
        return "its Ray worker process died (WorkerCrashedError)"
    if isinstance(exc, (ex.NodeDiedError, ex.LocalRayletDiedError)):
        return f"its Ray node died ({type(exc).__name__})"
    if isinstance(exc, ex.OutOfMemoryError):
        return "its Ray worker was killed for lack of memory (OutOfMemoryError)"
    if isinstance(exc, ex.TaskCancelledError):
        return "its Ray task was cancelled (TaskCancelledError)"
    if isinstance(exc, ex.RayTaskError):
        cause = exc.cause if exc.cause is not None else exc
        return f"the task raised {type(cause).__name__}: {cause}"
    return f"{type(exc).__name__}: {first}"


def _run_task(
    spec_dict: dict[str, Any],
    key: str,
    run_fn: Callable[[RunSpec], dict[str, Any]],
    threads: int,
) -> dict[str, Any]:
    """The body of one Ray task: rebuild the spec, check its key, train on ``threads`` threads."""
    spec = RunSpec.from_dict(spec_dict)
    if spec.key() != key:
        raise ValueError(
            f"spec: rebuilt on the worker with key {spec.key()}, expected {key} "
            "(the worker's boostprop differs from the driver's?)"
        )
    torch.set_num_threads(threads)
    return run_fn(spec)


class RayExecutor:
    """Runs a sweep's runs as Ray tasks on a Ray cluster; the driver appends the records.

    ``address`` is passed to ``ray.init`` at the first :meth:`execute` (unless this process is
    already connected to Ray, whose connection is then used as it is): ``None`` has
    ``ray.init()``'s meaning (``RAY_ADDRESS`` or a new local instance), ``"auto"`` joins the
    cluster running on this machine, ``"HOST:6379"`` a cluster's head node and
    ``"ray://HOST:10001"`` connects through Ray Client. Each run reserves ``num_cpus_per_run``
    CPUs and trains on ``threads_per_run`` torch threads; a task whose worker dies is retried
    up to ``max_retries`` times. ``init_kwargs`` go to ``ray.init`` (for example
    ``{"runtime_env": {...}}``). ``run_fn`` trains one spec (a module-level function the
    workers can import).

    Example:
        >>> RayExecutor("ray://head:10001", max_retries=0).max_retries
        0
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus_per_run: float = 1,
        threads_per_run: int = 1,
        max_retries: int = 3,
        init_kwargs: Mapping[str, Any] | None = None,
        run_fn: Callable[[RunSpec], dict[str, Any]] = run,
    ) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(
                f"address: expected None, 'auto', 'HOST:PORT' or 'ray://HOST:PORT', got {address!r}"
            )
        if (
            isinstance(num_cpus_per_run, bool)
            or not isinstance(num_cpus_per_run, (int, float))
            or not (num_cpus_per_run > 0 and math.isfinite(num_cpus_per_run))
        ):
            raise ValueError(
                f"num_cpus_per_run: expected a positive number, got {num_cpus_per_run!r}"
            )
        for name, value, least in (
            ("threads_per_run", threads_per_run, 1),
            ("max_retries", max_retries, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name}: expected an integer >= {least}, got {value!r}")
        kwargs = dict(init_kwargs or {})
        if "address" in kwargs:
            raise ValueError("init_kwargs: pass the address as `address`, not in init_kwargs")
        _import_ray()  # a clear error now, before any planning, when the extra is missing
        self.address = address
        self.num_cpus_per_run = num_cpus_per_run
        self.threads_per_run = threads_per_run
        self.max_retries = max_retries
        self.init_kwargs = kwargs
        self.run_fn = run_fn

    def close(self) -> None:
        """Nothing to release: the connection to Ray is this process's and is left open for
        the next sweep (``ray.shutdown()`` ends it); the cluster's workers are Ray's."""

    def _connect(self) -> Any:
        ray = _import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, **self.init_kwargs)
        return ray

    def execute(
        self,
        specs: Sequence[RunSpec],
        store: ResultsStore,
        *,
        desc: str = "runs",
        progress: bool = True,
    ) -> None:
        """Train the specs not yet in ``store`` as Ray tasks, appending each record as soon as
        its task finishes; raise :class:`RunsLostError` at the end if some runs were lost."""
        pending = pending_specs(specs, store)
        unique = len({s.key() for s in specs})
        bar = progress_bar(unique, unique - len(pending), desc, progress)
        try:
            if not pending:
                return
            ray = self._connect()
            task = ray.remote(_run_task)
            options = {
                "num_cpus": self.num_cpus_per_run,
                "max_retries": self.max_retries,
                "retry_exceptions": False,  # run() records training failures; deaths retry
            }
            by_ref = {
                task.options(**options, name=f"{s.recipe} lr={s.lr:g} seed={s.seed}").remote(
                    s.to_dict(), s.key(), self.run_fn, self.threads_per_run
                ): s
                for s in pending
            }
            waiting = list(by_ref)
            in_hand: list[Any] = []  # the finished task being appended (not in `waiting`)
            lost: list[tuple[RunSpec, str]] = []
            try:
                while waiting:
                    in_hand, waiting = ray.wait(waiting, num_returns=1)
                    spec = by_ref[in_hand[0]]
                    try:
                        record = ray.get(in_hand[0])
                    except ray.exceptions.RayError as exc:
                        lost.append((spec, _reason(exc, ray)))
                        in_hand = []
                        continue
                    store.append(record)
                    in_hand = []
                    bar.set_postfix_str(f"{spec.recipe} lr={spec.lr:g} seed={spec.seed}")
                    bar.update()
            except BaseException:
                _keep_finished_cancel_rest(ray, in_hand + waiting, store)
                raise
            if lost:
                raise RunsLostError(
                    lost,
                    total=len(pending),
                    max_retries=self.max_retries,
                    store_path=str(store.path),
                )
        finally:
            bar.close()


def _keep_finished_cancel_rest(ray: Any, waiting: list[Any], store: ResultsStore) -> None:
    """On an interrupt: append the runs that have finished, cancel the others (best effort: the
    exception that interrupted the sweep is what the caller sees)."""
    if not waiting:
        return
    try:
        ready, rest = ray.wait(waiting, num_returns=len(waiting), timeout=0)
        held = store.keys(skip_status=RETRIED_STATUSES)  # the interrupted append may be whole
        for ref in ready:
            with contextlib.suppress(ray.exceptions.RayError):  # lost: nothing to keep
                record = ray.get(ref)
                if record["key"] not in held:
                    store.append(record)
        for ref in rest:
            ray.cancel(ref)
    except Exception as exc:  # the cluster may be what failed
        warnings.warn(f"could not keep or cancel the runs in flight: {exc!r}", stacklevel=3)
