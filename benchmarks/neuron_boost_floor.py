"""How fast can an eager NeuronBoost step be? A floor for issue 15's per-step targets.

NeuronBoost (Munoz 2025, arXiv:2502.01131) with ``cg_iters=2`` solves each layer's ridge system by
warm-started preconditioned CG. On the MLP 784-256-256-10 at batch 128 every layer is matrix-free,
so a step costs five products with the layer's inputs per layer (three ``J·p``, two ``Jᵀu``) and
about twenty elementwise passes over each weight-sized vector (gradient norm and EMA, residual,
``z = P r`` with its rank-1 bias part, five dot products, the ``x``, ``r`` and ``p`` updates, the
normaliser's dot product, weight decay and the update).

This script times, interleaved in one process with ``optimizer_overhead.py``'s workload, data and
timing (process CPU time, medians over rounds of 5 iterations, one intra-op thread):

* ``sgd``: the SGD iteration (forward, backward, ``step``, ``zero_grad``);
* ``nb``: the NeuronBoost iteration (``cg_iters=2``, as ``nb-cg2``);
* ``floor-products``: forward and backward of the plain model plus NeuronBoost's fifteen products,
  same shapes and layouts, nothing else;
* ``floor-step``: the same plus the step's weight-sized elementwise passes, written out straight
  (fixed scalars, no host sync, no bookkeeping): what an eager step costs without any Python
  around its tensor operations;
* ``full-compiled`` (unless ``--no-compile``): NeuronBoost's whole step for this model (input
  moments, preconditioner, the warm-started CG, normaliser, weight decay and update: the same math
  with the same defaults) written as one function with its CG scalars on the device and none of the
  optimizer's generality (checks, groups, bookkeeping, other module kinds), under
  ``torch.compile``: Inductor fuses every elementwise pass and reduction between the products and
  there is no per-operation dispatch, so this is what the step costs without any overhead.

Before timing, that function (eager, and compiled) is checked against ``NeuronBoost`` in float64
over 5 steps (the largest parameter difference is printed): it is the same step.

The floor ratios to ``sgd`` bound from below what the eager step can reach without changing the
method (its products and passes) or fusing kernels; ``full-compiled`` measures the whole step once
the optimizer's own overhead is gone and every pass is fused. The floor is the matrix-free path's:
at batch 1000 NeuronBoost forms the first layer's Gram matrix instead (fewer flops there), so it
runs below this floor. Usage::

    .venv/bin/python benchmarks/neuron_boost_floor.py [--batch 128] [--rounds 15] [--no-compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from boostprop.optim import NeuronBoost

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimizer_overhead import _data, mlp


class _Layer:
    """One ``nn.Linear``'s CG vectors (weight-sized buffers, as NeuronBoost keeps them)."""

    def __init__(self, lin: nn.Linear) -> None:
        w = lin.weight
        self.lin = lin
        self.m, self.h, self.r, self.p, self.z = (torch.zeros_like(w) for _ in range(5))
        self.mb, self.hb = torch.zeros_like(lin.bias), torch.zeros_like(lin.bias)
        d_in = w.shape[1]
        self.inv = torch.rand(1, d_in, dtype=w.dtype, device=w.device) + 0.5
        self.mu = torch.rand(d_in, dtype=w.dtype, device=w.device)
        self.mu_inv = self.mu * self.inv.view(-1)


def _apply_p(layer: _Layer, rw: Tensor, rb: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
    zw = torch.mul(rw, layer.inv, out=out)
    zw.addr_(rb, layer.mu_inv, alpha=-1.0)
    return zw, torch.addmv(rb, zw, layer.mu, alpha=-1.0)


def _floor_step(layers: list[_Layer], inputs: list[Tensor], passes: bool) -> None:
    """NeuronBoost's products (and, with ``passes``, its elementwise passes) with fixed scalars."""
    a, g, lr = 0.1, 1e-3, 0.1
    for layer, x in zip(layers, inputs, strict=True):
        w, b = layer.lin.weight, layer.lin.bias
        assert w.grad is not None and b.grad is not None
        xt = x.t()
        if passes:
            torch._foreach_norm([w.grad, b.grad])
            layer.m.lerp_(w.grad, 0.1)
            torch.add(layer.m, layer.h, alpha=-g, out=layer.r)
        u = torch.addmm(layer.hb.unsqueeze(1), layer.h, xt)  # J·h (warm start)
        layer.r.addmm_(u, x, alpha=-a)  # r0 = m − A h
        rb = layer.mb - u.sum(1)
        pw, pb = _apply_p(layer, layer.r, rb, layer.p) if passes else (layer.p, rb)
        if passes:
            torch.dot(layer.r.view(-1), pw.view(-1))
        for it in range(2):
            u = torch.addmm(pb.unsqueeze(1), pw, xt)  # J·p
            if passes:
                torch.dot(pw.view(-1), pw.view(-1))
                layer.h.add_(pw, alpha=a)
            if it == 1:
                break
            if passes:
                layer.r.add_(pw, alpha=-a * g)
            layer.r.addmm_(u, x, alpha=-a)  # r −= α Jᵀu/N
            rb = rb - u.sum(1)
            if passes:
                zw, zb = _apply_p(layer, layer.r, rb, layer.z)
                torch.dot(layer.r.view(-1), zw.view(-1))
                pw = zw.add_(pw, alpha=0.5)
                pb = zb.add_(pb, alpha=0.5)
        if passes:
            torch.dot(layer.h.view(-1), layer.m.view(-1))
            with torch.no_grad():
                w.mul_(1.0 - lr * 1e-4)
                w.add_(layer.h, alpha=-1e-3)


class _FullState:
    """NeuronBoost's per-layer state for :func:`_full_step` (zeros, as at construction)."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        self.m = [torch.zeros_like(lin.weight) for lin in linears]  # gradient EMAs
        self.mb = [torch.zeros_like(lin.bias) for lin in linears]
        self.h = [torch.zeros_like(lin.weight) for lin in linears]  # CG warm starts
        self.hb = [torch.zeros_like(lin.bias) for lin in linears]
        self.mu = [lin.weight.new_zeros(lin.in_features) for lin in linears]  # input moment EMAs
        self.nu = [lin.weight.new_zeros(lin.in_features) for lin in linears]
        self.t = torch.zeros((), dtype=torch.float64, device=linears[0].weight.device)


def _precondition(
    rw: Tensor, rb: Tensor, inv: Tensor, mu: Tensor, mu_inv: Tensor
) -> tuple[Tensor, Tensor]:
    """``z = P r`` for a Linear layer with bias: ``zw = (rw − rb μᵀ)/σ²``, ``zb = rb − zw·μ``."""
    zw = rw * inv - torch.outer(rb, mu_inv)
    return zw, rb - zw @ mu


def _full_step(
    linears: list[nn.Linear], xs: list[Tensor], st: _FullState, lr: float, cg_iters: int
) -> None:
    """NeuronBoost's step (defaults: ridge 1, betas (0.9, 0.9, 0.999), shrinkage 0.1, min_norm
    0.01, weight decay 1e-4) for Linear layers with bias, matrix-free, one process.

    Per layer: input moments → bias-corrected mean and shrunk variance → preconditioner ``P``
    (exact inverse of ``[[diag σ² + μμᵀ, μ], [μᵀ, 1]]``); warm-started PCG on
    ``(XᵀX/N + γ I_w) x = m`` from ``h_prev / c``; then ``s = max(min_norm, sqrt(c·Σ⟨h, m⟩))``
    and ``θ ← (1 − lr·wd)·θ − (lr/s)·h``. The CG scalars stay 0-d tensors (no host sync).
    """
    ridge, (b_g, b_mu, b_nu), shrink, min_norm, wd = 1.0, (0.9, 0.9, 0.999), 0.1, 1e-2, 1e-4
    st.t += 1
    t = st.t
    c = 1.0 / (1.0 - b_g**t)
    total = torch.zeros((), dtype=xs[0].dtype, device=xs[0].device)
    for i, (lin, x) in enumerate(zip(linears, xs, strict=True)):
        assert lin.weight.grad is not None and lin.bias.grad is not None
        n = x.shape[0]
        m, mb = st.m[i].lerp_(lin.weight.grad, 1.0 - b_g), st.mb[i].lerp_(lin.bias.grad, 1.0 - b_g)
        mu = st.mu[i].lerp_(x.sum(0) / n, 1.0 - b_mu) / (1.0 - b_mu**t)
        nu = st.nu[i].lerp_(x.square().sum(0) / n, 1.0 - b_nu) / (1.0 - b_nu**t)
        var = (nu - mu * mu).clamp_min(0.0)
        var = ((1.0 - shrink) * var + shrink * var.mean()).clamp_min(1e-12)
        inv = var.reciprocal()
        mu_inv = mu * inv

        h, hb = st.h[i], st.hb[i]
        u = torch.addmm(hb.unsqueeze(1), h, x.t())
        rw = m - (ridge / c) * h - (u @ x) / (n * c)
        rb = mb - u.sum(1) / (n * c)
        pw, pb = _precondition(rw, rb, inv, mu, mu_inv)
        rz = (rw * pw).sum() + (rb * pb).sum()
        for it in range(cg_iters):
            u = torch.addmm(pb.unsqueeze(1), pw, x.t())
            pap = (u * u).sum() / n + ridge * (pw * pw).sum()
            alpha = torch.where(pap > 0, rz / pap, torch.zeros_like(rz))
            h, hb = h + (alpha * c) * pw, hb + (alpha * c) * pb
            if it == cg_iters - 1:
                break
            rw = rw - alpha * ((u @ x) / n + ridge * pw)
            rb = rb - alpha * u.sum(1) / n
            zw, zb = _precondition(rw, rb, inv, mu, mu_inv)
            rz_new = (rw * zw).sum() + (rb * zb).sum()
            beta = torch.where(rz > 0, rz_new / rz, torch.zeros_like(rz))
            pw, pb, rz = zw + beta * pw, zb + beta * pb, rz_new
        st.h[i].copy_(h)
        st.hb[i].copy_(hb)
        total = total + (h * m).sum() + (hb * mb).sum()
    s = torch.clamp_min(torch.sqrt(torch.clamp_min(total * c, 0.0)), min_norm)
    with torch.no_grad():
        for i, lin in enumerate(linears):
            lin.weight.mul_(1.0 - lr * wd).sub_(st.h[i] * (lr / s))
            lin.bias.mul_(1.0 - lr * wd).sub_(st.hb[i] * (lr / s))


def _full_iteration(
    x: Tensor, y: Tensor, compiled: bool, dtype: torch.dtype = torch.float32
) -> tuple[nn.Module, Callable[[], None]]:
    """A model and its training iteration with :func:`_full_step` (eager or compiled)."""
    torch.manual_seed(0)
    model = mlp().to(dtype)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    st = _FullState(linears)
    captured: list[Tensor] = []
    for lin in linears:
        lin.register_forward_hook(lambda mod, inp, out: captured.append(inp[0].detach()))
    step = torch.compile(_full_step, dynamic=False) if compiled else _full_step

    def it() -> None:
        captured.clear()
        F.cross_entropy(model(x.to(dtype)), y).backward()
        with torch.no_grad():
            step(linears, list(captured), st, 0.1, 2)
        model.zero_grad(set_to_none=True)

    return model, it


def _check_full_step(x: Tensor, y: Tensor, compiled: bool) -> float:
    """Largest parameter difference between :func:`_full_step` and ``NeuronBoost`` in float64
    after 5 steps from the same initialisation."""
    torch.manual_seed(0)
    ref = mlp().double()
    opt = NeuronBoost(ref, lr=0.1, cg_iters=2)
    model, it = _full_iteration(x, y, compiled, torch.float64)
    for _ in range(5):
        F.cross_entropy(ref(x.double()), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        it()
    return max(
        (a - b).abs().max().item()
        for a, b in zip(ref.parameters(), model.parameters(), strict=True)
    )


def main() -> None:
    """Time the four iterations interleaved and print per-iteration medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-compile", action="store_true", help="skip full-compiled")
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    x, y = _data(args.batch)

    def optimiser_iteration(
        make: Callable[[nn.Module], torch.optim.Optimizer],
    ) -> Callable[[], None]:
        torch.manual_seed(0)
        model = mlp()
        opt = make(model)

        def it() -> None:
            F.cross_entropy(model(x), y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return it

    def floor_iteration(passes: bool) -> Callable[[], None]:
        torch.manual_seed(0)
        model = mlp()
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        layers = [_Layer(lin) for lin in linears]
        captured: list[Tensor] = []
        for lin in linears:
            lin.register_forward_hook(lambda mod, inp, out: captured.append(inp[0].detach()))

        def it() -> None:
            captured.clear()
            F.cross_entropy(model(x), y).backward()
            _floor_step(layers, list(captured), passes)
            model.zero_grad(set_to_none=True)

        return it

    runs = {
        "sgd": optimiser_iteration(
            lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        ),
        "nb": optimiser_iteration(lambda m: NeuronBoost(m, lr=0.1, cg_iters=2)),
        "floor-products": floor_iteration(passes=False),
        "floor-step": floor_iteration(passes=True),
    }
    if not args.no_compile:
        runs["full-compiled"] = _full_iteration(x, y, compiled=True)[1]
    for compiled in (False, True) if not args.no_compile else (False,):
        diff = _check_full_step(x, y, compiled)
        print(
            f"full-{'compiled' if compiled else 'eager'} vs NeuronBoost, float64, 5 steps: "
            f"largest parameter difference {diff:.1e}"
        )
        if not diff < 1e-10:  # a different step (e.g. NeuronBoost's defaults changed): no timing
            raise SystemExit("full step differs from NeuronBoost's: _full_step is out of date")
    for it in runs.values():
        for _ in range(3):
            it()
    ts: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(args.rounds):
        for k in list(runs) if r % 2 == 0 else list(reversed(runs)):
            c = time.process_time()
            for _ in range(5):
                runs[k]()
            ts[k].append((time.process_time() - c) / 5)
    med = {k: statistics.median(v) for k, v in ts.items()}
    for k, v in med.items():
        print(
            f"batch {args.batch} {k:15s} {1e3 * v:7.2f} ms per iteration  {v / med['sgd']:.2f}x SGD"
        )


if __name__ == "__main__":
    main()
