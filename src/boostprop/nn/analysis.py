"""Exact-Hessian analysis of small networks: eigenvalue spread and gradient/Newton angles.

Reproduces the analysis of T. Vatanen, T. Raiko, H. Valpola, Y. LeCun, "Pushing Stochastic Gradient
towards Second-Order Methods — Backpropagation Learning with Transformations in Nonlinearities",
ICONIP 2013 (arXiv:1301.3476), Section 4: on a small network, the Hessian H of the training loss
with respect to the weights, its eigenvalue spread, and the angle between the gradient g and the
damped second-order direction (H + μI)⁻¹g over a grid of μ.  The paper used finite differences; here
H is exact (``torch.func`` in float64).  The claim is that the transformations make the angle smaller
(plain gradient descent closer to a second-order method) and the spectrum better conditioned.

Definitions used here:

- ``eigenvalues``: all eigenvalues of the symmetric H, ascending.
- An eigenvalue is *numerically zero* when |λ| ≤ ``rtol`` · max|λ|.  Such eigenvalues are not noise to
  ignore lightly: a softmax cross-entropy loss is invariant to adding the same vector to every
  output unit's incoming weights and bias, so its Hessian has exact null directions, and the
  computed eigenvalues there are round-off (~1e-17) of arbitrary sign.  They are counted in
  ``n_zero`` and left out of both condition numbers.
- ``condition_number`` = max|λ| / min|λ| over the eigenvalues that are not numerically zero.
- ``positive_condition_number`` = λ_max / λ_min⁺, λ_min⁺ the smallest eigenvalue > ``rtol`` · max|λ|
  (negative and numerically zero eigenvalues left out; NaN if λ_max is not positive).
- ``n_negative`` = number of eigenvalues < −``rtol`` · max|λ|.
- ``angles[i]`` = ∠(g, (H + μ_i I)⁺ g) in degrees, through the eigendecomposition, where ⁺ is the
  pseudo-inverse: eigen-directions with |λ + μ_i| ≤ ``rtol`` · max|λ| are dropped (for μ = 0 and the
  null directions above, this is the minimum-norm Newton direction).  NaN if nothing is left.
  For indefinite H + μI the angle may exceed 90°.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, jacrev

__all__ = [
    "DEFAULT_MUS",
    "HessianReport",
    "exact_hessian",
    "hessian_analysis",
    "newton_angles",
    "spectrum_conditioning",
]

#: Default damping grid μ ∈ {1e-4, 1e-3.5, ..., 1e2}.
DEFAULT_MUS: tuple[float, ...] = tuple(10.0 ** (e / 2) for e in range(-8, 5))

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class HessianReport:
    """Result of :func:`hessian_analysis` (all tensors float64 on the CPU).

    Attributes:
        loss: the training loss at the current parameters.
        grad_norm: ‖g‖₂.
        n_params: number of parameters in the Hessian.
        param_names: their names, in the order of the flattened vector.
        eigenvalues: eigenvalues of H, ascending.
        condition_number: max|λ| / min|λ| over the eigenvalues with |λ| > rtol·max|λ|.
        positive_condition_number: λ_max / (smallest λ > rtol·max|λ|).
        n_negative: number of eigenvalues < −rtol·max|λ|.
        n_zero: number of eigenvalues with |λ| ≤ rtol·max|λ|.
        rtol: the tolerance used above.
        mus: the damping values μ.
        angles: ∠(g, (H + μI)⁻¹g) in degrees, one per μ.
        hessian: H itself if requested, else None.
    """

    loss: float
    grad_norm: float
    n_params: int
    param_names: tuple[str, ...]
    eigenvalues: Tensor
    condition_number: float
    positive_condition_number: float
    n_negative: int
    n_zero: int
    rtol: float
    mus: tuple[float, ...]
    angles: tuple[float, ...]
    hessian: Tensor | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (eigenvalues as a list; the Hessian itself is left out).

        Example:
            >>> import json
            >>> net = nn.Sequential(nn.Linear(3, 2))
            >>> rep = hessian_analysis(net, torch.randn(8, 3), torch.randint(0, 2, (8,)), mus=[1.0])
            >>> sorted(json.loads(json.dumps(rep.to_dict())))[:3]
            ['angles', 'condition_number', 'eigenvalues']
        """
        return {
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "n_params": self.n_params,
            "param_names": list(self.param_names),
            "eigenvalues": [float(v) for v in self.eigenvalues],
            "condition_number": _json_float(self.condition_number),
            "positive_condition_number": _json_float(self.positive_condition_number),
            "n_negative": self.n_negative,
            "n_zero": self.n_zero,
            "rtol": self.rtol,
            "mus": list(self.mus),
            "angles": [_json_float(a) for a in self.angles],
        }


def _json_float(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _select_params(model: nn.Module, include_biases: bool) -> dict[str, Tensor]:
    params = {
        name: p.detach()
        for name, p in model.named_parameters()
        if p.requires_grad and (include_biases or p.dim() >= 2)
    }
    if not params:
        raise ValueError("model has no trainable parameters to take the Hessian over")
    return params


def exact_hessian(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn = F.cross_entropy,
    *,
    include_biases: bool = True,
) -> tuple[Tensor, Tensor, Tensor, tuple[str, ...]]:
    """Loss, gradient and exact Hessian of ``loss_fn(model(x), y)`` over the flattened parameters.

    The model is copied and evaluated in float64 (buffers such as α, β, γ included); the original
    is not modified.  Parameters are flattened in ``named_parameters()`` order; with
    ``include_biases=False`` only parameters with ≥ 2 dimensions (weight matrices) are used, the
    others being held fixed.

    Returns:
        ``(loss, g, H, names)``: a 0-d tensor, a vector (P,), a matrix (P, P), and the parameter
        names in flattening order; all float64 on the model's device.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        >>> loss, g, H, names = exact_hessian(net, torch.randn(10, 3), torch.randint(0, 2, (10,)))
        >>> H.shape, names[0]
        (torch.Size([26, 26]), '0.weight')
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point torch.Tensor")
    if not isinstance(y, Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}"
        )
    net = copy.deepcopy(model).to(torch.float64)
    net.eval()
    selected = _select_params(net, include_biases)
    names = tuple(selected)
    shapes = [selected[n].shape for n in names]
    numels = [selected[n].numel() for n in names]
    theta0 = torch.cat([selected[n].reshape(-1) for n in names])
    x64 = x.to(torch.float64)
    y_in = y.to(torch.float64) if y.is_floating_point() else y

    def loss_of(theta: Tensor) -> Tensor:
        pieces = torch.split(theta, numels)
        params = {n: p.view(s) for n, p, s in zip(names, pieces, shapes, strict=True)}
        return loss_fn(functional_call(net, params, (x64,)), y_in)

    loss = loss_of(theta0).detach()
    g = grad(loss_of)(theta0).detach()
    # reverse-over-reverse (jacrev of grad): exact, and avoids forward-mode AD decompositions
    h = jacrev(grad(loss_of))(theta0).detach()
    h = 0.5 * (h + h.T)
    return loss, g, h, names


def newton_angles(h: Tensor, g: Tensor, mus: Sequence[float], rtol: float = 1e-9) -> Tensor:
    """Angles in degrees between ``g`` and ``(h + μI)⁺ g`` for each μ (pseudo-inverse, module doc).

    Example:
        >>> newton_angles(torch.diag(torch.tensor([1.0, 4.0])), torch.tensor([1.0, 1.0]), [0.0])
        tensor([30.9638], dtype=torch.float64)
    """
    h64, g64 = h.to(torch.float64), g.to(torch.float64)
    if h64.dim() != 2 or h64.shape[0] != h64.shape[1]:
        raise ValueError(f"h must be a square matrix, got shape {tuple(h.shape)}")
    if g64.shape != (h64.shape[0],):
        raise ValueError(f"g must be a vector of length {h64.shape[0]}, got shape {tuple(g.shape)}")
    _check_rtol(rtol)
    mu_list = _check_mus(mus)
    lam, vecs = torch.linalg.eigh(0.5 * (h64 + h64.T))
    coef = vecs.T @ g64  # g in the eigenbasis
    g_norm = torch.linalg.vector_norm(g64)
    tol = rtol * float(lam.abs().max())
    out = []
    for mu in mu_list:
        denom = lam + mu
        keep = denom.abs() > tol
        d_coef = torch.where(keep, coef / torch.where(keep, denom, 1.0), 0.0)
        d_norm = torch.linalg.vector_norm(d_coef)
        if g_norm == 0 or d_norm == 0:
            out.append(float("nan"))
            continue
        cos = (coef @ d_coef) / (g_norm * d_norm)
        out.append(math.degrees(math.acos(max(-1.0, min(1.0, float(cos))))))
    return torch.tensor(out, dtype=torch.float64)


def spectrum_conditioning(eigenvalues: Tensor, rtol: float = 1e-9) -> tuple[float, float, int, int]:
    """``(condition_number, positive_condition_number, n_negative, n_zero)`` (see module doc).

    Example:
        >>> spectrum_conditioning(torch.tensor([-2.0, 1e-20, 1.0, 8.0]))
        (8.0, 8.0, 1, 1)
    """
    lam = eigenvalues.to(torch.float64)
    if lam.dim() != 1 or lam.numel() == 0:
        raise ValueError("eigenvalues must be a non-empty vector")
    _check_rtol(rtol)
    absl = lam.abs()
    amax = float(absl.max())
    tol = rtol * amax
    nonzero = absl[absl > tol]
    cond = amax / float(nonzero.min()) if nonzero.numel() else math.nan
    lmax = float(lam.max())
    pos = lam[lam > tol]
    pos_cond = lmax / float(pos.min()) if pos.numel() else math.nan
    n_neg = int((lam < -tol).sum())
    n_zero = int((absl <= tol).sum())
    return cond, pos_cond, n_neg, n_zero


def _check_rtol(rtol: float) -> None:
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)):
        raise TypeError(f"rtol must be a float, got {type(rtol).__name__}")
    if not (math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a non-negative finite float, got {rtol}")


def _check_mus(mus: Sequence[float]) -> list[float]:
    if isinstance(mus, (str, bytes)) or not isinstance(mus, Sequence) or len(mus) == 0:
        raise ValueError("mus must be a non-empty sequence of non-negative floats")
    out = []
    for i, mu in enumerate(mus):
        if isinstance(mu, bool) or not isinstance(mu, (int, float)):
            raise TypeError(f"mus[{i}] must be a float, got {type(mu).__name__}")
        if not (math.isfinite(mu) and mu >= 0):
            raise ValueError(f"mus[{i}] must be a non-negative finite float, got {mu}")
        out.append(float(mu))
    return out


def hessian_analysis(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn = F.cross_entropy,
    mus: Sequence[float] = DEFAULT_MUS,
    *,
    include_biases: bool = True,
    rtol: float = 1e-9,
    keep_hessian: bool = False,
) -> HessianReport:
    """Exact Hessian of the training loss, its conditioning, and gradient/Newton angles per μ.

    Call it at several points of a training run, for networks with and without transformations
    (e.g. :class:`~boostprop.nn.ShortcutMLP` with ``transforms="none"`` vs ``"alpha_beta"``);
    ``x, y`` is the (full, small) training set.  The model is not modified.  Cost: P vectorised reverse-over-
    reverse passes for P parameters, fine for networks like 20-10-10-3 (P ≈ 650).

    Args:
        model: any module mapping ``x`` to the input of ``loss_fn``.
        x, y: inputs and targets.
        loss_fn: ``loss_fn(output, y)`` returning a scalar (default: cross-entropy, mean).
        mus: damping values μ ≥ 0.
        include_biases: take the Hessian over biases too (default) or over weight matrices only.
        rtol: relative threshold for numerically zero eigenvalues (see the module doc).
        keep_hessian: store H in the report.

    Example:
        >>> from boostprop.nn import ShortcutMLP
        >>> _ = torch.manual_seed(0); net = ShortcutMLP([20, 10, 10, 3])
        >>> xs, ys = torch.randn(100, 20), torch.randint(0, 3, (100,))
        >>> net.update_transforms_(xs)
        >>> rep = hessian_analysis(net, xs, ys, mus=[1e-2, 1.0])
        >>> rep.n_params, len(rep.angles)
        (643, 2)
    """
    loss, g, h, names = exact_hessian(model, x, y, loss_fn, include_biases=include_biases)
    mu_list = _check_mus(mus)
    lam = torch.linalg.eigvalsh(h)
    cond, pos_cond, n_neg, n_zero = spectrum_conditioning(lam, rtol)
    angles = newton_angles(h, g, mu_list, rtol)
    return HessianReport(
        loss=float(loss),
        grad_norm=float(torch.linalg.vector_norm(g)),
        n_params=int(g.numel()),
        param_names=names,
        eigenvalues=lam.cpu(),
        condition_number=cond,
        positive_condition_number=pos_cond,
        n_negative=n_neg,
        n_zero=n_zero,
        rtol=float(rtol),
        mus=tuple(mu_list),
        angles=tuple(float(a) for a in angles),
        hessian=h.cpu() if keep_hessian else None,
    )
