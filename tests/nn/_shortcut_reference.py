"""Independent reference for the shortcut perceptron (Raiko et al. 2012): explicit formulas."""

from __future__ import annotations

import numpy as np
import torch

from boostprop.nn import ShortcutMLP


def reference_forward(net: ShortcutMLP, x: torch.Tensor) -> tuple[np.ndarray, list[np.ndarray]]:
    """Output and hidden pre-activations computed in numpy float64 from the named parameters."""
    sd = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    weights = {k: w.detach().double().numpy() for k, w in net.weights.items()}
    n_layers = len(net.sizes) - 1
    ys = [x.detach().double().reshape(x.shape[0], -1).numpy()]
    pre: list[np.ndarray] = []
    out = ys[0]
    for m in range(1, n_layers + 1):
        bias = net.bias(m).detach().double().numpy()
        acc = np.broadcast_to(bias, (ys[0].shape[0], net.sizes[m])).copy()
        for k in range(m):
            key = f"{m}_{k}"
            if key in weights:
                acc += ys[k] @ weights[key].T
        if m < n_layers:
            a, b, g = (sd[f"units.{m - 1}.{n}"] for n in ("alpha", "beta", "gamma"))
            pre.append(acc)
            ys.append(g * (np.tanh(acc) + a * acc + b))
        else:
            out = acc
    return out, pre


def randomize_(net: ShortcutMLP, generator: torch.Generator, scale: float = 0.5) -> None:
    """Give every weight (shortcuts included) and bias a random value."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))
