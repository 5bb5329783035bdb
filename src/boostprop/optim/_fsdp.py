"""FSDP2 (``torch.distributed.fsdp.fully_shard``) support for :class:`NeuronBoost`.

Private helper of :class:`boostprop.optim.NeuronBoost` (D. Munoz, "Simple Linear Neuron Boosting",
arXiv:2502.01131, 2025). Under FSDP2 every parameter is a ``DTensor`` whose rows (dim 0) are
split over the data-parallel ranks, and its ``.grad`` is the sharded *mean* gradient over the
ranks (FSDP2's reduce-scatter). NeuronBoost's metric ``Â`` couples all entries of a neuron's
weight (the CG scalars and the step normaliser are sums over whole tensors), so the step is
taken on *full* tensors:

1. the sharded gradients are all-gathered, one collective per dtype for all parameters
   (``Shard(0)`` on a one-dimensional mesh, FSDP2's layout; any other layout falls back to
   ``DTensor.full_tensor()``, one collective per parameter);
2. each sharded parameter is replaced, for the duration of the step, by a plain full-size
   stand-in tensor holding the local rows (the other rows are zeros: every use of a parameter's
   *values* in the step is elementwise — weight decay and the update — so only the local rows of
   the result are read back, and gathering the parameters would be wasted communication);
3. the step runs unchanged, as under DDP: the input moments and every ``Â·v`` product are
   all-reduced over the ranks by NeuronBoost itself, so every rank solves the same system as one
   process holding the concatenated batch;
4. the local rows of each stand-in are written back into the parameter's local shard.

The optimizer state (gradient EMA, last CG solution, input-moment EMAs) is kept *full* on every
rank (like DDP), keyed by the sharded parameter. The communication cost is documented in
``docs/distributed.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ._linear_ops import Neuron

__all__ = ["check_sharding", "full_params"]


class _NoDTensor:
    """Stands in for ``DTensor`` while ``torch.distributed.tensor`` is not imported."""


def _dtensor_cls() -> type:
    mod = sys.modules.get("torch.distributed.tensor")
    cls = getattr(mod, "DTensor", None)
    return cls if isinstance(cls, type) else _NoDTensor


def _is_fsdp2_module(m: nn.Module) -> bool:
    mod = sys.modules.get("torch.distributed.fsdp")
    cls = getattr(mod, "FSDPModule", None)
    return cls is not None and isinstance(m, cls)


def check_sharding(model: nn.Module) -> bool:
    """Whether ``model`` has FSDP2-sharded parameters; raise for layouts NeuronBoost cannot step.

    Only classes of already-imported modules are checked: a model cannot be sharded unless
    ``torch.distributed.fsdp`` (or ``torch.distributed.tensor``) has been imported, and importing
    them here would cost seconds.

    Raises:
        ValueError: for FSDP1 (``FullyShardedDataParallel``, flat parameters), for ``DTensor``
            parameters outside any ``fully_shard`` module (tensor parallelism: the ranks then
            share one batch, and summing their metrics would be wrong), and for a sharded
            parameter whose gradient is not sharded like it.

    Example:
        >>> check_sharding(nn.Linear(2, 3))
        False
    """
    fsdp_mod = sys.modules.get("torch.distributed.fsdp")
    fsdp1 = getattr(fsdp_mod, "FullyShardedDataParallel", None)
    for m in model.modules():
        if fsdp1 is not None and isinstance(m, fsdp1):
            raise ValueError(
                "NeuronBoost does not support FSDP1 (FullyShardedDataParallel): its flat "
                "parameters hide the modules' weight matrices; use FSDP2 "
                "(torch.distributed.fsdp.fully_shard) or DistributedDataParallel"
            )
    for p in model.parameters():
        if getattr(p, "_is_flat_param", False):
            raise ValueError(
                "NeuronBoost does not support FSDP1 flat parameters; use FSDP2 "
                "(torch.distributed.fsdp.fully_shard) or DistributedDataParallel"
            )
    dtensor = _dtensor_cls()
    if not any(isinstance(p, dtensor) for p in model.parameters()):
        return False
    if not any(_is_fsdp2_module(m) for m in model.modules()):
        raise ValueError(
            "NeuronBoost supports DTensor parameters only under FSDP2 "
            "(torch.distributed.fsdp.fully_shard); tensor-parallel layouts are not supported"
        )
    return True


def _fast_layout(t: Any) -> bool:
    """FSDP2's default layout: ``Shard(0)`` on a one-dimensional mesh."""
    placements = t.placements
    return (
        t.device_mesh.ndim == 1
        and len(placements) == 1
        and placements[0].is_shard()
        and getattr(placements[0], "dim", None) == 0
    )


def _row_range(rows: int, world: int, rank: int) -> tuple[int, int]:
    """Rows of ``rank``'s shard under ``torch.chunk`` semantics (FSDP2's ``_chunk_with_empty``)."""
    chunk = -(-rows // world) if rows else 0
    start = min(rows, rank * chunk)
    return start, min(rows, start + chunk)


def _gather(tensors: Sequence[Any]) -> list[Tensor]:
    """Full plain tensors of the sharded ``tensors`` (DTensors), batched into few collectives."""
    out: list[Tensor | None] = [None] * len(tensors)
    batches: dict[tuple[Any, torch.dtype, torch.device], list[int]] = {}
    for i, t in enumerate(tensors):
        if _fast_layout(t):
            local = t.to_local()
            batches.setdefault((t.device_mesh, local.dtype, local.device), []).append(i)
        else:
            out[i] = t.full_tensor()
    for (mesh, dtype, device), idx in batches.items():
        pg = mesh.get_group()
        world = dist.get_world_size(pg)
        pieces: list[Tensor] = []
        sizes: list[tuple[int, int, int]] = []  # (padded rows, row numel, total rows)
        for i in idx:
            t = tensors[i]
            rows = int(t.shape[0])
            row_numel = 1
            for s in t.shape[1:]:
                row_numel *= int(s)
            chunk = -(-rows // world) if rows else 0
            local = t.to_local().reshape(-1)
            pad = chunk * row_numel - local.numel()
            if pad:
                local = torch.cat([local, local.new_zeros(pad)])
            pieces.append(local)
            sizes.append((chunk, row_numel, rows))
        send = torch.cat(pieces) if len(pieces) > 1 else pieces[0].contiguous()
        recv = torch.empty(world * send.numel(), dtype=dtype, device=device)
        dist.all_gather_single(recv, send, group=pg)
        grid = recv.view(world, send.numel())
        offset = 0
        for i, (chunk, row_numel, rows) in zip(idx, sizes, strict=True):
            n = chunk * row_numel
            full = grid[:, offset : offset + n].reshape(world * chunk, *tensors[i].shape[1:])
            out[i] = full[:rows].clone() if world * chunk != rows else full.clone()
            offset += n
    result: list[Tensor] = []
    for t in out:
        assert t is not None
        result.append(t)
    return result


def _local_slices(p: Any) -> tuple[slice, ...]:
    """Index of ``p``'s local shard in its full tensor."""
    if _fast_layout(p):
        pg = p.device_mesh.get_group()
        lo, hi = _row_range(int(p.shape[0]), dist.get_world_size(pg), dist.get_rank(pg))
        return (slice(lo, hi),)
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    shape, offset = compute_local_shape_and_global_offset(p.shape, p.device_mesh, p.placements)
    return tuple(slice(o, o + s) for o, s in zip(offset, shape, strict=True))


@contextmanager
def full_params(opt: torch.optim.Optimizer, neurons: Sequence[Neuron]) -> Iterator[None]:
    """Run a step of ``opt`` on full plain stand-ins of its sharded (FSDP2) parameters.

    On entry every ``DTensor`` parameter of ``opt.param_groups`` is replaced by a full-size plain
    tensor holding its local rows (zeros elsewhere) whose ``.grad`` is the all-gathered gradient,
    in the parameter groups, in ``opt.state`` (the state moves to the stand-in), in every
    attribute of the ``neurons`` (and of their ``members``) that holds it, and in the optimizer's
    ``_group_of`` map from parameter ids to groups if it has one. On a normal exit the stand-ins' local rows are copied into the local shards; on
    every exit the parameters, state keys and neurons are restored. Without sharded parameters
    this does nothing.

    Example:
        >>> model = nn.Linear(2, 1); opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> with full_params(opt, []):
        ...     pass
    """
    dtensor = _dtensor_cls()
    if dtensor is _NoDTensor:  # nothing can be sharded
        yield
        return
    sharded: list[Any] = []
    seen: set[int] = set()
    for group in opt.param_groups:
        for p in group["params"]:
            if isinstance(p, dtensor) and id(p) not in seen:
                seen.add(id(p))
                sharded.append(p)
    for n in neurons:
        w = getattr(n.module, "weight", None)
        if isinstance(w, dtensor) and id(w) not in seen:
            raise RuntimeError(
                f"NeuronBoost: the weight of module {n.name!r} was replaced by a sharded one "
                "after the optimizer was built (fully_shard after NeuronBoost?); construct "
                "NeuronBoost after fully_shard"
            )
    if not sharded:
        yield
        return
    with_grad = [p for p in sharded if p.grad is not None]
    for p in with_grad:
        g = p.grad
        if not isinstance(g, dtensor) or getattr(g, "placements", None) != p.placements:
            raise ValueError(
                "NeuronBoost: the gradient of a sharded parameter must be a DTensor sharded like "
                f"the parameter, got {type(p.grad).__name__}"
            )
    full_grads = dict(zip(map(id, with_grad), _gather([p.grad for p in with_grad]), strict=True))
    stand_in: dict[int, Tensor] = {}
    slices: dict[int, tuple[slice, ...]] = {}
    for p in sharded:
        local = p.to_local()
        full = local.new_zeros(p.shape)
        sl = _local_slices(p)
        full[sl].copy_(local)
        full_grad = full_grads.get(id(p))
        if full_grad is not None:
            full.grad = full_grad
        stand_in[id(p)] = full
        slices[id(p)] = sl
    originals = [list(group["params"]) for group in opt.param_groups]
    # every attribute of a neuron (or of a member of a tied neuron) that holds a sharded parameter
    neuron_attrs: list[tuple[Neuron, str, Tensor]] = []
    todo = list(neurons)
    while todo:
        n = todo.pop()
        for name, value in vars(n).items():
            if isinstance(value, Tensor) and id(value) in stand_in:
                neuron_attrs.append((n, name, value))
            elif isinstance(value, list):
                todo += [v for v in value if isinstance(v, Neuron)]
    # NeuronBoost's map from id(parameter) to its group
    group_of = getattr(opt, "_group_of", None)
    if not isinstance(group_of, dict):
        group_of = {}
    added: list[int] = []
    moved: list[tuple[Any, Tensor]] = []
    try:
        for group in opt.param_groups:
            group["params"] = [stand_in.get(id(p), p) for p in group["params"]]
        for p in sharded:
            if p in opt.state:
                opt.state[stand_in[id(p)]] = opt.state.pop(p)
            moved.append((p, stand_in[id(p)]))
        for n, name, value in neuron_attrs:
            setattr(n, name, stand_in[id(value)])
        for p in sharded:
            if id(p) in group_of:
                group_of[id(stand_in[id(p)])] = group_of[id(p)]
                added.append(id(stand_in[id(p)]))
        yield
        for p in sharded:
            p.to_local().copy_(stand_in[id(p)][slices[id(p)]])
    finally:
        for p, full in moved:
            if full in opt.state:
                opt.state[p] = opt.state.pop(full)
        for group, params in zip(opt.param_groups, originals, strict=True):
            group["params"] = params
        for n, name, value in neuron_attrs:
            setattr(n, name, value)
        for key in added:
            group_of.pop(key, None)
