"""The Ray executor against a real Ray cluster, started by this module on loopback with 2 worker
CPUs: its records equal the local executor's, a worker killed mid-sweep loses no finished run and
re-running completes the sweep, an interrupt keeps the finished runs and cancels the rest.

The cluster is this module's own: it is started with ``ray start`` in a new process session and
torn down by killing that session's processes and their children (never ``ray stop``, which
kills every Ray process of the machine, other users' clusters included).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import ray
import torch
from _ray_helpers import CONTROL_ENV, controlled_run

import boostprop
from boostprop.bench.executor_factory import make_executor
from boostprop.bench.executors import LocalExecutor
from boostprop.bench.executors_ray import RayExecutor, RunsLostError
from boostprop.bench.plan import Comparison
from boostprop.bench.runner import RunSpec
from boostprop.bench.store import ResultsStore


def _specs() -> list[RunSpec]:
    """The runs of every test here: a tiny iris sweep, its 4 tuning runs then 4 seeded runs."""
    c = Comparison(
        claim="demo",
        id="iris",
        title="Iris",
        dataset="iris",
        model="mlp",
        model_kwargs={"widths": [8]},
        recipes=("softmax-ce+adam", "softmax-ce+sgd"),
        target=0.8,
        epochs=2,
        batch_size=16,
        seeds=2,
        lr_factors=(0.5, 2.0),
    )
    tune = c.tune_specs()
    return tune + c.final_specs({s.recipe: s.lr for s in tune})


HERE = Path(__file__).resolve().parent
RAY_CLI = Path(sys.executable).parent / "ray"
WORKERS = 2
LOOPBACK_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # Ray then takes 127.0.0.1 as the node's address and binds its servers there (by default it
    # picks the outward interface's address)
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    # said explicitly: a ~/.ray/auth_token file would otherwise switch token authentication on
    # for the cluster and not for this process, whose Ray read its settings at import (the
    # cluster listens on 127.0.0.1 only, for the length of this module)
    "RAY_AUTH_MODE": "disabled",
}
TIMING = {"step_seconds", "seconds_to_target", "env", "finished_at"}  # differ between any runs


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process (from /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            out[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return out


def _kill_cluster(pgid: int) -> None:
    """SIGKILL the processes of the cluster's process group and all their descendants (the Ray
    workers run in process groups of their own, as children of the raylet)."""
    procs = _processes()
    ours = {pid for pid, (_, group) in procs.items() if group == pgid}
    while True:
        children = {pid for pid, (ppid, _) in procs.items() if ppid in ours} - ours
        if not children:
            break
        ours |= children
    ours.discard(os.getpid())
    for pid in ours:
        with contextlib.suppress(ProcessLookupError):  # gone already
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and set(_processes()) & ours:
        time.sleep(0.05)


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Cluster:
    address: str
    control: Path  # the control folder of _ray_helpers.controlled_run, seen by every worker

    def executor(self, **kw: Any) -> RayExecutor:
        """A Ray executor on this cluster whose workers import _ray_helpers and see
        ``control``. Every test's executor passes the same ``init_kwargs``: the first connects,
        the others use that connection (one Ray job, so the workers' imports are paid once)."""
        # the workers import this checkout's boostprop (the one under test) and _ray_helpers
        pythonpath = os.pathsep.join([str(HERE), str(Path(boostprop.__file__).parents[1])])
        # Ray starts its workers at niceness 15; beside the other test worker's training they
        # then get almost no CPU (a cold worker took over 180 s for a first iris run), so this
        # test's workers run at the default niceness, as the processes they share the cores with
        env = {
            "PYTHONPATH": pythonpath,
            CONTROL_ENV: str(self.control),
            "RAY_worker_niceness": "0",
        }
        kw.setdefault("run_fn", controlled_run)
        return RayExecutor(self.address, init_kwargs={"runtime_env": {"env_vars": env}}, **kw)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    """A fresh Ray cluster on 127.0.0.1 with 2 CPUs (for 2 runs at once), this module's own."""
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="bpray-"))  # short: Ray's socket paths live under it
    with pytest.MonkeyPatch.context() as mp:
        for name, value in LOOPBACK_ENV.items():
            mp.setenv(name, value)
        # the same for this process (the driver), whose Ray read the variable at import: else
        # ray.init turns 127.0.0.1 into the outward interface's address
        mp.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        mp.delenv("RAY_ADDRESS", raising=False)
        log = temp / "start.log"
        with log.open("wb") as fh:
            head = subprocess.Popen(
                [
                    str(RAY_CLI),
                    "start",
                    "--head",
                    "--node-ip-address=127.0.0.1",
                    f"--port={port}",
                    f"--num-cpus={WORKERS}",
                    "--num-gpus=0",
                    "--include-dashboard=false",
                    "--disable-usage-stats",
                    f"--temp-dir={temp}",
                ],
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: what the teardown kills
                # Ctrl-C (ray.cancel's interrupt) must reach the workers even if this pytest
                # worker ignores SIGINT: an ignored signal is inherited across exec
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        try:
            rc = head.wait(timeout=120)
            assert rc == 0, f"ray start failed ({rc}):\n{log.read_text()}"
            yield Cluster(f"127.0.0.1:{port}", temp / "control")
        finally:
            if ray.is_initialized():
                ray.shutdown()
            if head.poll() is None:
                head.kill()
            _kill_cluster(head.pid)
            shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def cluster(ray_cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster with an empty control folder. After the test, a run still holding
    a CPU (a failed test's hung run) is ended by disconnecting, which ends the Ray job."""
    shutil.rmtree(ray_cluster.control, ignore_errors=True)
    ray_cluster.control.mkdir()
    yield ray_cluster
    (ray_cluster.control / "open").touch()
    if ray.is_initialized():
        try:
            _wait_for(lambda: ray.available_resources().get("CPU", 0) == WORKERS, 5, "free CPUs")
        except AssertionError:
            ray.shutdown()


def _starts(control: Path) -> Counter[str]:
    """How many times each run key was started (from the files controlled_run leaves)."""
    return Counter(p.name.split("-")[1] for p in control.glob("started-*"))


def _start_pids(control: Path) -> set[int]:
    return {int(p.name.split("-")[2]) for p in control.glob("started-*")}


def _close(a: Any, b: Any, path: str = "record") -> None:
    """``a == b``, floats to 1e-6; the first difference named by its path."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isfinite(a):
        assert abs(a - b) <= 1e-6, f"{path}: {a} != {b}"
    else:
        assert a == b and type(a) is type(b), f"{path}: {a!r} != {b!r}"


def _without_timing(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in TIMING}
    out["history"] = {k: v for k, v in record["history"].items() if k != "train_seconds"}
    return out


def test_records_equal_the_local_executors(cluster: Cluster, tmp_path: Path) -> None:
    specs = _specs()
    local, remote = ResultsStore(tmp_path / "local.jsonl"), ResultsStore(tmp_path / "ray.jsonl")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        LocalExecutor().execute(specs, local, progress=False)
    finally:
        torch.set_num_threads(old)
    control = cluster.control
    cluster.executor(threads_per_run=1).execute(specs, remote, progress=False)

    keys = sorted(s.key() for s in specs)
    assert len(set(keys)) == len(specs) == 8
    by_local = {r["key"]: r for r in local.records()}
    ray_records = list(remote.records())
    by_ray = {r["key"]: r for r in ray_records}
    assert sorted(by_local) == sorted(by_ray) == keys
    assert len(ray_records) == len(specs)  # one record per run
    # trained by the cluster's workers, each run once, not in this process
    assert _starts(control) == Counter(keys)
    assert os.getpid() not in _start_pids(control)
    for key in keys:
        a, b = by_local[key], by_ray[key]
        assert b["status"] == "ok" and len(b["history"]["val_acc"]) == 2
        assert a["env"]["torch_threads"] == b["env"]["torch_threads"] == 1
        for name in ("train_loss", "val_loss", "val_acc"):
            assert b["history"][name] == pytest.approx(a["history"][name], rel=0, abs=1e-6)
        _close(_without_timing(a), _without_timing(b), key)


def test_threads_per_run_sets_the_tasks_torch_threads(cluster: Cluster, tmp_path: Path) -> None:
    spec = _specs()[0]
    store = ResultsStore(tmp_path / "runs.jsonl")
    driver_threads = torch.get_num_threads()
    cluster.executor(num_cpus_per_run=2, threads_per_run=2).execute([spec], store, progress=False)
    (record,) = store.records()
    assert record["key"] == spec.key() and record["status"] == "ok"
    assert record["env"]["torch_threads"] == 2  # set in the task, recorded as it ran
    assert torch.get_num_threads() == driver_threads  # the driver's own setting is untouched
    with pytest.raises(ValueError, match="num_cpus_per_run"):
        RayExecutor(cluster.address, num_cpus_per_run=float("inf"))


def test_killed_worker_loses_no_finished_run_and_a_rerun_completes(
    cluster: Cluster, tmp_path: Path
) -> None:
    specs = _specs()
    keys = [s.key() for s in specs]
    victim = specs[1]
    control = cluster.control
    executor = cluster.executor(max_retries=0)  # no retry: the loss is visible
    (control / f"hang-{victim.key()}").touch()
    for spec in specs[2:]:  # these wait until the victim is dead, so they finish after its loss
        (control / f"gate-{spec.key()}").touch()
    store = ResultsStore(tmp_path / "runs.jsonl")
    seen: dict[str, Any] = {}

    def kill_the_victim_once_a_run_has_finished() -> None:
        pid_file = control / f"pid-{victim.key()}"
        try:
            _wait_for(lambda: pid_file.exists() and bool(store.keys()), 180, "a finished run")
            pid = int(pid_file.read_text())
            assert pid != os.getpid(), "the victim run is in this process, not a Ray worker"
            seen["before"] = store.keys()
            os.kill(pid, signal.SIGKILL)
            _wait_for(lambda: not Path(f"/proc/{pid}").exists(), 20, "the worker to die")
        except BaseException as exc:
            seen["error"] = exc
        finally:
            (control / "open").touch()

    killer = threading.Thread(target=kill_the_victim_once_a_run_has_finished, daemon=True)
    killer.start()
    with pytest.raises(RunsLostError) as lost:
        executor.execute(specs, store, progress=False)
    killer.join(timeout=30)
    assert "error" not in seen, seen.get("error")

    # every finished run is in the store, once; the lost one is not (no fake record)
    kept = [r["key"] for r in store.records()]
    assert sorted(kept) == sorted(k for k in keys if k != victim.key())
    assert all(r["status"] == "ok" for r in store.records())
    assert seen["before"] < set(kept)  # runs finished before the kill, and after it
    # the error names the lost run and how to complete the sweep
    assert [(s.key(), reason) for s, reason in lost.value.lost] == [
        (victim.key(), "its Ray worker process died (WorkerCrashedError)")
    ]
    message = str(lost.value)
    assert message.startswith("1 of 8 runs were lost")
    assert f"{victim.recipe} lr={victim.lr:g} seed={victim.seed} key={victim.key()}" in message
    assert str(store.path) in message and "Re-running the same command" in message

    assert not (control / f"hang-{victim.key()}").exists()  # a new attempt trains normally
    executor.execute(specs, store, progress=False)
    records = list(store.records())
    assert sorted(r["key"] for r in records) == sorted(keys)  # complete, nothing duplicated
    assert all(r["status"] == "ok" for r in records)
    assert _starts(control) == Counter(keys) + Counter([victim.key()])  # only the lost one again


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in this process, whatever an earlier test in the same
    pytest worker installed for SIGINT (a library's handler, or none, leaves the signal
    without effect and the interrupt test waiting out its hung run)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_interrupt_keeps_finished_runs_and_cancels_the_rest(
    cluster: Cluster, tmp_path: Path, default_sigint: None
) -> None:
    specs = _specs()
    first, hung, gated = specs[0], specs[1], specs[2:]
    control = cluster.control
    executor = cluster.executor()
    (control / f"hang-{hung.key()}").touch()
    for spec in gated:  # never opened: they can only be cancelled
        (control / f"gate-{spec.key()}").touch()
    store = ResultsStore(tmp_path / "runs.jsonl")
    executing = threading.Event()
    executing.set()
    seen: dict[str, Any] = {}

    def interrupt_once_a_run_has_finished() -> None:
        try:
            _wait_for(
                lambda: (control / f"pid-{hung.key()}").exists() and bool(store.keys()),
                180,  # a loaded machine (the other test worker) slows a cold Ray worker down
                "a finished run",
            )
            if executing.is_set():
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C of the driver
        except BaseException as exc:
            seen["error"] = exc

    interrupter = threading.Thread(target=interrupt_once_a_run_has_finished, daemon=True)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.execute(specs, store, progress=False)
    finally:
        executing.clear()
    interrupter.join(timeout=30)
    assert "error" not in seen, seen.get("error")

    assert [r["key"] for r in store.records()] == [first.key()]  # the finished run is kept
    # the running runs were cancelled (interrupted in their workers) and the queued ones
    # dropped: the cluster's CPUs are all free again, long before the hung run would end
    _wait_for(lambda: (control / f"cancelled-{hung.key()}").exists(), 20, "the cancellation")
    _wait_for(lambda: ray.available_resources().get("CPU", 0) == WORKERS, 20, "the CPUs to be free")
    assert _starts(control)[hung.key()] == 1  # not retried after its cancellation
    assert [r["key"] for r in store.records()] == [first.key()]


class _InterruptedAfterFirstAppend(ResultsStore):
    """A store whose first append is interrupted (Ctrl-C) just after the record is written."""

    def append(self, record: dict[str, Any]) -> None:
        super().append(record)
        if len(list(self.records())) == 1:
            raise KeyboardInterrupt


def test_interrupt_just_after_an_append_keeps_that_record_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    specs = _specs()
    control = cluster.control
    for spec in specs[1:]:  # never opened: they can only be cancelled
        (control / f"gate-{spec.key()}").touch()
    store = _InterruptedAfterFirstAppend(tmp_path / "runs.jsonl")
    with pytest.raises(KeyboardInterrupt):
        cluster.executor().execute(specs, store, progress=False)
    assert [r["key"] for r in store.records()] == [specs[0].key()]  # kept, and only once
    _wait_for(lambda: ray.available_resources().get("CPU", 0) == WORKERS, 20, "the CPUs to be free")


def test_a_killed_workers_run_is_retried_up_to_max_retries(
    cluster: Cluster, tmp_path: Path
) -> None:
    specs = _specs()[:4]
    victim = specs[0]
    control = cluster.control
    executor = cluster.executor(max_retries=1)
    (control / f"hang-{victim.key()}").touch()  # its first attempt hangs, a retry trains
    store = ResultsStore(tmp_path / "runs.jsonl")
    killed: list[int] = []

    def kill_the_victims_first_attempt() -> None:
        # after the other runs (so the retry finds a warm worker, not one starting after a kill)
        pid_file = control / f"pid-{victim.key()}"
        with contextlib.suppress(AssertionError):
            _wait_for(lambda: pid_file.exists() and len(store.keys()) == 3, 180, "3 runs")
            pid = int(pid_file.read_text())
            if pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    killer = threading.Thread(target=kill_the_victims_first_attempt, daemon=True)
    killer.start()
    executor.execute(specs, store, progress=False)  # no error: the retry trained the run
    killer.join(timeout=30)
    assert killed
    records = list(store.records())
    assert sorted(r["key"] for r in records) == sorted(s.key() for s in specs)
    assert all(r["status"] == "ok" for r in records)
    assert _starts(control)[victim.key()] == 2


def test_make_executor_kinds_and_errors() -> None:
    local = make_executor("local", jobs=2)
    assert isinstance(local, LocalExecutor) and local.jobs == 2
    remote = make_executor("ray", address="ray://head:10001")
    assert isinstance(remote, RayExecutor) and remote.address == "ray://head:10001"
    with pytest.raises(ValueError, match=r"kind: expected one of \('local', 'ray'\), got 'dask'"):
        make_executor("dask")
    with pytest.raises(ValueError, match="address: only the Ray executor"):
        make_executor("local", address="auto")
    with pytest.raises(ValueError, match="jobs: the Ray executor runs as many runs"):
        make_executor("ray", jobs=4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"address": ""}, "address: expected None, 'auto'"),
        ({"num_cpus_per_run": 0}, "num_cpus_per_run: expected a positive number"),
        ({"threads_per_run": 0}, "threads_per_run: expected an integer >= 1"),
        ({"max_retries": -1}, "max_retries: expected an integer >= 0"),
        ({"init_kwargs": {"address": "auto"}}, "init_kwargs: pass the address as `address`"),
    ],
)
def test_ray_executor_rejects_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=re.escape(match)):
        RayExecutor(**kwargs)


def test_missing_ray_is_an_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(ImportError, match=re.escape("pip install 'boostprop[ray]'")):
        RayExecutor("auto")
    with pytest.raises(ImportError, match=re.escape("pip install 'boostprop[ray]'")):
        make_executor("ray")


def test_importing_boostprop_does_not_import_ray() -> None:
    code = (
        "import sys, boostprop, boostprop.cli, boostprop.bench.sweep, "
        "boostprop.bench.executors, boostprop.bench.executors_ray; "
        "print('ray' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
