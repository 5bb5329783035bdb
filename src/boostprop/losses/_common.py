"""Shared plumbing for the losses: the ``torch.nn.functional.cross_entropy`` conventions.

Used by the exponential/cubic boosting losses (Øland et al. 2017, arXiv:1707.04199), the rooted
logistic objectives (Wang et al. 2023, arXiv:2310.03890) and the focal-loss baseline.

Every multi-class loss here is written as ``per_sample_i = Σ_j c_ij · ℓ_j(z_i)`` where ``ℓ_j`` is the
loss of logits ``z_i`` for the one-hot target ``j`` and ``c_ij = weight_j · t̃_ij`` with ``t̃`` the
(label-smoothed) target distribution. This is exactly how ``cross_entropy`` combines class weights,
label smoothing and probability targets:

* class-index targets: ``t̃ = (1 − ε)·onehot(y) + ε/C``; ignored positions contribute 0;
  ``reduction="mean"`` divides by ``Σ_i weight[y_i]`` over the non-ignored positions (the plain count
  without ``weight``), also for the smoothing part; when nothing is counted the mean is NaN (as for
  ``cross_entropy``) and its gradient is zero;
* probability targets: ``t̃ = (1 − ε)·t + ε/C``; ``reduction="mean"`` divides by the number of
  positions ``N·d1·...`` (the weights do not enter the divisor).

Three evaluation paths share these conventions (see :func:`run_kernel`): a plain differentiable
expression (used inside ``torch.func`` transforms and forward-mode AD, and differentiated by autograd
for every derivative beyond the first), a traced forward with a hand-written first derivative that
saves the input and a few per-position statistics, never an ``(N, C)`` tensor (under
``torch.compile``), and, in eager mode, a custom autograd function with a hand-written, in-place,
memory-saving first derivative. Nothing in either path reads a tensor value on the
host; the checks that need values (label range, non-negative weights) run only in eager mode on CPU
tensors, where they cost no device synchronisation.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class Targets(NamedTuple):
    """Validated targets of one call, in the class-dim-1 layout of the input.

    Attributes:
        kind: ``"index"`` or ``"prob"``.
        labels: class indices with ignored positions replaced by 0, shape ``(N, d1, ...)``
            (``None`` for probability targets).
        valid: float mask (1 = counted) of shape ``(N, d1, ...)`` for class-index targets.
        weight_y: ``weight[index] · valid`` (``valid`` without weight) — the coefficient of the
            one-hot part before label smoothing, and the terms of the ``mean`` divisor.
        prob: the probability targets (``None`` for index targets), not smoothed.
        weight: per-class weight ``(C,)`` or ``None``.
        label_smoothing: ε.
        num_classes: C.
        unbatched: the input was a single ``(C,)`` vector.
        classes: the class-index target as given (ignored positions keep ``ignore_index``), for
            one-hot comparisons in the traced gradients: every one-hot term there is multiplied by
            a coefficient that is zero at ignored positions, so their value does not matter, and
            comparing the raw target spares Inductor a masked copy of it (``None`` for
            probability targets).
    """

    kind: str
    labels: Tensor | None
    valid: Tensor | None
    weight_y: Tensor | None
    prob: Tensor | None
    weight: Tensor | None
    label_smoothing: float
    num_classes: int
    unbatched: bool
    classes: Tensor | None = None


def values_readable(*tensors: Tensor | None) -> bool:
    """True where reading tensor values on the host is free and allowed: eager mode, CPU tensors.

    False under ``torch.compile`` / ``torch.export`` tracing, inside ``torch.func`` transforms,
    under ``torch.jit.trace`` and for tensors on any other device (CUDA, meta, ...), where a value
    check would be a host synchronisation or a graph break.
    """
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if torch._C._are_functorch_transforms_active():
        return False
    return all(t is None or t.device.type == "cpu" for t in tensors)


def saved_buffer_is_free() -> bool:
    """True inside a backward pass that frees the graph afterwards (no ``retain_graph`` /
    ``create_graph``): a custom function may then overwrite its saved buffer with the gradient.

    Falls back to ``False`` (always copy) if PyTorch does not expose the flag.
    """
    keep_graph = getattr(torch._C._autograd, "_get_current_graph_task_keep_graph", None)
    return keep_graph is not None and not keep_graph()


class Kernel(Protocol):
    """One loss evaluation on fixed targets: a plain expression and fast first derivatives.

    ``expression(z)`` is differentiable to every order. ``traced_forward(z)`` returns its value and
    per-position statistics (row max, log-sum-exp, slope sums: ``(N, 1, ...)`` / ``(N, ...)``
    tensors, never ``(N, C, ...)``) from which ``traced_grad(z, aux, grad_out)`` forms the first
    derivative in one pass of out-of-place torch operations (traced by ``torch.compile``).
    ``forward(z)`` returns the expression's value and the tensors ``backward`` needs;
    ``backward(z, saved, grad_out, reuse)`` returns the first derivative and may overwrite ``saved``
    (never ``z``) when ``reuse`` is true.
    """

    def expression(self, z: Tensor) -> Tensor:
        """Per-position loss as differentiable torch operations."""
        ...

    def traced_forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Per-position loss and the per-position statistics for :meth:`traced_grad`."""
        ...

    def traced_grad(self, z: Tensor, aux: list[Tensor], grad_out: Tensor) -> Tensor:
        """First derivative of :meth:`expression` for the per-position gradient ``grad_out``."""
        ...

    def forward(self, z: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Per-position loss without autograd, and the tensors for :meth:`backward`."""
        ...

    def backward(self, z: Tensor, saved: list[Tensor], grad_out: Tensor, reuse: bool) -> Tensor:
        """Gradient with respect to ``z`` for the incoming per-position gradient ``grad_out``."""
        ...


class _FastPath(torch.autograd.Function):
    """Eager evaluation of a :class:`Kernel` with its hand-written, in-place first derivative.

    When the backward pass itself is recorded (``create_graph=True``: Hessians, gradient penalties),
    the gradient is instead taken by autograd from the plain expression, so that every higher
    derivative is exact and the returned gradient is differentiable.
    """

    @staticmethod
    def forward(ctx: Any, z: Tensor, kernel: Kernel) -> Tensor:
        out, saved = kernel.forward(z)
        ctx.save_for_backward(z, *saved)
        ctx.kernel = kernel
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, None]:
        z, *saved = ctx.saved_tensors
        kernel: Kernel = ctx.kernel
        if torch.is_grad_enabled():  # create_graph=True
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(kernel.expression(z), z, grad_out, create_graph=True)
            return grad, None
        return kernel.backward(z, saved, grad_out, saved_buffer_is_free()), None


class _CompiledPath(torch.autograd.Function):
    """The kernel's traced forward with its hand-written first derivative, for ``torch.compile``.

    Saved: the input and per-position statistics (for the softmax losses the row max and
    log-sum-exp, as a compiled ``cross_entropy`` keeps, and the slope sums the gradient needs), no
    ``(N, C)`` activation. The backward is one fused pass: the log-softmax from the saved
    statistics, the one-hot part as a comparison with the class index (a ``where`` that Inductor
    fuses, not a scatter).
    """

    @staticmethod
    def forward(ctx: Any, z: Tensor, kernel: Kernel) -> Tensor:
        out, aux = kernel.traced_forward(z)
        ctx.save_for_backward(z, *aux)
        ctx.kernel = kernel
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, None]:
        z, *aux = ctx.saved_tensors
        return ctx.kernel.traced_grad(z, aux, grad_out), None


def run_kernel(z: Tensor, kernel: Kernel) -> Tensor:
    """Per-position loss: the plain expression inside ``torch.func`` transforms, forward-mode AD and
    ``torch.jit.trace``; :class:`_CompiledPath` under ``torch.compile``; else (eager) the fast
    custom function :class:`_FastPath`."""
    if (
        torch.jit.is_tracing()
        or torch._C._are_functorch_transforms_active()
        or torch.autograd.forward_ad._current_level >= 0
    ):
        return kernel.expression(z)
    out: Tensor
    if torch.compiler.is_compiling():
        out = _CompiledPath.apply(z, kernel)
    else:
        out = _FastPath.apply(z, kernel)
    return out


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is one of ``none``, ``mean``, ``sum``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")


def check_positive(name: str, value: float) -> float:
    """Return ``float(value)`` if it is a finite number > 0, else raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return v


def check_finite(name: str, value: float) -> float:
    """Return ``float(value)`` if it is a finite number, else raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a finite number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return v


def resolve_cap(max_exponent: float, legacy: float | None, legacy_name: str) -> float:
    """The overflow cap ``max_exponent``, accepting a deprecated alias (with a DeprecationWarning)."""
    if legacy is not None:
        warnings.warn(
            f"{legacy_name} is deprecated, use max_exponent (same meaning)",
            DeprecationWarning,
            stacklevel=3,
        )
        return check_finite(legacy_name, legacy)
    return check_finite("max_exponent", max_exponent)


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """``reduction`` from torch's deprecated ``size_average``/``reduce`` arguments, as torch does."""
    if size_average is not None or reduce is not None:
        return str(torch.nn._reduction.legacy_get_string(size_average, reduce))
    return reduction


def as_compute_dtype(input: Tensor, name: str = "input") -> Tensor:
    """Validate the logits and upcast float16/bfloat16 to float32 (losses are computed in fp32)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor of logits, got {input.dtype}")
    if input.dtype in _LOW_PRECISION:
        return input.float()
    return input


def autocast_off(device_type: str) -> contextlib.AbstractContextManager[Any]:
    """A context that disables autocast on ``device_type`` (the losses compute in float32);
    a no-op for device types without autocast (``meta``)."""
    if device_type in ("cpu", "cuda", "xpu", "mps", "hpu", "mtia"):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def check_class_vector(name: str, vec: Tensor | None, num_classes: int, z: Tensor) -> Tensor | None:
    """Validate a per-class vector (``weight``, per-class ``alpha``): 1-D, length C, finite, ≥ 0.

    The value check (finite, ≥ 0) runs only where values are readable without a device sync
    (:func:`values_readable`).
    """
    if vec is None:
        return None
    if not isinstance(vec, Tensor):
        raise TypeError(f"{name}: expected a 1-D torch.Tensor of length {num_classes} or None")
    if vec.dim() != 1 or vec.shape[0] != num_classes:
        raise ValueError(
            f"{name}: expected a 1-D tensor with one entry per class ({num_classes}), "
            f"got shape {tuple(vec.shape)}"
        )
    if not vec.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {vec.dtype}")
    if values_readable(vec) and (not bool(torch.isfinite(vec).all()) or bool((vec < 0).any())):
        raise ValueError(f"{name}: expected finite, non-negative entries")
    return vec.to(device=z.device, dtype=z.dtype)


def prepare_targets(
    z: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
) -> tuple[Tensor, Targets]:
    """Validate ``target`` against the logits ``z`` the way ``cross_entropy`` does.

    Returns the logits with a batch dimension (``(C,)`` inputs become ``(1, C)``) and the
    :class:`Targets`. Shapes and dtypes are always checked; the label range only where values are
    readable without a device sync (eager CPU), see the module docstring.
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"target: expected a torch.Tensor, got {type(target).__name__}")
    if z.dim() == 0:
        raise ValueError("input: expected shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    eps = check_finite("label_smoothing", label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")
    unbatched = z.dim() == 1
    if unbatched:
        z = z.unsqueeze(0)
        target = target.unsqueeze(0)
    num_classes = z.shape[1]
    w = check_class_vector("weight", weight, num_classes, z)
    sample_shape = (z.shape[0], *z.shape[2:])

    if target.dtype in (torch.int64, torch.uint8):
        if tuple(target.shape) != tuple(sample_shape):
            raise ValueError(
                f"target: class-index targets must have shape {tuple(sample_shape)} for input of "
                f"shape {tuple(z.shape)}, got {tuple(target.shape)}"
            )
        target = target.to(device=z.device, dtype=torch.int64)
        ignored = target == ignore_index
        index = target.masked_fill(ignored, 0)
        if values_readable(index) and index.numel():
            lo, hi = (int(v) for v in torch.aminmax(index))
            if lo < 0 or hi >= num_classes:
                raise IndexError(
                    f"target: class index {lo if lo < 0 else hi} is out of range "
                    f"[0, {num_classes}) (and is not ignore_index={ignore_index})"
                )
        if torch.compiler.is_compiling():
            # 1 where target ≠ ignore_index, by integer arithmetic (the xor is 0 only where they
            # are equal; clamp then abs cannot overflow): no bool tensor for the partitioner to
            # save, so the compiled backward reads the target it reads for the one-hot part
            # instead of converting a saved bool mask per element (~1.5× slower on CPU)
            valid = torch.bitwise_xor(target, ignore_index).clamp_(-1, 1).abs_().to(z.dtype)
        else:
            valid = (~ignored).to(z.dtype)
        weight_y = valid if w is None else w[index] * valid
        return z, Targets(
            "index", index, valid, weight_y, None, w, eps, num_classes, unbatched, target
        )

    if target.is_floating_point():
        if target.shape != z.shape:
            raise ValueError(
                f"target: probability targets must have the input's shape {tuple(z.shape)}, "
                f"got {tuple(target.shape)}"
            )
        prob = target.to(device=z.device, dtype=z.dtype)
        return z, Targets("prob", None, None, None, prob, w, eps, num_classes, unbatched)

    raise ValueError(
        "target: expected class indices (torch.int64 or torch.uint8) or floating-point "
        f"probabilities, got {target.dtype}"
    )


def class_view(vec: Tensor, ndim: int) -> Tensor:
    """View a per-class vector ``(C,)`` so that it broadcasts against ``(N, C, d1, ...)``."""
    return vec.view(1, -1, *([1] * (ndim - 2)))


def one_hot_like(index: Tensor, z: Tensor) -> Tensor:
    """``onehot(index)`` as a ``z``-dtype tensor of ``z``'s shape, for ``index`` ``(N, 1, d1, ...)``.

    A comparison of the class position with the index (broadcast, no scatter), so that Inductor
    fuses it into the surrounding elementwise pass.
    """
    classes = torch.arange(z.shape[1], device=z.device).view(1, -1, *([1] * (z.dim() - 2)))
    return (classes == index).to(z.dtype)


def class_dot(x: Tensor, vec: Tensor) -> Tensor:
    """``Σ_j x_ij·vec_j`` over the class dimension 1 of ``x`` ``(N, C, d1, ...)``.

    Eagerly an ``(N, C)`` input takes one matrix-vector product (one pass, no ``(N, C)``
    temporary); under ``torch.compile`` the product-and-sum form, which Inductor fuses.
    """
    if x.dim() == 2 and vec.dtype == x.dtype and not torch.compiler.is_compiling():
        return torch.mv(x, vec)
    return (x * class_view(vec, x.dim())).sum(1)


def dense_coefficients(t: Targets, ndim: int, class_coef: Tensor | None = None) -> Tensor:
    """``c_ij = weight_j·factor_j·t̃_ij`` for probability targets (``class_coef`` = weight·factor)."""
    assert t.prob is not None
    eps, C = t.label_smoothing, t.num_classes
    c = t.prob * (1.0 - eps) + eps / C if eps > 0 else t.prob
    if class_coef is not None:
        c = c * class_view(class_coef, ndim)
    return c


def sample_mass(t: Targets) -> Tensor:
    """``ω_i = Σ_j c_ij`` for each position, shape ``(N, d1, ...)``."""
    C = t.num_classes
    eps = t.label_smoothing
    if t.kind == "index":
        assert t.weight_y is not None and t.valid is not None
        if t.weight is None:
            return t.valid
        omega = t.weight_y * (1.0 - eps) if eps > 0 else t.weight_y
        if eps > 0:
            omega = omega + t.valid * (t.weight.sum() * (eps / C))
        return omega
    assert t.prob is not None
    mass = t.prob.sum(1) if t.weight is None else class_dot(t.prob, t.weight)
    if eps > 0:
        if t.weight is not None:
            mass = mass * (1.0 - eps) + t.weight.sum() * (eps / C)
        else:
            mass = mass * (1.0 - eps) + eps
    return mass


def reduce(per_sample: Tensor, t: Targets, reduction: str) -> Tensor:
    """Apply ``reduction`` with ``cross_entropy``'s divisor (see the module docstring).

    A class-index ``mean`` with nothing counted (all positions ignored) is NaN, like
    ``cross_entropy``, with a zero gradient (not NaN): the divisor is replaced by 1 behind a
    ``where`` that selects NaN, so no ``0/0`` enters the backward pass.
    """
    if reduction == "none":
        return per_sample.squeeze(0) if t.unbatched else per_sample
    total = per_sample.sum()
    if reduction == "sum":
        return total
    if t.kind == "prob":
        return total / per_sample.numel()
    assert t.weight_y is not None
    divisor = t.weight_y.sum()
    counted = divisor != 0
    safe = torch.where(counted, divisor, torch.ones_like(divisor))
    return torch.where(counted, total / safe, torch.full_like(total, math.nan))


class CrossEntropyConventions(torch.nn.Module):
    """Base of the loss modules: the state every ``cross_entropy``-style loss module holds
    (``weight`` as a buffer, ``ignore_index``, ``reduction``, ``label_smoothing``), checked once.

    The constructor takes ``torch.nn.CrossEntropyLoss``'s positional arguments in its order,
    ``(weight, size_average, ignore_index, reduce, reduction, label_smoothing)``; the deprecated
    ``size_average``/``reduce`` are mapped to ``reduction`` exactly as torch does. Subclasses pass
    :meth:`conventions` to their functional form.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction)
        check_reduction(reduction)
        self.weight: Tensor | None
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def conventions(self) -> dict[str, Any]:
        """The keyword arguments shared with ``cross_entropy``, for the functional form."""
        return {
            "weight": self.weight,
            "ignore_index": self.ignore_index,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
        }
