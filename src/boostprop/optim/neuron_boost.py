"""NeuronBoost: linear neuron boosting as a PyTorch optimizer.

Implements D. Munoz, "Simple Linear Neuron Boosting", arXiv:2502.01131 (2025): every ``Linear``,
``Conv1d`` and ``Conv2d`` module is a "neuron" whose update is the ridge regression of the
back-propagated errors onto the module's inputs, ``H = G (A + γ·diag(1, …, 1, 0))⁻¹`` with
``A = mean x̃ x̃ᵀ`` the augmented input second moment (K-FAC with only the input factor). The
system is solved online, matrix-free, by a few iterations of warm-started conjugate gradient
preconditioned by a diagonal (plus exact bias) approximation of ``A⁻¹`` built from EMAs of the
input moments, followed by a global step normalisation and decoupled weight decay. See
``docs/neuron_boost.md`` for the math and the measured verdict.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ._linear_ops import Neuron, expand_per_weight, is_neuron_module

__all__ = ["NeuronBoost"]

Schedule = float | Callable[[int], float]


def _check_schedule(name: str, value: object) -> None:
    if callable(value):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive float or a callable of the step, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")


def _is_sharded(model: nn.Module) -> bool:
    """Whether ``model`` is (or contains) an FSDP-wrapped / DTensor-sharded module.

    Only classes of already-imported modules are checked: a model cannot be sharded by FSDP
    unless ``torch.distributed.fsdp`` has been imported (importing it here would cost seconds).
    """
    fsdp_mod = sys.modules.get("torch.distributed.fsdp")
    fsdp_cls = getattr(fsdp_mod, "FullyShardedDataParallel", None)
    tensor_mod = sys.modules.get("torch.distributed.tensor")
    dtensor_cls = getattr(tensor_mod, "DTensor", None)
    for m in model.modules():
        if fsdp_cls is not None and isinstance(m, fsdp_cls):
            return True
        if type(m).__name__.startswith("FSDP"):  # FSDP2 ``fully_shard`` mixes in FSDPModule
            return True
    for p in model.parameters():
        if dtensor_cls is not None and isinstance(p, dtensor_cls):
            return True
        if getattr(p, "_is_flat_param", False):
            return True
    return False


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
    per input channel, shared across kernel taps. Every other parameter (norm layers,
    embeddings, …) uses ``h = ḡ``. The update is

    ``θ ← θ − lr·(h / s + weight_decay·θ)``,  ``s = max(min_norm, sqrt(Σ_all params ⟨h, ḡ⟩))``.

    Usage is that of any optimizer: ``loss.backward(); opt.step(); opt.zero_grad()``. Forward
    hooks registered at construction capture each neuron's input during forward passes in
    training mode with gradients enabled; only the inputs of the *last* such forward of
    ``model`` are kept (a new training-mode call of ``model`` discards earlier ones) and they are
    freed by ``step()``. If a neuron is called several times within one forward (weight sharing,
    recurrence, activation checkpointing's recomputation), all its inputs of that forward are
    used together: ``Â`` is the second moment over the union of the samples (for
    checkpointing's exact recomputation this leaves ``Â`` unchanged). A neuron that receives a
    gradient but whose hook saw no input (e.g. ``nn.MultiheadAttention.out_proj``, whose weight
    is used functionally) gets the identity metric with a one-time warning; list it in
    ``skip_modules`` to silence the warning. A model without any neuron gets the identity metric
    everywhere (a warning is issued at construction). Parameters whose ``.grad`` is ``None`` are
    left untouched, as in ``torch.optim.SGD``.

    Args:
        model: the module whose parameters are optimised (all of them, one parameter group).
        lr: learning rate, positive float or callable ``step -> float`` where ``step`` is the
            number of completed ``step()`` calls (0 for the first step). A float can also be
            changed through ``param_groups[0]["lr"]`` (e.g. by a ``torch.optim.lr_scheduler``).
        ridge: ridge ``γ`` added to the weight (not the bias) block of ``Â``; positive float or
            callable of the step, like ``lr``.
        cg_iters: conjugate-gradient iterations (≥ 0). ``0`` skips CG: ``h = P ḡ``, the same as
            ``approx_metric=True``.
        betas: ``(β_g, β_μ, β_ν)``: EMA coefficients of the gradient (momentum), of the input
            mean and of the input mean square, each in ``[0, 1)``; all EMAs are bias-corrected.
        shrinkage: ``s`` in ``[0, 1]``, shrinkage of the per-feature variances towards their mean.
        min_norm: positive floor of the step normaliser ``s``.
        weight_decay: decoupled weight decay (≥ 0), applied to all parameters, not divided by
            ``s``.
        approx_metric: use the diagonal preconditioner only (``h = P ḡ``), no CG.
        grad_clip: if given (> 0), gradients are rescaled so that their global norm is at most
            ``grad_clip`` before entering the EMA (the ``.grad`` tensors are not modified).
        skip_modules: modules (instances) or module classes whose parameters get the identity
            metric even if they are Linear/Conv.
        process_group: distributed group over which ``Â·v`` products and input moments are
            reduced; ``None`` means the default group when ``torch.distributed`` is initialised
            with more than one process, else no reduction.

    Distributed contract (DDP): wrap the model in ``DistributedDataParallel`` *before* or
    *after* constructing the optimizer (hooks are on the inner modules either way), and let DDP
    average the gradients as usual. At every ``step()`` each rank sums its input moments and,
    for every CG product, its local ``Σ x̃ x̃ᵀ v`` over all ranks of ``process_group`` and divides
    by the global sample count, so all ranks solve the same system as one process holding the
    concatenated batch and take identical steps. For this to equal the single-process step on
    the concatenated batch, the gradient that DDP averages must be the global-batch gradient,
    i.e. equal local batch sizes with a mean-reduced loss. All ranks must call ``step()`` the
    same number of times with the same set of neurons having seen a forward. Sharded
    parameters (FSDP / FSDP2 / DTensor) are not supported and raise ``ValueError``.

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
        lr: Schedule = 0.5,
        *,
        ridge: Schedule = 0.1,
        cg_iters: int = 2,
        betas: tuple[float, float, float] = (0.9, 0.9, 0.999),
        shrinkage: float = 0.1,
        min_norm: float = 1e-2,
        weight_decay: float = 1e-4,
        approx_metric: bool = False,
        grad_clip: float | None = None,
        skip_modules: Iterable[nn.Module | type[nn.Module]] = (),
        process_group: Any | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        _check_schedule("lr", lr)
        _check_schedule("ridge", ridge)
        if isinstance(cg_iters, bool) or not isinstance(cg_iters, int) or cg_iters < 0:
            raise ValueError(f"cg_iters must be an integer >= 0, got {cg_iters!r}")
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
        if _is_sharded(model):
            raise ValueError(
                "NeuronBoost does not support sharded parameters (FSDP/FSDP2/DTensor): the "
                "per-module metric needs whole weight matrices; use DistributedDataParallel"
            )
        params = [p for p in model.parameters()]
        if not params:
            raise ValueError("model has no parameters to optimise")

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
            "step": 0,
        }
        super().__init__(params, defaults)
        self._process_group = process_group

        # ---- neurons and hooks
        self._neurons: list[Neuron] = []
        seen: set[int] = set()
        for name, m in model.named_modules():
            if not is_neuron_module(m) or id(m) in seen:
                continue
            seen.add(id(m))
            if any((m is s) if isinstance(s, nn.Module) else isinstance(m, s) for s in skip):
                continue
            weight = m.weight
            if not isinstance(weight, Tensor) or not weight.requires_grad:
                continue
            bias = m.bias if isinstance(m.bias, Tensor) and m.bias.requires_grad else None
            self._neurons.append(
                Neuron(module=m, name=name or type(m).__name__, weight=weight, bias=bias)
            )
        if not self._neurons:
            warnings.warn(
                "NeuronBoost: model has no Linear/Conv1d/Conv2d module to precondition; every "
                "parameter gets the identity metric (a normalised momentum step)",
                stacklevel=2,
            )
        self._forward_id = 0
        self._warned: set[str] = set()
        self._handles: list[RemovableHandle] = [
            model.register_forward_pre_hook(self._root_pre_hook)
        ]
        for neuron in self._neurons:
            self._handles.append(neuron.module.register_forward_hook(self._make_hook(neuron)))

    # ------------------------------------------------------------------ hooks
    def _root_pre_hook(self, module: nn.Module, args: Any) -> None:
        if module.training and torch.is_grad_enabled():
            self._forward_id += 1

    def _make_hook(self, neuron: Neuron) -> Callable[[nn.Module, tuple[Any, ...], Any], None]:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            if not (module.training and torch.is_grad_enabled()) or not args:
                return
            x = args[0]
            if not isinstance(x, Tensor):
                return
            neuron.add_input(x.detach(), self._forward_id)

        return hook

    def remove_hooks(self) -> None:
        """Remove the forward hooks from the model (the optimizer cannot step afterwards).

        Example:
            >>> opt = NeuronBoost(nn.Linear(2, 1)); opt.remove_hooks()
        """
        for h in self._handles:
            h.remove()
        self._handles = []

    # ------------------------------------------------------------------ helpers
    def _group(self) -> dict[str, Any]:
        return self.param_groups[0]

    def _resolve(self, name: str, fn: Callable[[int], float] | None, step: int) -> float:
        group = self._group()
        if fn is None:
            value = group[name]
        else:
            value = fn(step)
            group[name] = value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must evaluate to a positive float, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite at step {step}, got {value!r}")
        return float(value)

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
        group = self._group()
        t_done = int(group["step"])
        lr = self._resolve("lr", self._lr_fn, t_done)
        ridge = self._resolve("ridge", self._ridge_fn, t_done)
        beta_g, beta_mu, beta_nu = group["betas"]
        shrink = group["shrinkage"]
        cg_iters = int(group["cg_iters"])
        use_cg = not group["approx_metric"] and cg_iters > 0
        pg = self._dist_group()

        if self._neurons and not any(n.inputs for n in self._neurons):
            raise RuntimeError(
                "NeuronBoost.step() called before any forward pass of the model in training mode "
                "(with gradients enabled) since the last step: the neurons' inputs are needed"
            )

        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            self._clear_inputs()
            return loss
        for p in params:
            if p.grad.is_sparse:
                raise TypeError("NeuronBoost does not support sparse gradients")

        # ---- gradient EMA (momentum) with optional global-norm clipping
        state = self.state
        clip_scale = 1.0
        if group["grad_clip"] is not None:
            norms = torch.stack([torch.linalg.vector_norm(p.grad.float()) for p in params])
            total = float(torch.linalg.vector_norm(norms))
            if total > group["grad_clip"]:
                clip_scale = group["grad_clip"] / total
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
        grads = [p.grad for p in params]
        if clip_scale != 1.0:
            grads = list(torch._foreach_mul(grads, clip_scale))
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta_g)

        # ---- neurons active this step
        active: list[Neuron] = []
        for n in self._neurons:
            if n.weight.grad is None:
                continue
            if not n.inputs:
                if n.name not in self._warned:
                    self._warned.add(n.name)
                    warnings.warn(
                        f"NeuronBoost: module {n.name!r} received a gradient but its forward hook "
                        "saw no training-mode input (weight used outside its forward?); it gets "
                        "the identity metric. Pass it in skip_modules to silence this warning.",
                        stacklevel=2,
                    )
                continue
            active.append(n)

        # ``hs[id(p)] = (tensor, scale)``: the step direction h = scale·tensor of parameter p.
        hs: dict[int, tuple[Tensor, float]] = {}
        if active:
            self._neuron_directions(
                active, hs, corr, beta_mu, beta_nu, shrink, ridge, use_cg, cg_iters, pg
            )

        # ---- global normalisation s = max(min_norm, sqrt(Σ⟨h, ḡ⟩)) and update
        dots: list[Tensor] = []
        dot_scales: list[float] = []
        updates: dict[float, tuple[list[Tensor], list[Tensor]]] = {}
        for p, m in zip(params, exp_avgs, strict=True):
            c = corr[id(p)]
            ht, hscale = hs.get(id(p), (m, c))  # identity metric: h = ḡ = c·m
            dots.append(torch.dot(ht.reshape(-1), m.reshape(-1)))
            dot_scales.append(hscale * c)
            ps_, hts_ = updates.setdefault(hscale, ([], []))
            ps_.append(p)
            hts_.append(ht)
        total_dot = math.fsum(
            d * sc for d, sc in zip(torch.stack(dots).tolist(), dot_scales, strict=True)
        )
        s = max(group["min_norm"], math.sqrt(max(0.0, total_dot)))
        wd = group["weight_decay"]
        if wd != 0.0:
            torch._foreach_mul_(params, 1.0 - lr * wd)
        for hscale, (ps_, hts_) in updates.items():
            torch._foreach_add_(ps_, hts_, alpha=-lr * hscale / s)
        group["step"] = t_done + 1
        self._clear_inputs()
        return loss

    def _neuron_directions(
        self,
        active: list[Neuron],
        hs: dict[int, tuple[Tensor, float]],
        corr: dict[int, float],
        beta_mu: float,
        beta_nu: float,
        shrink: float,
        ridge: float,
        use_cg: bool,
        cg_iters: int,
        pg: Any | None,
    ) -> None:
        """Fill ``hs`` with the step direction of every active neuron's weight and bias."""
        state = self.state
        n_act = len(active)
        # ---- sample counts (global under DDP), then the Gram-or-matrix-free choice per neuron
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
        use_gram = [
            n.gram_is_cheaper(ns / world, n_products) for n, ns in zip(active, nsamp, strict=True)
        ]

        # ---- input moment sums (Σx, Σx² from the Gram matrix where it is formed); one collective
        sums: list[Tensor] = []
        for n, gram in zip(active, use_gram, strict=True):
            sums += list(n.gram_sums()) if gram else list(n.moment_sums())
        sums = self._all_reduce(sums, pg)
        for i, (n, gram) in enumerate(zip(active, use_gram, strict=True)):
            if gram:  # sums[2i] = Σ x xᵀ, sums[2i+1] = Σ x
                n.gram, n.xsum, n.gram_count = sums[2 * i], sums[2 * i + 1], nsamp[i]
                n.drop_inputs()  # the Gram matrix replaces the inputs: free them now
                sums[2 * i] = torch.diagonal(n.gram)
                sums[2 * i], sums[2 * i + 1] = sums[2 * i + 1], sums[2 * i]

        # ---- preconditioner from bias-corrected moment EMAs, all neurons at once
        means = torch._foreach_div(sums[0::2], counts)  # Σx / count
        sqs = torch._foreach_div(sums[1::2], counts)  # Σx² / count
        mus: list[Tensor] = []
        nus: list[Tensor] = []
        c_mu: list[float] = []
        c_nu: list[float] = []
        for i, n in enumerate(active):
            st = state[n.weight]
            if "mu" not in st:
                st["mu"] = torch.zeros_like(means[i])
                st["nu"] = torch.zeros_like(sqs[i])
                st["moment_step"] = 0
            st["moment_step"] += 1
            k = st["moment_step"]
            mus.append(st["mu"])
            nus.append(st["nu"])
            c_mu.append(1.0 - beta_mu**k)
            c_nu.append(1.0 - beta_nu**k)
        torch._foreach_mul_(mus, beta_mu)
        torch._foreach_add_(mus, means, alpha=1.0 - beta_mu)
        torch._foreach_mul_(nus, beta_nu)
        torch._foreach_add_(nus, sqs, alpha=1.0 - beta_nu)
        mu_hat = torch._foreach_div(mus, c_mu)
        var = torch._foreach_sub(torch._foreach_div(nus, c_nu), torch._foreach_mul(mu_hat, mu_hat))
        torch._foreach_clamp_min_(var, 0.0)
        var_means = torch._foreach_mul([v.mean() for v in var], shrink)
        torch._foreach_mul_(var, 1.0 - shrink)
        torch._foreach_add_(var, var_means)  # (1 − s)·var + s·mean(var)
        torch._foreach_clamp_min_(var, _VAR_FLOOR)

        precs: list[tuple[Tensor, Tensor | None, Tensor | None]] = []
        for n, mu, v in zip(active, mu_hat, var, strict=True):
            if mu.dtype != v.dtype:
                mu = mu.to(v.dtype)
            groups = n.groups
            mu_e = expand_per_weight(mu, n.weight, groups)
            var_e = expand_per_weight(v, n.weight, groups)
            if n.bias is None:
                precs.append((torch.reciprocal(var_e + mu_e.square()), None, None))
                continue
            inv = torch.reciprocal(var_e)
            if n.is_linear:  # μ shared by all output units: rank-1 forms over fan-in
                precs.append((inv, mu, torch.mul(mu, inv.view(-1))))
            elif mu_e.shape[0] == 1:
                fan = n.weight[0].numel()
                precs.append(
                    (
                        inv,
                        mu_e.expand_as(n.weight[:1]).reshape(fan),
                        (mu_e * inv).expand_as(n.weight[:1]).reshape(fan),
                    )
                )
            else:  # grouped convolution: μ differs between output units
                precs.append((inv, mu_e, None))

        def apply_p(i: int, rw: Tensor, rb: Tensor | None) -> tuple[Tensor, Tensor | None]:
            """z = P r: exact inverse of [[diag σ² + μμᵀ, μ], [μᵀ, 1]] (or diagonal)."""
            inv, mu, mu_inv = precs[i]
            zw = torch.mul(rw, inv)
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
        for n, (inv, _, _) in zip(active, precs, strict=True):
            cdt = inv.dtype
            bw = state[n.weight]["exp_avg"]
            if bw.dtype != cdt:
                bw = bw.to(cdt)
            bb = None
            if n.bias is not None:
                bb = state[n.bias]["exp_avg"]
                if bb.dtype != cdt:
                    bb = bb.to(cdt)
                ratio = corr[id(n.bias)] / corr[id(n.weight)]
                if ratio != 1.0:
                    bb = bb * ratio
            bs.append((bw, bb))
        if use_cg:
            cs = [corr[id(n.weight)] for n in active]
            sols = self._pcg(active, bs, apply_p, nsamp, ridge, cg_iters, pg, cs)
            for n, (hw, hb) in zip(active, sols, strict=True):
                if hw.dtype != n.weight.dtype:
                    hw = hw.to(n.weight.dtype)
                state[n.weight]["h"] = hw
                hs[id(n.weight)] = (hw, 1.0)
                if n.bias is not None and hb is not None:
                    if hb.dtype != n.bias.dtype:
                        hb = hb.to(n.bias.dtype)
                    state[n.bias]["h"] = hb
                    hs[id(n.bias)] = (hb, 1.0)
        else:
            for i, (n, (bw, bb)) in enumerate(zip(active, bs, strict=True)):
                zw, zb = apply_p(i, bw, bb)
                c = corr[id(n.weight)]
                hs[id(n.weight)] = (zw.to(n.weight.dtype), c)
                if n.bias is not None and zb is not None:
                    hs[id(n.bias)] = (zb.to(n.bias.dtype), c)

    def _pcg(
        self,
        active: list[Neuron],
        bs: list[tuple[Tensor, Tensor | None]],
        apply_p: Callable[[int, Tensor, Tensor | None], tuple[Tensor, Tensor | None]],
        nsamp: list[float],
        ridge: float,
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
            if "h" in st:
                warm = True
                hw = st["h"]
                if hw.dtype != bw.dtype:
                    hw = hw.to(bw.dtype)
                hb = None
                if bb is not None and n.bias is not None:
                    hb_state = self.state[n.bias].get("h")
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
                        aw, ab = n.product(hw, hb, inv_n[i] / cs[i], ridge / cs[i])
                    locs.append((aw, ab))
                red = iter(self._all_reduce(flat, pg))
                for i, (hw, _) in enumerate(hs):
                    (bw, bb), (aw, ab) = bs[i], locs[i]
                    if free[i]:
                        sc = inv_n[i] / cs[i]
                        aw = next(red).mul_(sc).add_(hw, alpha=ridge / cs[i])
                        ab = None if ab is None else next(red).mul_(sc)
                    rw = torch.sub(bw, aw, out=aw)
                    rb = None if (ab is None or bb is None) else torch.sub(bb, ab, out=ab)
                    rs.append((rw, rb))
                del locs, red, flat, aw, ab  # the local (unreduced) sums
            else:
                for i, n in enumerate(active):
                    (hw, hb), (bw, bb), c = hs[i], bs[i], cs[i]
                    if free[i]:
                        rw = torch.add(bw, hw, alpha=-ridge / c)
                        rb = None if bb is None else bb.clone()
                        n.vjp_add_(n.jvp(hw, hb), rw, rb, -inv_n[i] / c)
                    else:
                        aw, ab = n.product(hw, hb, inv_n[i] / c, ridge / c)
                        rw = torch.sub(bw, aw, out=aw)
                        rb = None if (ab is None or bb is None) else torch.sub(bb, ab, out=ab)
                    rs.append((rw, rb))
        elif iters > 1:  # the residual is updated in place: copy the right-hand side
            rs = [(bw.clone(), None if bb is None else bb.clone()) for bw, bb in bs]
        else:
            rs = list(bs)
        ps = [apply_p(i, rw, rb) for i, (rw, rb) in enumerate(rs)]  # p0 = z0
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
                    ap = n.product(pw, pb, inv_n[i], ridge)
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
                pap = vals[i][0] * inv_n[i] + ridge * vals[i][1] if free[i] else math.fsum(vals[i])
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
                    rw.add_(pw, alpha=-alpha * ridge)
                    us[i] = None
                elif free[i]:  # reduced local sums
                    assert ap_i is not None
                    rw.add_(ap_i[0], alpha=-alpha * inv_n[i])
                    if rb is not None and ap_i[1] is not None:
                        rb.add_(ap_i[1], alpha=-alpha * inv_n[i])
                    rw.add_(pw, alpha=-alpha * ridge)
                else:
                    assert ap_i is not None
                    rw.add_(ap_i[0], alpha=-alpha)
                    if rb is not None and ap_i[1] is not None:
                        rb.add_(ap_i[1], alpha=-alpha)
                aps[i] = None  # drop Âp (and J p) before z is allocated (peak memory)
                del ap_i, u_j
                zs.append(apply_p(i, rw, rb))
            rz_new = [math.fsum(v) for v in fetch([pair_dots(rs[i], zs[i]) for i in range(nn_)])]
            for i in range(nn_):
                beta = rz_new[i] / rz[i] if rz[i] > 0.0 else 0.0
                (zw, zb), (pw, pb) = zs[i], ps[i]
                zw.add_(pw, alpha=beta)  # p ← z + β p, in z's storage
                if zb is not None and pb is not None:
                    zb.add_(pb, alpha=beta)
                ps[i] = (zw, zb)
            rz = rz_new
        return hs

    def _clear_inputs(self) -> None:
        for n in self._neurons:
            n.clear()


_VAR_FLOOR = 1e-12
