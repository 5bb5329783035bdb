"""Shared plumbing for the losses: the ``torch.nn.functional.cross_entropy`` conventions.

Used by the exponential/cubic boosting losses (Øland et al. 2017, arXiv:1707.04199), the rooted
logistic objectives (Wang et al. 2023, arXiv:2310.03890) and the focal-loss baseline.

Every multi-class loss here is written as ``per_sample_i = Σ_j c_ij · ℓ_j(z_i)`` where ``ℓ_j`` is the
loss of logits ``z_i`` for the one-hot target ``j`` and ``c_ij = weight_j · t̃_ij`` with ``t̃`` the
(label-smoothed) target distribution. This is exactly how ``cross_entropy`` combines class weights,
label smoothing and probability targets:

* class-index targets: ``t̃ = (1 − ε)·onehot(y) + ε/C``; ignored positions contribute 0;
  ``reduction="mean"`` divides by ``Σ_i weight[y_i]`` over the non-ignored positions (the plain count
  without ``weight``), also for the smoothing part;
* probability targets: ``t̃ = (1 − ε)·t + ε/C``; ``reduction="mean"`` divides by the number of
  positions ``N·d1·...`` (the weights do not enter the divisor).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")

_LOW_PRECISION = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Targets:
    """Validated targets of one call, in the class-dim-1 layout of the input.

    Attributes:
        kind: ``"index"`` or ``"prob"``.
        index: class indices with ignored positions replaced by 0, shape ``(N, d1, ...)``
            (``None`` for probability targets).
        valid: float mask (1 = counted) of shape ``(N, d1, ...)``, ``None`` when nothing is ignored.
        weight_y: ``weight[index] · valid`` (or ``valid``/``None`` without weight) — the coefficient
            of the one-hot part, before label smoothing.
        prob: the probability targets (``None`` for index targets), not smoothed.
        weight: per-class weight ``(C,)`` or ``None``.
        label_smoothing: ε.
        num_classes: C.
        unbatched: the input was a single ``(C,)`` vector.
    """

    kind: str
    index: Tensor | None
    valid: Tensor | None
    weight_y: Tensor | None
    prob: Tensor | None
    weight: Tensor | None
    label_smoothing: float
    num_classes: int
    unbatched: bool


def saved_buffer_is_free() -> bool:
    """True inside a backward pass that frees the graph afterwards (no ``retain_graph`` /
    ``create_graph``): a custom function may then overwrite its saved buffer with the gradient.

    Falls back to ``False`` (always copy) if PyTorch does not expose the flag.
    """
    keep_graph = getattr(torch._C._autograd, "_get_current_graph_task_keep_graph", None)
    return keep_graph is not None and not keep_graph()


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


def as_compute_dtype(input: Tensor, name: str = "input") -> Tensor:
    """Validate the logits and upcast float16/bfloat16 to float32 (losses are computed in fp32)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor of logits, got {input.dtype}")
    if input.dtype in _LOW_PRECISION:
        return input.float()
    return input


@contextmanager
def no_autocast(device_type: str) -> Iterator[None]:
    """Disable autocast on ``device_type`` inside the block (the loss is computed in fp32)."""
    with torch.autocast(device_type=device_type, enabled=False):
        yield


def check_class_vector(name: str, vec: Tensor | None, num_classes: int, z: Tensor) -> Tensor | None:
    """Validate a per-class vector (``weight``, per-class ``alpha``): 1-D, length C, finite, ≥ 0."""
    if vec is None:
        return None
    if not isinstance(vec, Tensor):
        raise TypeError(f"{name}: expected a 1-D torch.Tensor of length {num_classes} or None")
    if vec.dim() != 1 or vec.numel() != num_classes:
        raise ValueError(
            f"{name}: expected a 1-D tensor with one entry per class ({num_classes}), "
            f"got shape {tuple(vec.shape)}"
        )
    if not vec.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {vec.dtype}")
    vec = vec.to(device=z.device, dtype=z.dtype)
    if not bool(torch.isfinite(vec).all()) or bool((vec < 0).any()):
        raise ValueError(f"{name}: expected finite, non-negative entries")
    return vec


def prepare_targets(
    z: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
) -> tuple[Tensor, Targets]:
    """Validate ``target`` against the logits ``z`` the way ``cross_entropy`` does.

    Returns the logits with a batch dimension (``(C,)`` inputs become ``(1, C)``) and the
    :class:`Targets`.
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
        if tuple(target.shape) != sample_shape:
            raise ValueError(
                f"target: class-index targets must have shape {sample_shape} for input of shape "
                f"{tuple(z.shape)}, got {tuple(target.shape)}"
            )
        target = target.to(device=z.device, dtype=torch.int64)
        # few whole-tensor passes: one min/max; the ignore_index compare only when it can match
        valid: Tensor | None = None
        index = target
        could_ignore = True
        if target.numel():
            lo, hi = torch.aminmax(target)
            could_ignore = int(lo) <= ignore_index <= int(hi)
        if could_ignore:
            ignored = target == ignore_index
            if bool(ignored.any()):
                index = target.masked_fill(ignored, 0)
                valid = (~ignored).to(z.dtype)
        if index.numel() and index is not target:
            lo, hi = torch.aminmax(index)
        if index.numel() and (int(lo) < 0 or int(hi) >= num_classes):
            value = int(lo) if int(lo) < 0 else int(hi)
            raise IndexError(
                f"target: class index {value} is out of range [0, {num_classes}) "
                f"(and is not ignore_index={ignore_index})"
            )
        weight_y: Tensor | None = valid
        if w is not None:
            weight_y = w[index] if valid is None else w[index] * valid
        return z, Targets("index", index, valid, weight_y, None, w, eps, num_classes, unbatched)

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


def sample_mass(z: Tensor, t: Targets) -> Tensor:
    """``ω_i = Σ_j c_ij`` for each position, shape ``(N, d1, ...)``."""
    C = t.num_classes
    eps = t.label_smoothing
    if t.kind == "index":
        assert t.index is not None
        shape = t.index.shape
        if t.weight is None:
            base = torch.ones(shape, dtype=z.dtype, device=z.device)
            if t.valid is not None:
                base = t.valid
            return base
        assert t.weight_y is not None
        omega = t.weight_y * (1.0 - eps)
        if eps > 0:
            smooth = t.weight.sum() * (eps / C)
            omega = omega + (smooth if t.valid is None else smooth * t.valid)
        return omega
    assert t.prob is not None
    mass = t.prob.sum(1) if t.weight is None else torch.einsum("nc...,c->n...", t.prob, t.weight)
    if eps > 0:
        if t.weight is not None:
            mass = mass * (1.0 - eps) + t.weight.sum() * (eps / C)
        else:
            mass = mass * (1.0 - eps) + eps
    return mass


def reduce(per_sample: Tensor, t: Targets, reduction: str) -> Tensor:
    """Apply ``reduction`` with ``cross_entropy``'s divisor (see the module docstring)."""
    if reduction == "none":
        return per_sample.squeeze(0) if t.unbatched else per_sample
    total = per_sample.sum()
    if reduction == "sum":
        return total
    if t.kind == "prob":
        return total / per_sample.numel()
    if t.weight_y is not None:
        return total / t.weight_y.sum()
    return total / per_sample.numel()


class CrossEntropyConventions(torch.nn.Module):
    """Base of the loss modules: the state every ``cross_entropy``-style loss module holds
    (``weight`` as a buffer, ``ignore_index``, ``reduction``, ``label_smoothing``), checked once.

    Subclasses pass :meth:`conventions` to their functional form.
    """

    def __init__(
        self,
        *,
        weight: Tensor | None,
        ignore_index: int,
        reduction: str,
        label_smoothing: float,
    ) -> None:
        super().__init__()
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
