"""NeuronBoost: linear neuron boosting as a PyTorch optimizer.

Implements D. Munoz, "Simple Linear Neuron Boosting", arXiv:2502.01131 (2025): every ``Linear``,
``Conv1d``, ``Conv2d`` and ``Embedding`` module and every block (q, k, v, out) of an
``nn.MultiheadAttention`` is a "neuron" whose update is the ridge regression of the
back-propagated errors onto the module's inputs, ``H = G (A + γ·diag(1, …, 1, 0))⁻¹`` with
``A = mean x̃ x̃ᵀ`` the augmented input second moment (K-FAC with only the input factor). The
system is solved online, matrix-free, by a few iterations of warm-started conjugate gradient
preconditioned by a diagonal (plus exact bias) approximation of ``A⁻¹`` built from EMAs of the
input moments, followed by a global step normalisation and decoupled weight decay. See
``docs/neuron_boost.md`` for the math and the measured verdict.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from . import _fsdp  # FSDP2 support (sharded parameters)
from ._linear_ops import (
    EmbeddingNeuron,
    Neuron,
    TiedNeuron,
    expand_per_weight,
    is_neuron_module,
)

__all__ = ["NeuronBoost", "decay_groups"]

Schedule = float | Callable[[int], float]


def _check_schedule(name: str, value: object) -> None:
    if callable(value):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive float or a callable of the step, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")


def decay_groups(model: nn.Module, weight_decay: float = 1e-4) -> list[dict[str, Any]]:
    """The usual split of ``model``'s parameters into two groups: decay and no decay.

    Matrices and kernels (parameters with ``dim() >= 2``: Linear/Conv/Embedding/attention
    weights) get ``weight_decay``; vectors (biases, the weights and biases of norm layers) get
    none. Shared parameters are listed once; parameters with ``requires_grad=False`` are left out.
    Pass the result as ``params`` of :class:`NeuronBoost` (or of any ``torch.optim`` optimizer).

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
        >>> groups = decay_groups(model, weight_decay=1e-2)
        >>> [len(g["params"]) for g in groups], [g["weight_decay"] for g in groups]
        ([2, 4], [0.01, 0.0])
        >>> opt = NeuronBoost(model, lr=0.1, params=groups)
    """
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)):
        raise TypeError(f"weight_decay must be a float >= 0, got {weight_decay!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be a float >= 0, got {weight_decay!r}")
    decay: list[Tensor] = []
    no_decay: list[Tensor] = []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


@dataclass
class _Prepared:
    """Per-step statistics of the active neurons (global under DDP)."""

    counts: list[float]
    nsamp: list[float]
    sums: list[Tensor]
    spans: list[tuple[int, int]]


def _rows(t: Tensor, rows: slice | None) -> Tensor:
    return t if rows is None else t[rows]


def _assemble(
    pieces: list[tuple[slice | None, Tensor, float]] | None, m: Tensor, c: float
) -> tuple[Tensor, float]:
    """A parameter's step direction ``h = scale·tensor`` from its neurons' pieces (rows)."""
    if not pieces:
        return m, c  # identity metric: h = ḡ = c·m
    if len(pieces) == 1 and pieces[0][0] is None:
        return pieces[0][1], pieces[0][2]
    full = torch.mul(m, c)  # rows that no neuron owns keep the identity metric
    for rows, t, sc in pieces:
        target = full if rows is None else full[rows]
        target.copy_(t)
        if sc != 1.0:
            target.mul_(sc)
    return full, 1.0


def _grad_sq_norms(grads: list[Tensor]) -> Tensor:
    """Sums of squared gradient norms (float64), one per (dtype, device) group of ``grads``, each
    norm computed in its gradient's own precision (float32 for half-precision gradients)."""
    by: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for g in grads:
        by.setdefault((g.dtype, g.device), []).append(g)
    dev = grads[0].device
    out: list[Tensor] = []
    for (dt, _), gs in by.items():
        if dt in (torch.float16, torch.bfloat16):
            norms = [torch.linalg.vector_norm(g, dtype=torch.float32) for g in gs]
        else:
            norms = list(torch._foreach_norm(gs))
        out.append(torch.stack(norms).to(device=dev, dtype=torch.float64).square().sum())
    return torch.stack(out)


class NeuronBoost(torch.optim.Optimizer):
    r"""Linear neuron boosting (Munoz 2025): a per-module input-whitening preconditioner.

    Every ``nn.Linear``, ``nn.Conv1d`` and ``nn.Conv2d`` of ``model`` (a *neuron*, unless listed in
    ``skip_modules``) is updated with the ridge-regression step ``h = ḡ (Â + γ I_w)⁻¹`` where ``Â``
    is the second moment of the module's augmented inputs ``x̃ = [x; 1]`` on the current
    minibatch (one sample per row of a ``Linear`` input ``(..., d_in)``; one sample per output
    position of a convolution), ``ḡ`` the bias-corrected EMA of the gradient, and the ridge ``γ``
    never touches the bias. The system is solved by ``cg_iters`` iterations of preconditioned
    conjugate gradient warm-started at the previous step's solution; ``Â·v`` is applied
    matrix-free (the module's forward with weights ``v`` and its weight-gradient op; for a
    ``Linear`` layer the ``d_in × d_in`` Gram matrix of the same minibatch is used instead when
    that costs fewer flops). The preconditioner is the exact inverse of
    ``[[diag σ² + μμᵀ, μ], [μᵀ, 1]]`` built from bias-corrected EMAs ``μ`` (β_μ) and ``ν`` (β_ν)
    of the per-feature input mean and mean square, ``σ² = shrink(max(0, ν − μ²))`` with
    ``shrink(d) = (1 − s)·d + s·mean(d)`` (without a bias: ``1 / (σ² + μ²)``); conv moments are
    per input channel, shared across kernel taps. ``nn.Embedding`` is a linear map of one-hot
    inputs whose metric is exactly diagonal (the lookup counts): its ridge system is solved
    exactly. The q, k and v blocks of ``nn.MultiheadAttention``'s input projection use the
    metrics of ``query``, ``key`` and ``value``, its ``out_proj`` that of the attention output.
    A weight shared by several modules (tied embedding and head) uses the metric of the union
    of their samples. Every other parameter (norm layers, bare ``nn.Parameter``s, …) uses
    ``h = ḡ``. The update is

    ``θ ← θ − lr·(h / s + weight_decay·θ)``,  ``s = max(min_norm, sqrt(Σ_all params ⟨h, ḡ⟩))``.

    Usage is that of any optimizer: ``loss.backward(); opt.step(); opt.zero_grad()``. Forward
    hooks registered at construction capture each neuron's input during forward passes in
    training mode with gradients enabled. ``Â`` is the second moment over all such inputs since
    the last ``step()`` (gradient accumulation; a neuron called several times per forward), and
    ``zero_grad()`` forgets the inputs whose backward has already run (their gradients are
    discarded), so the metric covers exactly the forwards behind ``.grad``. A neuron that
    receives a gradient but whose hook saw no input (its weight used functionally) gets the
    identity metric with a one-time warning; list it in ``skip_modules`` to silence the warning.
    A non-finite gradient or input skips the step and leaves the state untouched (a
    ``RuntimeWarning``; ``skipped_steps`` counts them). A model without any neuron gets the identity metric
    everywhere (a warning is issued at construction). Parameters whose ``.grad`` is ``None`` are
    left untouched, as in ``torch.optim.SGD``.

    Args:
        model: the module whose layers are hooked (and, unless ``params`` is given, whose
            parameters are optimised, as one group).
        lr: learning rate, positive float or callable ``step -> float`` where ``step`` is the
            number of completed ``step()`` calls (0 for the first step). Floats live in the
            parameter groups (``param_groups[i]["lr"]``, e.g. for a ``torch.optim.lr_scheduler``;
            a schedule may set 0). Default 0.1 (the reference's MNIST value 0.5 collapses on
            CNNs; see ``docs/neuron_boost.md``).
        ridge: ridge ``γ`` added to the weight (not the bias) block of ``Â``; positive float or
            callable of the step, like ``lr``. Default 1.0 (the reference's MNIST example; its
            ``lnb()`` default 0.1 is unstable with large learning rates).
        cg_iters: conjugate-gradient iterations (≥ 1). Ignored with ``approx_metric=True``.
        betas: ``(β_g, β_μ, β_ν)``: EMA coefficients of the gradient (momentum), of the input
            mean and of the input mean square, each in ``[0, 1)``; all EMAs are bias-corrected.
        shrinkage: ``s`` in ``[0, 1]``, shrinkage of the per-feature variances towards their mean.
        min_norm: positive floor of the step normaliser ``s``.
        weight_decay: decoupled weight decay (≥ 0) of every group that does not set its own,
            not divided by ``s``. Default 1e-4, the reference's (torch's SGD/Adam: 0, AdamW:
            1e-2).
        approx_metric: use the diagonal preconditioner only (``h = P ḡ``), no CG (embeddings
            still get their exact diagonal solve).
        grad_clip: if given (> 0), gradients are rescaled so that their global norm is at most
            ``grad_clip`` before entering the EMA (the ``.grad`` tensors are not modified).
        skip_modules: modules (instances) or module classes whose parameters get the identity
            metric even if they are Linear/Conv.
        process_group: distributed group over which ``Â·v`` products and input moments are
            reduced; ``None`` means the default group when ``torch.distributed`` is initialised
            with more than one process, else no reduction.
        params: ``None`` (all of ``model``'s parameters) or, as in ``torch.optim``, an iterable
            of tensors or of parameter-group dicts. A group may set ``lr``, ``weight_decay``,
            ``ridge`` and ``precondition`` (``False``: identity metric for its parameters); the
            other options are global. See :func:`decay_groups`.

    Distributed contract (DDP): wrap the model in ``DistributedDataParallel`` *before* or
    *after* constructing the optimizer (hooks are on the inner modules either way), and let DDP
    average the gradients as usual. At every ``step()`` each rank sums its input moments and,
    for every CG product, its local ``Σ x̃ x̃ᵀ v`` over all ranks of ``process_group`` and divides
    by the global sample count, so all ranks solve the same system as one process holding the
    concatenated batch and take identical steps. For this to equal the single-process step on
    the concatenated batch, the gradient that DDP averages must be the global-batch gradient,
    i.e. equal local batch sizes with a mean-reduced loss. All ranks must call ``step()`` the
    same number of times with the same set of neurons having seen a forward.

    FSDP2 (``torch.distributed.fsdp.fully_shard``): construct the optimizer *after* sharding. The
    sharded gradients are all-gathered at each ``step()``, the step is taken on full tensors as
    under DDP (same reductions, same result as one process on the concatenated batch) and each
    rank writes back its own rows; the optimizer state is kept full on every rank (see
    ``docs/distributed.md``). FSDP1 (``FullyShardedDataParallel``) and tensor-parallel
    ``DTensor`` parameters raise ``ValueError``.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        >>> opt = NeuronBoost(model, lr=0.5)
        >>> x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
        >>> loss = nn.functional.cross_entropy(model(x), y)
        >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        model: nn.Module,
        lr: Schedule = 0.1,
        *,
        ridge: Schedule = 1.0,
        cg_iters: int = 2,
        betas: tuple[float, float, float] = (0.9, 0.9, 0.999),
        shrinkage: float = 0.1,
        min_norm: float = 1e-2,
        weight_decay: float = 1e-4,
        approx_metric: bool = False,
        grad_clip: float | None = None,
        skip_modules: Iterable[nn.Module | type[nn.Module]] = (),
        process_group: Any | None = None,
        params: Any | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        _check_schedule("lr", lr)
        _check_schedule("ridge", ridge)
        if isinstance(cg_iters, bool) or not isinstance(cg_iters, int):
            raise ValueError(f"cg_iters must be an integer >= 1, got {cg_iters!r}")
        if cg_iters < 1 and not approx_metric:
            raise ValueError(
                f"cg_iters must be an integer >= 1, got {cg_iters!r}; for the diagonal metric "
                "without CG pass approx_metric=True (cg_iters is then ignored). In the JAX "
                "reference cg_maxiter=0 returns the warm start unchanged, which is not a step"
            )
        if not (isinstance(betas, Sequence) and len(betas) == 3):
            raise ValueError(f"betas must be a tuple (beta_g, beta_mu, beta_nu), got {betas!r}")
        for bname, b in zip(("beta_g", "beta_mu", "beta_nu"), betas, strict=True):
            if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0.0 <= b < 1.0:
                raise ValueError(f"betas: {bname} must be a float in [0, 1), got {b!r}")
        if not isinstance(shrinkage, (int, float)) or not 0.0 <= shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be a float in [0, 1], got {shrinkage!r}")
        if not isinstance(min_norm, (int, float)) or not min_norm > 0:
            raise ValueError(f"min_norm must be a positive float, got {min_norm!r}")
        if not isinstance(weight_decay, (int, float)) or not weight_decay >= 0:
            raise ValueError(f"weight_decay must be a float >= 0, got {weight_decay!r}")
        if grad_clip is not None and (not isinstance(grad_clip, (int, float)) or not grad_clip > 0):
            raise ValueError(f"grad_clip must be None or a positive float, got {grad_clip!r}")
        if not isinstance(approx_metric, bool):
            raise TypeError(f"approx_metric must be a bool, got {approx_metric!r}")
        skip = tuple(skip_modules)
        for s in skip:
            if not (isinstance(s, nn.Module) or (isinstance(s, type) and issubclass(s, nn.Module))):
                raise TypeError(
                    f"skip_modules must contain nn.Module instances or classes, got {s!r}"
                )
        # FSDP2: sharded parameters are stepped on full stand-ins (see _fsdp); FSDP1 raises.
        _fsdp.check_sharding(model)
        groups = _param_groups(model, params, callable(lr), callable(ridge))

        self._lr_fn: Callable[[int], float] | None = lr if callable(lr) else None
        self._ridge_fn: Callable[[int], float] | None = ridge if callable(ridge) else None
        defaults: dict[str, Any] = {
            "lr": 0.0 if callable(lr) else float(lr),
            "ridge": 0.0 if callable(ridge) else float(ridge),
            "cg_iters": cg_iters,
            "betas": tuple(float(b) for b in betas),
            "shrinkage": float(shrinkage),
            "min_norm": float(min_norm),
            "weight_decay": float(weight_decay),
            "approx_metric": approx_metric,
            "grad_clip": None if grad_clip is None else float(grad_clip),
            "precondition": True,
            "step": 0,
        }
        super().__init__(groups, defaults)
        for g in self.param_groups:
            _check_group(g, defaults)
        self._process_group = process_group

        # ---- neurons and hooks
        group_of: dict[int, dict[str, Any]] = {}
        for g in self.param_groups:
            for p in g["params"]:
                group_of[id(p)] = g
        self._group_of = group_of

        def optimised(t: object) -> bool:
            if not isinstance(t, Tensor) or not t.requires_grad:
                return False
            g = group_of.get(id(t))
            return g is not None and bool(g["precondition"])

        def skipped(m: nn.Module) -> bool:
            return any((m is s) if isinstance(s, nn.Module) else isinstance(m, s) for s in skip)

        # (module, neurons it captures for, kind of hook)
        hooked: list[tuple[nn.Module, list[Neuron | None], str]] = []
        flat: list[Neuron] = []
        seen: set[int] = set()
        for name, m in model.named_modules():
            if id(m) in seen:
                continue
            seen.add(id(m))
            label = name or type(m).__name__
            if isinstance(m, nn.MultiheadAttention):
                seen.add(id(m.out_proj))
                if skipped(m):
                    continue
                blocks = _attention_neurons(m, label, optimised, skip=skipped(m.out_proj))
                if any(b is not None for b in blocks):
                    hooked.append((m, blocks, "attention"))
                    flat += [b for b in blocks if b is not None]
                continue
            if skipped(m):
                continue
            if isinstance(m, nn.Embedding):
                if optimised(m.weight):
                    n: Neuron = EmbeddingNeuron(module=m, name=label, weight=m.weight, bias=None)
                    hooked.append((m, [n], "input"))
                    flat.append(n)
                continue
            if not is_neuron_module(m) or not optimised(m.weight):
                continue
            bias = m.bias if optimised(m.bias) else None
            n = Neuron(module=m, name=label, weight=m.weight, bias=bias)
            hooked.append((m, [n], "input"))
            flat.append(n)
        self._neurons: list[Neuron] = _tie(flat)
        if not self._neurons:
            warnings.warn(
                "NeuronBoost: model has no Linear/Conv1d/Conv2d/Embedding/MultiheadAttention "
                "module to precondition; every parameter gets the identity metric (a normalised "
                "momentum step)",
                stacklevel=2,
            )
        self._warned: set[str] = set()
        # weight-sized CG work buffers reused across steps (not state: no need to save them);
        # a fresh weight-sized tensor per step costs page faults that exceed its arithmetic
        self._work: dict[tuple[int, str], Tensor] = {}
        self.skipped_steps = 0
        self._handles: list[RemovableHandle] = []
        ref = weakref.ref(self)
        for m, ns, how in hooked:
            _take_over(m, self)
            if how == "attention":
                self._handles.append(
                    m.register_forward_hook(_attention_hook(ref, ns), with_kwargs=True)
                )
            else:
                first = ns[0]
                assert first is not None
                self._handles.append(m.register_forward_hook(_input_hook(ref, first)))
        by_weight: dict[int, tuple[Tensor, list[Neuron]]] = {}
        for n in flat:
            by_weight.setdefault(id(n.weight), (n.weight, []))[1].append(n)
        for w, ns_w in by_weight.values():
            if w.is_leaf:  # marks the inputs whose gradient has been accumulated
                self._handles.append(w.register_post_accumulate_grad_hook(_grad_hook(ref, ns_w)))
        self._hooked = [m for m, _, _ in hooked]
        weakref.finalize(self, _remove_handles, self._handles)

    def remove_hooks(self) -> None:
        """Remove the forward hooks from the model (the optimizer cannot step afterwards).

        Example:
            >>> opt = NeuronBoost(nn.Linear(2, 1)); opt.remove_hooks()
        """
        _remove_handles(self._handles)
        self._clear_inputs()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients, as ``torch.optim.Optimizer.zero_grad``, and forget the inputs
        of the forwards whose gradients they held.

        The metric of a step is formed from the training-mode forwards since the last
        ``step()``; ``zero_grad()`` drops those whose backward has already run (their gradients
        are discarded) and keeps those whose backward is still to come (Lightning zeroes the
        gradients between a micro-batch's forward and its backward). So the metric covers
        exactly the forwards whose gradients ``.grad`` holds at ``step()`` (gradient
        accumulation; a step skipped by ``GradScaler`` followed by ``zero_grad()``).

        Example:
            >>> model = nn.Linear(3, 1); opt = NeuronBoost(model)
            >>> model(torch.randn(4, 3)).sum().backward(); opt.zero_grad()
        """
        super().zero_grad(set_to_none=set_to_none)
        for n in self._neurons:
            n.forget_done()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict`, after checking that it fits this optimizer.

        Raises:
            ValueError: naming the mismatch, if ``state_dict`` is not a NeuronBoost state of the
                same parameters (another optimizer's state, another architecture, another
                split into groups).

        Example:
            >>> model = nn.Linear(3, 1); opt = NeuronBoost(model)
            >>> opt.load_state_dict(opt.state_dict())
        """
        _check_state_dict(self, state_dict)
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            for p in g["params"]:
                self._group_of[id(p)] = g

    # ------------------------------------------------------------------ helpers
    def _group(self) -> dict[str, Any]:
        return self.param_groups[0]

    def _resolve(self, name: str, fn: Callable[[int], float] | None, step: int) -> None:
        """Set every group's ``name`` from the schedule ``fn`` (if any) and check the values."""
        for group in self.param_groups:
            if fn is not None:
                group[name] = fn(step)
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must evaluate to a positive float, got {value!r}")
            # a schedule may bring lr to 0 (warm-up from 0); the ridge must stay positive
            if not (math.isfinite(value) and (value > 0 or (name == "lr" and value == 0))):
                raise ValueError(
                    f"{name} must be positive and finite at step {step}, got {value!r}"
                )

    def _dist_group(self) -> Any | None:
        """The group to reduce over, or None when running in a single process."""
        if not (dist.is_available() and dist.is_initialized()):
            return None
        group = self._process_group if self._process_group is not None else dist.group.WORLD
        if dist.get_world_size(group) <= 1:
            return None
        return group

    @staticmethod
    def _all_reduce(tensors: list[Tensor], group: Any | None) -> list[Tensor]:
        """Sum ``tensors`` across ``group`` with a single collective (identity without group)."""
        if group is None or not tensors:
            return tensors
        dtype = tensors[0].dtype
        for t in tensors[1:]:
            dtype = torch.promote_types(dtype, t.dtype)
        flat = torch.cat([t.reshape(-1).to(dtype) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
        out: list[Tensor] = []
        offset = 0
        for t in tensors:
            n = t.numel()
            out.append(flat[offset : offset + n].view_as(t).to(t.dtype))
            offset += n
        return out

    # ------------------------------------------------------------------ the step
    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Take one NeuronBoost step from the current ``.grad`` and captured inputs.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss (it is
                called with gradients enabled, before the step).

        Returns:
            The closure's loss, or ``None``.

        Example:
            >>> model = nn.Linear(3, 1); opt = NeuronBoost(model)
            >>> model(torch.randn(8, 3)).pow(2).mean().backward(); opt.step()
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # FSDP2: the step proper runs on full stand-ins of the sharded parameters (see _fsdp).
        with _fsdp.full_params(self, self._neurons):
            return self._step(loss)

    def _step(self, loss: float | None) -> float | None:
        """The step after the closure (on full tensors under FSDP2); returns ``loss``."""
        group0 = self._group()
        t_done = int(group0["step"])
        self._resolve("lr", self._lr_fn, t_done)
        self._resolve("ridge", self._ridge_fn, t_done)
        beta_g, beta_mu, beta_nu = group0["betas"]
        shrink = group0["shrinkage"]
        cg_iters = int(group0["cg_iters"])
        use_cg = not group0["approx_metric"]
        pg = self._dist_group()

        if self._neurons and not self._handles:
            raise RuntimeError(
                "NeuronBoost.step() after remove_hooks(): the forward hooks that capture the "
                "neurons' inputs were removed (by remove_hooks() or by a newer NeuronBoost on "
                "the same model)"
            )
        if self._neurons and not any(n.has_inputs() for n in self._neurons):
            raise RuntimeError(
                "NeuronBoost.step() called before any forward pass of the model in training mode "
                "(with gradients enabled) since the last step: the neurons' inputs are needed "
                "(a torch.compile'd model must get its NeuronBoost before its first compiled "
                "forward: hooks added later are not traced)"
            )

        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            self._clear_inputs()
            return loss
        for p in params:
            if p.grad.is_sparse:
                raise TypeError("NeuronBoost does not support sparse gradients")

        # ---- neurons active this step
        active: list[Neuron] = []
        for n in self._neurons:
            if n.weight.grad is None:
                continue
            if not n.has_inputs():
                if n.name not in self._warned:
                    self._warned.add(n.name)
                    warnings.warn(
                        f"NeuronBoost: module {n.name!r} received a gradient but its forward hook "
                        "saw no training-mode input (weight used outside its forward?); it gets "
                        "the identity metric. Pass it in skip_modules to silence this warning.",
                        stacklevel=3,
                    )
                continue
            active.append(n)

        # ---- sample counts and input statistics (reduced across ranks), before any state
        # changes: an empty batch raises, a non-finite gradient or input skips the step.
        prep = self._prepare(active, use_cg, cg_iters, pg) if active else None
        grads = [p.grad for p in params]
        sums = prep.sums if prep is not None else []
        g0 = grads[0]
        if g0.dtype in (torch.float32, torch.float64) and all(
            t.dtype == g0.dtype and t.device == g0.device for t in (*grads, *sums)
        ):
            # one dtype and device (the usual case): all norms in one fused call, one host sync
            norms = torch.stack(torch._foreach_norm([*grads, *sums])).tolist()
            vals = norms
            total_sq = math.fsum(v * v for v in norms[: len(grads)])
        else:
            sq_norms = _grad_sq_norms(grads)
            checks = [sq_norms]
            # a norm is finite iff every entry is
            by_dt: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
            for t in sums:
                by_dt.setdefault((t.dtype, t.device), []).append(t)
            for ts in by_dt.values():
                checks.append(torch.stack(torch._foreach_norm(ts)).to(sq_norms))
            vals = torch.cat(checks).tolist()
            total_sq = math.fsum(vals[: sq_norms.numel()])
        if not all(math.isfinite(v) for v in vals):
            self.skipped_steps += 1
            warnings.warn(
                "NeuronBoost: non-finite gradient or module input; the step is skipped and the "
                "optimizer state is left unchanged (as torch.amp.GradScaler does)",
                RuntimeWarning,
                stacklevel=3,
            )
            self._clear_inputs()
            return loss

        # ---- gradient EMA (momentum) with optional global-norm clipping
        state = self.state
        clip_scale = 1.0
        if group0["grad_clip"] is not None:
            total = math.sqrt(total_sq)
            if total > group0["grad_clip"]:
                clip_scale = group0["grad_clip"] / total
        # exp_avg[p] is the raw EMA m; the bias-corrected EMA is ḡ = corr[id(p)]·m (never formed).
        corr: dict[int, float] = {}
        exp_avgs: list[Tensor] = []
        for p in params:
            st = state[p]
            if "exp_avg" not in st:
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["step"] = 0
            st["step"] += 1
            exp_avgs.append(st["exp_avg"])
            corr[id(p)] = 1.0 / (1.0 - beta_g ** st["step"])
        if clip_scale != 1.0:
            grads = list(torch._foreach_mul(grads, clip_scale))
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta_g)

        # ``parts[id(p)]``: (rows, tensor, scale) pieces of the step direction h = scale·tensor.
        parts: dict[int, list[tuple[slice | None, Tensor, float]]] = {}
        if prep is not None:
            # the groups as they are now (FSDP2 swaps in full stand-ins of sharded parameters)
            group_of = {id(p): g for g in self.param_groups for p in g["params"]}
            ridges = [float(group_of[id(n.weight)]["ridge"]) for n in active]
            self._neuron_directions(
                active, prep, parts, corr, beta_mu, beta_nu, shrink, ridges, use_cg, cg_iters, pg
            )

        # ---- global normalisation s = max(min_norm, sqrt(Σ⟨h, ḡ⟩)) and update, per group
        dots: list[Tensor] = []
        dot_scales: list[float] = []
        per_group: list[tuple[dict[str, Any], list[Tensor], list[Tensor], list[float]]] = []
        for g in self.param_groups:
            gp, gh, gs = [], [], []
            for p in g["params"]:
                if p.grad is None:
                    continue
                m = state[p]["exp_avg"]
                c = corr[id(p)]
                ht, hscale = _assemble(parts.get(id(p)), m, c)
                dots.append(torch.dot(ht.reshape(-1), m.reshape(-1)))
                dot_scales.append(hscale * c)
                gp.append(p)
                gh.append(ht)
                gs.append(hscale)
            per_group.append((g, gp, gh, gs))
        total_dot = math.fsum(
            d * sc for d, sc in zip(torch.stack(dots).tolist(), dot_scales, strict=True)
        )
        s = max(group0["min_norm"], math.sqrt(max(0.0, total_dot)))
        for g, gp, gh, gs in per_group:
            if not gp:
                continue
            lr, wd = float(g["lr"]), float(g["weight_decay"])
            if wd != 0.0:
                torch._foreach_mul_(gp, 1.0 - lr * wd)
            by_scale: dict[float, tuple[list[Tensor], list[Tensor]]] = {}
            for p, ht, hscale in zip(gp, gh, gs, strict=True):
                ps_, hts_ = by_scale.setdefault(hscale, ([], []))
                ps_.append(p)
                hts_.append(ht)
            for hscale, (ps_, hts_) in by_scale.items():
                torch._foreach_add_(ps_, hts_, alpha=-lr * hscale / s)
        for g in self.param_groups:
            g["step"] = t_done + 1
        self._clear_inputs()
        return loss

    def _prepare(
        self, active: list[Neuron], use_cg: bool, cg_iters: int, pg: Any | None
    ) -> _Prepared:
        """Sample counts, the Gram-or-matrix-free choice and the input statistics of a step.

        Raises ``ValueError`` (after freeing the inputs) when a neuron saw no sample.
        """
        n_act = len(active)
        n_products = (cg_iters + 1) if use_cg else 0
        counts = [n.moment_count() for n in active]
        nsamp = [float(n.n_samples()) for n in active]
        world = 1
        if pg is not None:
            world = dist.get_world_size(pg)
            meta = torch.tensor(counts + nsamp, dtype=torch.float64, device=active[0].weight.device)
            meta = self._all_reduce([meta], pg)[0]
            counts = meta[:n_act].tolist()
            nsamp = meta[n_act:].tolist()
        for n, c, ns in zip(active, counts, nsamp, strict=True):
            if c <= 0 or ns <= 0:
                self._clear_inputs()
                raise ValueError(
                    f"NeuronBoost: module {n.name!r} saw an empty batch (0 samples since the last "
                    "step); a step needs at least one sample"
                )
        use_gram = [
            n.kind == "moments" and n.gram_is_cheaper(ns / world, n_products)
            for n, ns in zip(active, nsamp, strict=True)
        ]
        # input moment sums (Σx, Σx² from the Gram matrix where it is formed); the diagonal
        # statistics of embeddings and tied weights; one collective for all
        per_neuron: list[list[Tensor]] = [[] for _ in active]
        for i, (n, gram) in enumerate(zip(active, use_gram, strict=True)):
            if n.kind != "moments":
                per_neuron[i] = n.diag_sums()  # type: ignore[attr-defined]
            elif not gram:
                per_neuron[i] = list(n.moment_sums())
        # Gram matrices last, and first those whose matrix is smaller than the inputs it
        # replaces: each neuron's inputs are freed as soon as its local Gram matrix is formed
        # (the Gram path needs only Σ x xᵀ, Σ x and the count), which keeps the peak low
        gram_order = sorted(
            (i for i, gram in enumerate(use_gram) if gram),
            key=lambda i: active[i].d_in ** 2 - nsamp[i] / world * active[i].d_in,
        )
        for i in gram_order:
            per_neuron[i] = list(active[i].gram_sums())
            active[i].drop_inputs()
        sums: list[Tensor] = []
        spans: list[tuple[int, int]] = []
        for ts in per_neuron:
            spans.append((len(sums), len(sums) + len(ts)))
            sums += ts
        sums = self._all_reduce(sums, pg)
        for i, (n, gram) in enumerate(zip(active, use_gram, strict=True)):
            if gram:  # Σ x xᵀ, Σ x  →  Σ x, Σ x² (the Gram matrix's diagonal)
                a, _ = spans[i]
                n.gram, n.xsum, n.gram_count = sums[a], sums[a + 1], nsamp[i]
                sums[a], sums[a + 1] = sums[a + 1], torch.diagonal(n.gram)
        return _Prepared(counts, nsamp, sums, spans)

    def _neuron_directions(
        self,
        active: list[Neuron],
        prep: _Prepared,
        parts: dict[int, list[tuple[slice | None, Tensor, float]]],
        corr: dict[int, float],
        beta_mu: float,
        beta_nu: float,
        shrink: float,
        ridges: list[float],
        use_cg: bool,
        cg_iters: int,
        pg: Any | None,
    ) -> None:
        """Add every active neuron's step direction (weight and bias pieces) to ``parts``."""
        state = self.state
        counts, nsamp, sums, spans = prep.counts, prep.nsamp, prep.sums, prep.spans
        mom = [i for i, n in enumerate(active) if n.kind == "moments"]

        # ---- preconditioner from bias-corrected moment EMAs, all moment neurons at once
        precs: list[tuple[Tensor, Tensor | None, Tensor | None, bool]] = [None] * len(active)  # type: ignore[list-item]
        for i, n in enumerate(active):
            if n.kind != "moments":
                a, b = spans[i]
                pw, pb = n.jacobi(sums[a:b], nsamp[i], ridges[i])  # type: ignore[attr-defined]
                precs[i] = (pw, pb, None, True)
        if mom:
            means = torch._foreach_div([sums[spans[i][0]] for i in mom], [counts[i] for i in mom])
            sqs = torch._foreach_div([sums[spans[i][0] + 1] for i in mom], [counts[i] for i in mom])
            mus: list[Tensor] = []
            nus: list[Tensor] = []
            c_mu: list[float] = []
            c_nu: list[float] = []
            for j, i in enumerate(mom):
                n = active[i]
                st = state[n.weight]
                k_mu, k_nu, k_t = "mu" + n.key, "nu" + n.key, "moment_step" + n.key
                if k_mu not in st:
                    st[k_mu] = torch.zeros_like(means[j])
                    st[k_nu] = torch.zeros_like(sqs[j])
                    st[k_t] = 0
                st[k_t] += 1
                k = st[k_t]
                mus.append(st[k_mu])
                nus.append(st[k_nu])
                c_mu.append(1.0 - beta_mu**k)
                c_nu.append(1.0 - beta_nu**k)
            torch._foreach_mul_(mus, beta_mu)
            torch._foreach_add_(mus, means, alpha=1.0 - beta_mu)
            torch._foreach_mul_(nus, beta_nu)
            torch._foreach_add_(nus, sqs, alpha=1.0 - beta_nu)
            mu_hat = torch._foreach_div(mus, c_mu)
            var = torch._foreach_sub(
                torch._foreach_div(nus, c_nu), torch._foreach_mul(mu_hat, mu_hat)
            )
            torch._foreach_clamp_min_(var, 0.0)
            var_means = torch._foreach_mul([v.mean() for v in var], shrink)
            torch._foreach_mul_(var, 1.0 - shrink)
            torch._foreach_add_(var, var_means)  # (1 − s)·var + s·mean(var)
            torch._foreach_clamp_min_(var, _VAR_FLOOR)

            for i, mu, v in zip(mom, mu_hat, var, strict=True):
                n = active[i]
                if mu.dtype != v.dtype:
                    mu = mu.to(v.dtype)
                w = n.w
                groups = n.groups
                mu_e = expand_per_weight(mu, w, groups)
                var_e = expand_per_weight(v, w, groups)
                if n.bias is None:
                    precs[i] = (torch.reciprocal(var_e + mu_e.square()), None, None, False)
                    continue
                inv = torch.reciprocal(var_e)
                if n.is_linear:  # μ shared by all output units: rank-1 forms over fan-in
                    precs[i] = (inv, mu, torch.mul(mu, inv.view(-1)), False)
                elif mu_e.shape[0] == 1:
                    fan = w[0].numel()
                    precs[i] = (
                        inv,
                        mu_e.expand_as(w[:1]).reshape(fan),
                        (mu_e * inv).expand_as(w[:1]).reshape(fan),
                        False,
                    )
                else:  # grouped convolution: μ differs between output units
                    precs[i] = (inv, mu_e, None, False)

        def apply_p(
            i: int, rw: Tensor, rb: Tensor | None, out: Tensor | None = None
        ) -> tuple[Tensor, Tensor | None]:
            """z = P r: exact inverse of [[diag σ² + μμᵀ, μ], [μᵀ, 1]] (or diagonal); the weight
            part is written into ``out`` when given (a buffer shaped and typed like ``rw``)."""
            inv, mu, mu_inv, jac = precs[i]
            if out is not None and out.shape == rw.shape and out.dtype == inv.dtype == rw.dtype:
                zw = torch.mul(rw, inv, out=out)
            else:
                zw = torch.mul(rw, inv)
            if jac:  # Jacobi: mu holds the bias's diagonal
                return zw, None if (rb is None or mu is None) else torch.mul(rb, mu)
            if rb is None or mu is None:
                return zw, None
            if mu_inv is not None:  # zw = (rw − rb μᵀ)/σ²;  zb = rb − zw·μ
                zw2 = zw.view(zw.shape[0], -1)
                zw2.addr_(rb, mu_inv, alpha=-1.0)
                return zw, torch.addmv(rb, zw2, mu, alpha=-1.0)
            shape = (-1,) + (1,) * (rw.dim() - 1)
            zw.addcmul_(mu * inv, rb.view(shape), value=-1.0)
            return zw, rb - (zw * mu).flatten(1).sum(1)

        # ---- per neuron: h = (Â + γ I_w)⁻¹ ḡ by PCG, or h = P ḡ. Solved in units of the raw EMA
        # m (ḡ = c·m) so that ḡ is never formed.
        bs: list[tuple[Tensor, Tensor | None]] = []
        for n, (inv, _, _, _) in zip(active, precs, strict=True):
            cdt = inv.dtype
            bw = _rows(state[n.weight]["exp_avg"], n.rows)
            if bw.dtype != cdt:
                bw = bw.to(cdt)
            bb = None
            if n.bias is not None:
                bb = _rows(state[n.bias]["exp_avg"], n.bias_rows)
                if bb.dtype != cdt:
                    bb = bb.to(cdt)
                ratio = corr[id(n.bias)] / corr[id(n.weight)]
                if ratio != 1.0:
                    bb = bb * ratio
            bs.append((bw, bb))
        if use_cg:
            cs = [corr[id(n.weight)] for n in active]
            sols = self._pcg(active, bs, apply_p, nsamp, ridges, cg_iters, pg, cs)
            for n, (hw, hb) in zip(active, sols, strict=True):
                if hw.dtype != n.weight.dtype:
                    hw = hw.to(n.weight.dtype)
                state[n.weight]["h" + n.key] = hw
                parts.setdefault(id(n.weight), []).append((n.rows, hw, 1.0))
                if n.bias is not None and hb is not None:
                    if hb.dtype != n.bias.dtype:
                        hb = hb.to(n.bias.dtype)
                    state[n.bias]["h" + n.key] = hb
                    parts.setdefault(id(n.bias), []).append((n.bias_rows, hb, 1.0))
        else:
            for i, (n, (bw, bb)) in enumerate(zip(active, bs, strict=True)):
                zw, zb = apply_p(i, bw, bb)
                c = corr[id(n.weight)]
                parts.setdefault(id(n.weight), []).append((n.rows, zw.to(n.weight.dtype), c))
                if n.bias is not None and zb is not None:
                    parts.setdefault(id(n.bias), []).append((n.bias_rows, zb.to(n.bias.dtype), c))

    def _pcg(
        self,
        active: list[Neuron],
        bs: list[tuple[Tensor, Tensor | None]],
        apply_p: Callable[..., tuple[Tensor, Tensor | None]],
        nsamp: list[float],
        ridges: list[float],
        iters: int,
        pg: Any | None,
        cs: list[float],
    ) -> list[tuple[Tensor, Tensor | None]]:
        """Warm-started preconditioned CG on every neuron's system, in lockstep.

        Solves ``(Â + γ I_w) x = m`` (``m`` the raw gradient EMA, ``bs``) from
        ``x0 = h_prev / c`` and returns ``h = c·x`` (``c = cs[i]`` the bias correction), updating
        the stored ``h_prev`` in place. This is textbook PCG; for matrix-free neurons
        ``pᵀ(Â + γ I_w)p`` is evaluated as ``‖J p‖²/N + γ‖p_w‖²`` (``Â = JᵀJ/N``), so the
        ``Jᵀ`` half of a product is only computed when the residual needs it (never in the last
        iteration) and is accumulated straight into the residual. Per iteration, all neurons'
        reductions across ranks share one collective and the CG scalars one host sync.
        """
        nn_ = len(active)
        dist_on = pg is not None
        free = [n.gram is None for n in active]  # matrix-free (else: Gram matrix)
        inv_n = [1.0 / ns for ns in nsamp]

        def pair_dots(
            a: tuple[Tensor, Tensor | None], b: tuple[Tensor, Tensor | None]
        ) -> list[Tensor]:
            out = [torch.dot(a[0].reshape(-1), b[0].reshape(-1))]
            if a[1] is not None and b[1] is not None:
                out.append(torch.dot(a[1], b[1]))
            return out

        def fetch(per_neuron: list[list[Tensor]]) -> list[list[float]]:
            """One host sync for all neurons' scalars."""
            flat = torch.stack([t for ts in per_neuron for t in ts]).tolist()
            out: list[list[float]] = []
            k = 0
            for ts in per_neuron:
                out.append(flat[k : k + len(ts)])
                k += len(ts)
            return out

        # h starts at h_prev (x0 = h_prev / c); cold starts at zero.
        hs: list[tuple[Tensor, Tensor | None]] = []
        warm = False
        for n, (bw, bb) in zip(active, bs, strict=True):
            st = self.state[n.weight]
            if "h" + n.key in st:
                warm = True
                hw = st["h" + n.key]
                if hw.dtype != bw.dtype:
                    hw = hw.to(bw.dtype)
                hb = None
                if bb is not None and n.bias is not None:
                    hb_state = self.state[n.bias].get("h" + n.key)
                    if hb_state is None:
                        hb = torch.zeros_like(bb)
                    else:
                        hb = hb_state if hb_state.dtype == bb.dtype else hb_state.to(bb.dtype)
                hs.append((hw, hb))
            else:
                hs.append((torch.zeros_like(bw), None if bb is None else torch.zeros_like(bb)))

        # r0 = m − (Â + γ I_w)(h_prev / c): one product, skipped when every start is cold. The
        # products must be collective-consistent across ranks: a cold neuron multiplies zeros.
        rs: list[tuple[Tensor, Tensor | None]] = []
        if warm:
            if dist_on:
                # Gram neurons hold reduced Gram matrices; the others' local sums are reduced.
                locs: list[tuple[Tensor, Tensor | None]] = []
                flat: list[Tensor] = []
                for i, n in enumerate(active):
                    hw, hb = hs[i]
                    if free[i]:
                        aw, ab = n.vjp(n.jvp(hw, hb), hw, hb is not None)
                        flat += [aw] if ab is None else [aw, ab]
                    else:
                        aw, ab = n.product(hw, hb, inv_n[i] / cs[i], ridges[i] / cs[i])
                    locs.append((aw, ab))
                red = iter(self._all_reduce(flat, pg))
                for i, (hw, _) in enumerate(hs):
                    (bw, bb), (aw, ab) = bs[i], locs[i]
                    if free[i]:
                        sc = inv_n[i] / cs[i]
                        aw = next(red).mul_(sc).add_(hw, alpha=ridges[i] / cs[i])
                        ab = None if ab is None else next(red).mul_(sc)
                    rw = torch.sub(bw, aw, out=aw)
                    rb = None if (ab is None or bb is None) else torch.sub(bb, ab, out=ab)
                    rs.append((rw, rb))
                del locs, red, flat, aw, ab  # the local (unreduced) sums
            else:
                for i, n in enumerate(active):
                    (hw, hb), (bw, bb), c = hs[i], bs[i], cs[i]
                    if free[i]:
                        rw = torch.add(bw, hw, alpha=-ridges[i] / c, out=self._buffer(n, "r", bw))
                        rb = None if bb is None else bb.clone()
                        n.vjp_add_(n.jvp(hw, hb), rw, rb, -inv_n[i] / c)
                    else:
                        aw, ab = n.product(
                            hw, hb, inv_n[i] / c, ridges[i] / c, out=self._buffer(n, "r", bw)
                        )
                        rw = torch.sub(bw, aw, out=aw)
                        rb = None if (ab is None or bb is None) else torch.sub(bb, ab, out=ab)
                    rs.append((rw, rb))
        elif iters > 1:  # the residual is updated in place: copy the right-hand side
            rs = [
                (self._buffer(n, "r", bw).copy_(bw), None if bb is None else bb.clone())
                for n, (bw, bb) in zip(active, bs, strict=True)
            ]
        else:
            rs = list(bs)
        # p and z live in two reused buffers per neuron: z is formed in the spare one, p ← z + βp
        # in z's storage, and the old p's buffer becomes the spare
        p_slot, spare = "p", "z"
        ps = [
            apply_p(i, rw, rb, self._buffer(n, p_slot, rw))
            for i, (n, (rw, rb)) in enumerate(zip(active, rs, strict=True))
        ]  # p0 = z0
        rz = [math.fsum(v) for v in fetch([pair_dots(r, z) for r, z in zip(rs, ps, strict=True)])]
        for it in range(iters):
            last = it == iters - 1
            # pᵀ(Â + γ I_w)p per neuron, and what the residual update needs
            us: list[list[Tensor] | None] = [None] * nn_
            aps: list[tuple[Tensor, Tensor | None] | None] = [None] * nn_
            scal: list[list[Tensor]] = []
            flat = []
            for i, n in enumerate(active):
                pw, pb = ps[i]
                if free[i]:
                    u_i = n.jvp(pw, pb)
                    pwf = pw.reshape(-1)
                    scal.append([n.sq_norm(u_i), torch.dot(pwf, pwf)])
                    if not dist_on:
                        us[i] = u_i
                    else:
                        flat.append(scal[i][0].reshape(1))
                        if not last:  # local Jᵀ(J p) sums, reduced for the residual update
                            aw, ab = n.vjp(u_i, pw, pb is not None)
                            aps[i] = (aw, ab)
                            flat += [aw] if ab is None else [aw, ab]
                            del aw, ab
                    del u_i
                else:
                    # Âp goes into the spare buffer, where z overwrites it once the residual
                    # is updated: three weight-sized work vectors (r, p, spare), not four
                    ap = n.product(pw, pb, inv_n[i], ridges[i], out=self._buffer(n, spare, pw))
                    aps[i] = ap
                    scal.append(pair_dots(ps[i], ap))
                    del ap
            if dist_on and flat:
                reduced = self._all_reduce(flat, pg)
                del flat
                k = 0
                for i in range(nn_):
                    if not free[i]:
                        continue
                    scal[i][0] = reduced[k][0]
                    k += 1
                    ap_i = aps[i]
                    if ap_i is not None:
                        has_b = ap_i[1] is not None
                        aps[i] = (reduced[k], reduced[k + 1] if has_b else None)
                        k += 2 if has_b else 1
                    del ap_i
                del reduced
            vals = fetch(scal)
            alphas: list[float] = []
            for i in range(nn_):
                # matrix-free: ‖J p‖²/N + γ‖p_w‖²; Gram: ⟨p, (Â + γ I_w)p⟩
                pap = (
                    vals[i][0] * inv_n[i] + ridges[i] * vals[i][1]
                    if free[i]
                    else math.fsum(vals[i])
                )
                alpha = rz[i] / pap if pap > 0.0 and math.isfinite(pap) else 0.0
                alphas.append(alpha)
                (hw, hb), (pw, pb) = hs[i], ps[i]
                hw.add_(pw, alpha=alpha * cs[i])
                if hb is not None and pb is not None:
                    hb.add_(pb, alpha=alpha * cs[i])
            if last:
                break
            zs: list[tuple[Tensor, Tensor | None]] = []
            for i, n in enumerate(active):
                alpha = alphas[i]
                (rw, rb), (pw, _) = rs[i], ps[i]
                u_j = us[i]
                ap_i = aps[i]
                if u_j is not None:  # r −= α(JᵀJ p / N + γ p_w), Jᵀ fused into the residual
                    n.vjp_add_(u_j, rw, rb, -alpha * inv_n[i])
                    rw.add_(pw, alpha=-alpha * ridges[i])
                    us[i] = None
                elif free[i]:  # reduced local sums
                    assert ap_i is not None
                    rw.add_(ap_i[0], alpha=-alpha * inv_n[i])
                    if rb is not None and ap_i[1] is not None:
                        rb.add_(ap_i[1], alpha=-alpha * inv_n[i])
                    rw.add_(pw, alpha=-alpha * ridges[i])
                else:
                    assert ap_i is not None
                    rw.add_(ap_i[0], alpha=-alpha)
                    if rb is not None and ap_i[1] is not None:
                        rb.add_(ap_i[1], alpha=-alpha)
                aps[i] = None  # drop Âp (and J p) before z is allocated (peak memory)
                del ap_i, u_j
                zs.append(apply_p(i, rw, rb, self._buffer(n, spare, rw)))
            rz_new = [math.fsum(v) for v in fetch([pair_dots(rs[i], zs[i]) for i in range(nn_)])]
            for i in range(nn_):
                beta = rz_new[i] / rz[i] if rz[i] > 0.0 else 0.0
                (zw, zb), (pw, pb) = zs[i], ps[i]
                zw.add_(pw, alpha=beta)  # p ← z + β p, in z's storage
                if zb is not None and pb is not None:
                    zb.add_(pb, alpha=beta)
                ps[i] = (zw, zb)
            rz = rz_new
            p_slot, spare = spare, p_slot
        return hs

    def _buffer(self, n: Neuron, slot: str, like: Tensor) -> Tensor:
        """A reusable uninitialised tensor shaped like ``like`` (CG work vector ``slot`` of
        ``n``), kept across steps so that no weight-sized memory is allocated per step."""
        key = (id(n), slot)
        t = self._work.get(key)
        if t is None or t.shape != like.shape or t.dtype != like.dtype or t.device != like.device:
            t = torch.empty(like.shape, dtype=like.dtype, device=like.device)
            self._work[key] = t
        return t

    def _clear_inputs(self) -> None:
        for n in self._neurons:
            n.clear()


_VAR_FLOOR = 1e-12


_OWNERS: weakref.WeakKeyDictionary[nn.Module, Any] = weakref.WeakKeyDictionary()
_PER_GROUP = ("lr", "ridge", "weight_decay", "precondition")
_STATE_KEYS = ("exp_avg", "step", "h", "mu", "nu", "moment_step")


def _param_groups(
    model: nn.Module, params: Any, lr_fn: bool, ridge_fn: bool
) -> list[dict[str, Any]]:
    """The parameter groups: all of ``model``'s parameters, or ``params`` as in torch.optim."""
    if params is None:
        ps = list(model.parameters())
        if not ps:
            raise ValueError("model has no parameters to optimise")
        return [{"params": ps}]
    if isinstance(params, (Tensor, dict)):
        params = [params]
    items = list(params)
    if not items:
        raise ValueError("params is empty: pass None (all of model's parameters) or groups")
    if all(isinstance(i, Tensor) for i in items):
        groups: list[dict[str, Any]] = [{"params": items}]
    elif all(isinstance(i, dict) for i in items):
        groups = [dict(g) for g in items]
    else:
        raise TypeError("params must be an iterable of tensors or of dicts (parameter groups)")
    for i, g in enumerate(groups):
        if "params" not in g:
            raise ValueError(f"parameter group {i} has no 'params'")
        if lr_fn and "lr" in g:
            raise ValueError(
                f"parameter group {i} sets 'lr' but lr is a callable for all groups; pass a "
                "float lr (and a torch.optim.lr_scheduler) for per-group learning rates"
            )
        if ridge_fn and "ridge" in g:
            raise ValueError(f"parameter group {i} sets 'ridge' but ridge is a callable")
    return groups


def _check_group(g: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Per-group values: only lr, ridge, weight_decay and precondition may differ."""
    for k, v in defaults.items():
        if k not in _PER_GROUP and k != "step" and g.get(k) != v:
            raise ValueError(
                f"parameter groups cannot set {k!r} (global in NeuronBoost); per-group keys are "
                f"{', '.join(_PER_GROUP)}"
            )
    for k in ("lr", "ridge"):
        v = g[k]
        if v == 0.0 and defaults[k] == 0.0:  # a callable schedule fills it in at each step
            continue
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not (math.isfinite(v) and v > 0)
        ):
            raise ValueError(f"parameter group {k} must be a positive finite float, got {v!r}")
    wd = g["weight_decay"]
    if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not wd >= 0:
        raise ValueError(f"parameter group weight_decay must be a float >= 0, got {wd!r}")
    if not isinstance(g["precondition"], bool):
        raise TypeError(f"parameter group precondition must be a bool, got {g['precondition']!r}")


def _attention_neurons(
    m: nn.MultiheadAttention, label: str, optimised: Callable[[object], bool], skip: bool
) -> list[Neuron | None]:
    """The q, k, v blocks of the input projection and ``out_proj`` (``None`` where not used)."""
    e = m.embed_dim
    bias = m.in_proj_bias if optimised(m.in_proj_bias) else None
    out: list[Neuron | None] = []
    packed = m._qkv_same_embed_dim
    weights = (
        [m.in_proj_weight] * 3 if packed else [m.q_proj_weight, m.k_proj_weight, m.v_proj_weight]
    )
    for i, (k, w) in enumerate(zip("qkv", weights, strict=True)):
        rows = slice(i * e, (i + 1) * e)
        if not optimised(w):
            out.append(None)
            continue
        out.append(
            Neuron(
                module=m,
                name=f"{label}.in_proj[{k}]" if packed else f"{label}.{k}_proj",
                weight=w,
                bias=bias,
                rows=rows if packed else None,
                bias_rows=rows,
                key=f"_{k}",
                linear=True,
            )
        )
    op = m.out_proj
    if skip or not optimised(op.weight):
        out.append(None)
    else:
        ob = op.bias if optimised(op.bias) else None
        out.append(Neuron(module=op, name=f"{label}.out_proj", weight=op.weight, bias=ob))
    return out


def _tie(flat: list[Neuron]) -> list[Neuron]:
    """Merge neurons whose (whole) weight is one shared parameter into a :class:`TiedNeuron`."""
    by: dict[int, list[Neuron]] = {}
    for n in flat:
        if n.rows is None:
            by.setdefault(id(n.weight), []).append(n)
    out: list[Neuron] = []
    done: set[int] = set()
    for n in flat:
        group = by.get(id(n.weight), [n]) if n.rows is None else [n]
        if len(group) == 1:
            out.append(n)
            continue
        if id(n.weight) in done:
            continue
        done.add(id(n.weight))
        names = ", ".join(repr(m.name) for m in group)
        ok = all(
            isinstance(m, EmbeddingNeuron) or (type(m) is Neuron and m.is_linear) for m in group
        )
        if not ok:
            warnings.warn(
                f"NeuronBoost: the weight shared by {names} gets the identity metric (tied "
                "weights are supported between Linear and Embedding modules only)",
                stacklevel=3,
            )
            continue
        biases: list[Tensor] = []
        for m in group:
            if m.bias is not None and all(m.bias is not b for b in biases):
                biases.append(m.bias)
        if len(biases) > 1:
            warnings.warn(
                f"NeuronBoost: the modules {names} share a weight but have different biases; "
                "only the first bias is preconditioned with the weight, the others get the "
                "identity metric",
                stacklevel=3,
            )
            for m in group:
                if m.bias is not None and m.bias is not biases[0]:
                    m.bias = None
        out.append(
            TiedNeuron(
                module=group[0].module,
                name="+".join(m.name for m in group),
                weight=n.weight,
                bias=biases[0] if biases else None,
                members=group,
            )
        )
    return out


def _remove_handles(handles: list[RemovableHandle]) -> None:
    for h in handles:
        h.remove()
    handles.clear()


def _input_hook(ref: Any, n: Neuron) -> Callable[[nn.Module, tuple[Any, ...], Any], None]:
    """Forward hook: record the module's first positional input (training mode, grad on)."""

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if ref() is None or not (module.training and torch.is_grad_enabled()) or not args:
            return
        x = args[0]
        if isinstance(x, Tensor):
            n.add_input(x.detach())

    return hook


def _grad_hook(ref: Any, ns: list[Neuron]) -> Callable[[Tensor], None]:
    """Post-accumulate-grad hook of a neuron weight: its inputs so far have their gradient."""

    def hook(p: Tensor) -> None:
        if ref() is not None:
            for n in ns:
                n.mark_done()

    return hook


def _reaches(fn: Any, weight: Tensor, depth: int = 4) -> bool:
    """Whether the autograd chain from ``fn`` (first inputs) accumulates into ``weight``."""
    for _ in range(depth):
        if fn is None:
            return False
        if getattr(fn, "variable", None) is weight:
            return True
        nxt = fn.next_functions
        fn = nxt[0][0] if nxt else None
    return False


def _saved_linear_input(y: Tensor, weight: Tensor) -> Tensor | None:
    """The input ``x`` of the ``linear(x, weight, …)`` that produced ``y`` (up to reshapes).

    ``F.multi_head_attention_forward`` applies ``out_proj`` functionally, so no module hook sees
    its input; autograd saved it for the weight gradient (``addmm``/``mm``'s ``mat1``). Returns
    ``None`` when the graph does not have that form (e.g. under ``torch.compile``).
    """
    fn = y.grad_fn
    for _ in range(4):
        if fn is None:
            return None
        name = type(fn).__name__
        if name in ("AddmmBackward0", "MmBackward0"):
            try:
                mat2 = getattr(fn, "_saved_mat2")  # noqa: B009 (no stubs for saved tensors)
                mat1 = getattr(fn, "_saved_mat1" if name == "AddmmBackward0" else "_saved_self")
            except (AttributeError, RuntimeError):
                return None
            if tuple(mat2.shape) != (weight.shape[1], weight.shape[0]):
                return None
            if mat1.dim() != 2 or mat1.shape[1] != weight.shape[1]:
                return None
            if not _reaches(fn.next_functions[-1][0], weight):
                return None
            return mat1
        nxt = fn.next_functions
        fn = nxt[0][0] if nxt else None
    return None


def _attention_hook(
    ref: Any, ns: list[Neuron | None]
) -> Callable[[nn.Module, tuple[Any, ...], dict[str, Any], Any], None]:
    """Forward hook of ``nn.MultiheadAttention``: query, key, value and ``out_proj``'s input."""

    def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        if ref() is None or not (module.training and torch.is_grad_enabled()):
            return
        for i, key in enumerate(("query", "key", "value")):
            n = ns[i]
            x = args[i] if len(args) > i else kwargs.get(key)
            if n is not None and isinstance(x, Tensor):
                n.add_input(x.detach())
        out_n = ns[3]
        y = output[0] if isinstance(output, tuple) else output
        if out_n is not None and isinstance(y, Tensor):
            a = _saved_linear_input(y, out_n.weight)
            if a is not None:
                out_n.add_input(a.detach())

    return hook


def _take_over(m: nn.Module, opt: NeuronBoost) -> None:
    """Make ``opt`` the only NeuronBoost capturing ``m``'s inputs (warn if another one was)."""
    old_ref = _OWNERS.get(m)
    old = old_ref() if old_ref is not None else None
    if old is not None and old is not opt and old._handles:
        warnings.warn(
            f"NeuronBoost: module {type(m).__name__} is already hooked by another NeuronBoost "
            "instance; that optimizer's hooks are removed (it can no longer step). Call "
            "remove_hooks() on an optimizer you replace.",
            stacklevel=3,
        )
        old.remove_hooks()
    _OWNERS[m] = weakref.ref(opt)


def _check_state_dict(opt: NeuronBoost, sd: Any) -> None:
    """Raise ``ValueError`` naming the first way ``sd`` does not fit ``opt``."""
    if not isinstance(sd, dict) or "state" not in sd or "param_groups" not in sd:
        raise ValueError("load_state_dict expects a dict with 'state' and 'param_groups'")
    groups = sd["param_groups"]
    if len(groups) != len(opt.param_groups):
        raise ValueError(
            f"state_dict has {len(groups)} parameter groups, this optimizer has "
            f"{len(opt.param_groups)}"
        )
    params: list[Tensor] = []
    for i, (g, mine) in enumerate(zip(groups, opt.param_groups, strict=True)):
        missing = [k for k in ("ridge", "cg_iters", "betas", "min_norm", "step") if k not in g]
        if missing:
            raise ValueError(
                f"state_dict is not a NeuronBoost state: parameter group {i} lacks "
                f"{', '.join(map(repr, missing))} (saved by another optimizer?)"
            )
        if len(g["params"]) != len(mine["params"]):
            raise ValueError(
                f"parameter group {i}: state_dict has {len(g['params'])} parameters, this "
                f"optimizer has {len(mine['params'])} (another model?)"
            )
        params += list(mine["params"])
    index = {id(p): i for i, p in enumerate(params)}
    expected: dict[int, dict[str, tuple[int, ...]]] = {}
    for n in opt._neurons:
        wi = index.get(id(n.weight))
        if wi is not None:
            exp = expected.setdefault(wi, {})
            exp["h" + n.key] = tuple(n.w.shape)
            if n.kind == "moments":
                exp["mu" + n.key] = exp["nu" + n.key] = (n.d_in,)
        b = n.b
        bi = index.get(id(n.bias)) if n.bias is not None else None
        if bi is not None and b is not None:
            expected.setdefault(bi, {})["h" + n.key] = tuple(b.shape)
    for pid, st in sd["state"].items():
        if not isinstance(pid, int) or not 0 <= pid < len(params):
            raise ValueError(f"state_dict has state for unknown parameter {pid!r}")
        p = params[pid]
        for k, v in st.items():
            if k not in ("exp_avg", "step") and not any(
                k == base or k.startswith(base + "_") for base in _STATE_KEYS[2:]
            ):
                raise ValueError(
                    f"state of parameter {pid}: unexpected entry {k!r} (not a NeuronBoost state; "
                    "saved by another optimizer?)"
                )
            if k == "step" and not (isinstance(v, int) and not isinstance(v, bool)):
                raise ValueError(
                    f"state of parameter {pid}: 'step' must be an int, got {type(v).__name__} "
                    "(saved by another optimizer?)"
                )
            shape = tuple(p.shape) if k == "exp_avg" else expected.get(pid, {}).get(k)
            if k.startswith(("exp_avg", "h", "mu", "nu")) and isinstance(v, Tensor):
                if shape is None:
                    raise ValueError(
                        f"state of parameter {pid}: entry {k!r} does not belong to any neuron of "
                        "this model (another architecture?)"
                    )
                if tuple(v.shape) != shape:
                    raise ValueError(
                        f"state of parameter {pid}: {k!r} has shape {tuple(v.shape)}, expected "
                        f"{shape} (another architecture?)"
                    )
