"""Data-parallel training with boostprop: ``NeuronBoost`` and ``ShortcutMLP`` under torchrun + DDP.

Trains a small classifier with ``torch.nn.parallel.DistributedDataParallel`` and either

- :class:`boostprop.NeuronBoost` (Munoz 2025, "Simple Linear Neuron Boosting", arXiv:2502.01131),
  which all-reduces its input moments and every ``Â·v`` product itself, or ``torch.optim.SGD`` /
  ``Adam``; on
- a plain tanh MLP (``--model mlp``) or a :class:`boostprop.ShortcutMLP` (Raiko, Valpola & LeCun,
  AISTATS 2012; Vatanen et al., ICONIP 2013, arXiv:1301.3476) whose transformations are updated
  by a :class:`boostprop.TransformSchedule` on every rank together (the update all-reduces its
  statistics).

Contract: with ``N`` processes and ``--batch-size B`` per rank, every rank ends with the parameters
that one process running this script with ``--batch-size N·B`` ends with (to float round-off),
because a ``DistributedSampler`` deals the global batch ``perm[k·N·B : (k+1)·N·B]`` of the shared
seeded permutation out to the ranks. ``tests/test_distributed_example.py`` checks this with two gloo
processes. See ``docs/distributed.md``.

Usage:
    torchrun --nproc_per_node 2 examples/ddp_train.py --model mlp --optimizer neuronboost
    torchrun --nproc_per_node 2 examples/ddp_train.py --model shortcut --optimizer sgd --save net.pt
    python examples/ddp_train.py --batch-size 128        # one process, no torch.distributed
"""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from boostprop import NeuronBoost, ShortcutMLP, TransformSchedule, shortcut_param_groups

MODELS = ("mlp", "shortcut")
OPTIMIZERS = ("neuronboost", "sgd", "adam")
TRANSFORMS = ("none", "alpha_beta", "alpha_beta_gamma")
#: Learning rate used when ``--lr`` is not given.
DEFAULT_LR = {"neuronboost": 0.3, "sgd": 0.1, "adam": 3e-3}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite float, got {text}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv=None``: ``sys.argv[1:]``); bad values exit with a message.

    Example:
        >>> parse_args(["--steps", "3"]).steps
        3
    """
    p = argparse.ArgumentParser(
        description="DDP training of an MLP or ShortcutMLP with NeuronBoost, SGD or Adam.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", choices=MODELS, default="mlp")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="neuronboost")
    p.add_argument("--steps", type=_nonnegative_int, default=200, help="optimizer steps")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="samples per rank")
    p.add_argument("--lr", type=_positive_float, default=None, help=f"default: {DEFAULT_LR}")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--seed", type=int, default=0, help="model init and data order")
    p.add_argument("--data", choices=("synthetic", "mnist1d"), default="synthetic")
    p.add_argument("--n-samples", type=_positive_int, default=4096, help="synthetic set size")
    p.add_argument("--features", type=_positive_int, default=20, help="synthetic input width")
    p.add_argument("--classes", type=_positive_int, default=4, help="synthetic class count")
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[64, 64], help="widths")
    p.add_argument("--transforms", choices=TRANSFORMS, default="alpha_beta", help="ShortcutMLP")
    p.add_argument("--transform-every", type=_positive_int, default=1, help="update every k steps")
    p.add_argument(
        "--transform-until",
        type=_positive_int,
        default=None,
        help="last step of per-minibatch updates; afterwards one update per epoch on the whole "
        "training set (default: per-minibatch updates throughout)",
    )
    p.add_argument("--log-every", type=_positive_int, default=20, help="print every k steps")
    p.add_argument("--save", default=None, help="write rank 0's final model state_dict here")
    p.add_argument(
        "--backend",
        choices=("gloo", "nccl", "mpi"),
        default=None,
        help="torch.distributed backend (default: nccl with CUDA, else gloo)",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = p.parse_args(argv)
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    return args


@dataclass(frozen=True)
class DistInfo:
    """Where this process runs: ``rank`` of ``world`` processes, on ``device``."""

    rank: int
    world: int
    device: torch.device
    distributed: bool


def setup(backend: str | None, device: str) -> DistInfo:
    """Initialise ``torch.distributed`` when launched by torchrun (``WORLD_SIZE`` set).

    Without torchrun's environment the script runs as one process and never touches
    ``torch.distributed``. With CUDA each process takes the GPU ``LOCAL_RANK``.

    Example:
        >>> setup(None, "cpu").world  # doctest: +SKIP
        1
    """
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise ValueError("--device cuda was requested but CUDA is not available")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if "WORLD_SIZE" not in os.environ:
        return DistInfo(rank=0, world=1, device=dev, distributed=False)
    if backend is None:
        backend = "nccl" if use_cuda else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=5))
    return DistInfo(dist.get_rank(), dist.get_world_size(), dev, distributed=True)


def synthetic_data(n: int, features: int, classes: int, seed: int = 1234) -> tuple[Tensor, Tensor]:
    """A deterministic classification set: labels of a random two-layer tanh teacher.

    Identical on every rank and every run for the same arguments (its own ``torch.Generator``).

    Example:
        >>> x, y = synthetic_data(8, 3, 2)
        >>> tuple(x.shape), y.dtype
        ((8, 3), torch.int64)
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w1 = torch.randn(features, 32, generator=g) / features**0.5
    w2 = torch.randn(32, classes, generator=g) / 32**0.5
    logits = torch.tanh(x @ w1 + 0.3 * torch.randn(32, generator=g)) @ w2
    return x, logits.argmax(dim=1)


def load_data(args: argparse.Namespace, info: DistInfo) -> tuple[Tensor, Tensor]:
    """The full training set, on every rank (the sampler picks each rank's shard)."""
    if args.data == "synthetic":
        return synthetic_data(args.n_samples, args.features, args.classes)
    from boostprop.data import load_mnist1d

    if info.distributed and info.rank != 0:
        dist.barrier()  # rank 0 generates and caches MNIST-1D first; the others then read it
    x, y = load_mnist1d("train", seed=0)
    if info.distributed and info.rank == 0:
        dist.barrier()
    return x, y


def build_model(
    name: str,
    sizes: Sequence[int],
    *,
    transforms: str = "alpha_beta",
    seed: int = 0,
) -> nn.Module:
    """A tanh MLP (``"mlp"``) or a :class:`ShortcutMLP` (``"shortcut"``) seeded with ``seed``.

    Example:
        >>> build_model("mlp", [4, 8, 3])(torch.randn(2, 4)).shape
        torch.Size([2, 3])
    """
    torch.manual_seed(seed)
    if name == "shortcut":
        return ShortcutMLP(list(sizes), transforms=transforms)
    if name != "mlp":
        raise ValueError(f"name must be one of {list(MODELS)}, got {name!r}")
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def build_optimizer(
    name: str, net: nn.Module, lr: float, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """NeuronBoost on the (unwrapped) ``net``, or SGD/Adam (shortcut learning rates for ShortcutMLP).

    Example:
        >>> type(build_optimizer("sgd", nn.Linear(2, 2), 0.1)).__name__
        'SGD'
    """
    if name == "neuronboost":
        # Hooks go on the inner Linear modules: the same optimizer works whether ``net`` is wrapped
        # in DDP before or after this line.
        return NeuronBoost(net, lr=lr)
    params = shortcut_param_groups(net, lr) if isinstance(net, ShortcutMLP) else net.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"name must be one of {list(OPTIMIZERS)}, got {name!r}")


def _global_mean(value: Tensor, info: DistInfo) -> float:
    """Mean of a per-rank scalar over all ranks (a collective: every rank must call it)."""
    value = value.detach().clone()
    if info.distributed:
        dist.all_reduce(value)
        value /= info.world
    return float(value)


def train(args: argparse.Namespace, info: DistInfo) -> nn.Module:
    """Run ``args.steps`` steps; returns the trained (unwrapped) model."""
    x, y = load_data(args, info)
    n_classes = args.classes if args.data == "synthetic" else int(y.max()) + 1
    sizes = [x.shape[1], *args.hidden, n_classes]
    net = build_model(args.model, sizes, transforms=args.transforms, seed=args.seed).to(info.device)

    # Every rank uses the same seeded permutation of the whole set per epoch and takes its
    # positions rank, rank + world, ...: with equal local batches the k-th global batch is
    # perm[k·world·B : (k+1)·world·B], the same as one process with batch world·B.
    data = TensorDataset(x, y)
    sampler: DistributedSampler[tuple[Tensor, ...]] = DistributedSampler(
        data, num_replicas=info.world, rank=info.rank, shuffle=True, seed=args.seed
    )
    if len(sampler) < args.batch_size:
        raise ValueError(
            f"--batch-size {args.batch_size} exceeds the {len(sampler)} samples per rank "
            f"({len(x)} samples over {info.world} ranks)"
        )
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, drop_last=True)

    model: nn.Module = net
    if info.distributed:
        device_ids = [info.device.index] if info.device.type == "cuda" else None
        model = DistributedDataParallel(net, device_ids=device_ids)  # broadcasts rank 0's init
    optimizer = build_optimizer(args.optimizer, net, args.lr, args.momentum)
    schedule = None
    if isinstance(net, ShortcutMLP) and args.transforms != "none":
        schedule = TransformSchedule(
            model, every_steps=args.transform_every, until_step=args.transform_until
        )

    if info.rank == 0:
        print(
            f"world size {info.world}, device {info.device}, model {args.model} {sizes}, "
            f"optimizer {args.optimizer} lr {args.lr}, global batch {info.world * args.batch_size}",
            flush=True,
        )
    step, epoch = 0, 0
    model.train()
    while step < args.steps:
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            xb, yb = xb.to(info.device), yb.to(info.device)
            loss = F.cross_entropy(model(xb), yb)  # mean over the local batch
            loss.backward()  # DDP averages the gradients over the ranks
            optimizer.step()  # NeuronBoost all-reduces its input moments and Â·v products
            optimizer.zero_grad(set_to_none=True)
            if schedule is not None:
                schedule.after_step(xb)  # every rank, same step: the update all-reduces
            step += 1
            if step % args.log_every == 0 or step == args.steps:
                mean_loss = _global_mean(loss, info)
                if info.rank == 0:
                    print(f"step {step:6d}  epoch {epoch:3d}  loss {mean_loss:.5f}", flush=True)
            if step >= args.steps:
                break
        else:  # a full epoch: in the epoch phase, update on this rank's shard (all ranks together)
            if schedule is not None:
                shard = torch.as_tensor(list(iter(sampler)), dtype=torch.long)
                schedule.on_epoch_end(x[shard].to(info.device))
            epoch += 1

    net.eval()
    with torch.no_grad():
        acc = (net(x.to(info.device)).argmax(dim=1) == y.to(info.device)).float().mean()
    if info.rank == 0:
        print(f"final training accuracy {float(acc):.4f} after {step} steps", flush=True)
    return net


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: parse ``argv``, train, save rank 0's ``state_dict``, clean up."""
    args = parse_args(argv)
    info = setup(args.backend, args.device)
    try:
        net = train(args, info)
        if args.save is not None and info.rank == 0:
            torch.save(net.state_dict(), args.save)
            print(f"saved {args.save}", flush=True)
        if info.distributed:
            dist.barrier()  # nobody exits (and tears the group down) before the checkpoint exists
    finally:
        if info.distributed:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
