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
  around its tensor operations.

The ratios to ``sgd`` bound from below what the eager step can reach without changing the method
(its products and passes) or fusing kernels. The floor is the matrix-free path's: at batch 1000
NeuronBoost forms the first layer's Gram matrix instead (fewer flops there), so it runs below
this floor. Usage::

    .venv/bin/python benchmarks/neuron_boost_floor.py [--batch 128] [--rounds 15]
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


def main() -> None:
    """Time the four iterations interleaved and print per-iteration medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=15)
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
