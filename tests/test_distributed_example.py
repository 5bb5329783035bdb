"""``examples/ddp_train.py`` under torchrun with 2 gloo processes equals one process (its reference).

Two CPU processes launched by ``python -m torch.distributed.run`` with batch ``B`` per rank must end
with the parameters (and ShortcutMLP transformation buffers) of one process running the same script
with batch ``2B``, to float32 round-off: the ``DistributedSampler`` deals each global batch of the
shared seeded permutation out to the ranks, DDP averages the gradients, NeuronBoost all-reduces
its input moments and ``Â·v`` products (Munoz 2025, arXiv:2502.01131) and
``ShortcutMLP.update_transforms_`` its statistics (Raiko et al. 2012). Checked for NeuronBoost on a
tanh MLP, and for NeuronBoost on a ShortcutMLP whose α, β, γ are updated by a ``TransformSchedule``
after the first steps and then at an epoch end on each rank's shard of the training set.

Cost: each distributed run is a launcher plus two workers that import torch, boostprop and (for
DDP) ``torch._dynamo``; both runs are started together and the single-process references run in
this process meanwhile.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import Tensor

StateDict = dict[str, Tensor]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ddp_train.py"
WORLD = 2
BATCH = 8  # per rank
STEPS = 3
TIMEOUT = 180
COMMON = ["--steps", str(STEPS), "--hidden", "12", "12", "--log-every", "1"]
CONFIGS = {
    # NeuronBoost on a tanh MLP: input moments and Â·v products reduced across the ranks.
    "mlp_neuronboost": ["--model", "mlp", "--optimizer", "neuronboost", "--n-samples", "256"],
    # ShortcutMLP with α, β, γ: per-minibatch updates at steps 1-2, then (16 samples per rank,
    # 2 steps per epoch) the epoch-phase update on each rank's shard, i.e. the whole set.
    "shortcut_neuronboost_transforms": [
        "--model",
        "shortcut",
        "--optimizer",
        "neuronboost",
        "--n-samples",
        "32",
        "--transforms",
        "alpha_beta_gamma",
        "--transform-every",
        "1",
        "--transform-until",
        "2",
    ],
}


def _load_example() -> ModuleType:
    """Import ``examples/ddp_train.py`` (not a package) as a module, once."""
    name = "boostprop_example_ddp_train"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _run_single(example: ModuleType, args: list[str], batch: int, out: Path) -> StateDict:
    """The reference: the example as one process (no torch.distributed) in this interpreter."""
    with torch.random.fork_rng():
        example.main([*COMMON, *args, "--batch-size", str(batch), "--save", str(out)])
    state: StateDict = torch.load(out)
    return state


class _Job:
    """A running ``torchrun`` job; :meth:`result` waits for it and returns (checkpoint, stdout)."""

    def __init__(self, name: str, proc: subprocess.Popen[str], out: Path) -> None:
        self.name, self.proc, self.out = name, proc, out

    def result(self) -> tuple[Path, str]:
        stdout, _ = self.proc.communicate(timeout=TIMEOUT)
        assert self.proc.returncode == 0, f"torchrun {self.name} failed:\n{stdout}"
        return self.out, stdout


@pytest.fixture(scope="module")
def ddp_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _Job]]:
    """Start every config's torchrun job at once (the tests compute their references meanwhile)."""
    tmp = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    jobs: dict[str, _Job] = {}
    try:
        for (name, args), port in zip(CONFIGS.items(), _free_ports(len(CONFIGS)), strict=True):
            out = tmp / f"{name}_ddp.pt"
            cmd = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node",
                str(WORLD),
                "--master_addr",
                "127.0.0.1",
                "--master_port",
                str(port),
                str(EXAMPLE),
                *COMMON,
                *args,
                "--batch-size",
                str(BATCH),
                "--backend",
                "gloo",
                "--device",
                "cpu",
                "--save",
                str(out),
            ]
            proc = subprocess.Popen(
                cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            jobs[name] = _Job(name, proc, out)
        yield jobs
    finally:
        for job in jobs.values():
            if job.proc.poll() is None:
                job.proc.kill()
            job.proc.communicate()


def _assert_state_close(actual: StateDict, expected: StateDict, what: str) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(actual[key], value, rtol=1e-4, atol=1e-5, msg=f"{what}: {key}")


def _max_change(a: StateDict, b: StateDict) -> dict[str, float]:
    return {k: float((a[k].double() - b[k].double()).abs().max()) for k in a}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_two_gloo_processes_match_one_process_with_the_concatenated_batch(
    config: str, ddp_jobs: dict[str, _Job], tmp_path: Path
) -> None:
    example = _load_example()
    args = CONFIGS[config]
    ref = _run_single(example, args, WORLD * BATCH, tmp_path / "single.pt")
    # The comparison discriminates: one process with the *local* batch size ends elsewhere.
    local = _run_single(example, args, BATCH, tmp_path / "local.pt")
    out, stdout = ddp_jobs[config].result()
    assert f"world size {WORLD}" in stdout  # the launch really ran distributed
    assert stdout.count("final training accuracy") == 1  # progress printed by rank 0 only
    ddp: StateDict = torch.load(out)
    _assert_state_close(ddp, ref, f"{config}: DDP vs single process")

    # The runs moved every entry (weights, biases and, for ShortcutMLP, α, β, γ) away from init.
    parsed = example.parse_args([*COMMON, *args])
    n_features, n_classes = parsed.features, parsed.classes
    with torch.random.fork_rng():
        init = example.build_model(
            parsed.model,
            [n_features, *parsed.hidden, n_classes],
            transforms=parsed.transforms,
            seed=parsed.seed,
        ).state_dict()
    assert init.keys() == ddp.keys()
    changes = _max_change(ddp, init)
    assert min(changes.values()) > 1e-3, changes
    assert max(_max_change(local, ddp).values()) > 1e-3


def test_sgd_and_adam_use_the_shortcut_learning_rates() -> None:
    example = _load_example()
    net = example.build_model("shortcut", [4, 5, 5, 3], seed=0)
    for name in ("sgd", "adam"):
        opt = example.build_optimizer(name, net, 0.8)
        assert [g["lr"] for g in opt.param_groups] == [0.8, 0.4, 0.2]
        assert sum(len(g["params"]) for g in opt.param_groups) == len(list(net.parameters()))
