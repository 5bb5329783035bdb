"""ShortcutMLP composes with NeuronBoost (Munoz 2025): every connection is a preconditioned neuron."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from boostprop.nn import ShortcutMLP
from boostprop.optim import NeuronBoost


def _steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n: int = 3) -> None:
    opt = NeuronBoost(model, lr=0.3, cg_iters=4)
    for _ in range(n):
        F.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()


def test_layered_shortcut_mlp_takes_the_steps_of_the_equivalent_sequential_mlp() -> None:
    """Without shortcuts and transformations the network is a tanh MLP; NeuronBoost must treat its
    links exactly as it treats nn.Linear layers (the bias with the adjacent connection)."""
    torch.manual_seed(0)
    net = ShortcutMLP([6, 5, 4, 3], transforms="none", shortcuts=False).double()
    seq = nn.Sequential(
        nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)
    ).double()
    with torch.no_grad():
        for i, m in enumerate((1, 2, 3)):
            seq[2 * i].weight.copy_(net.weight(m, m - 1))
            seq[2 * i].bias.copy_(net.bias(m))
    x, y = torch.randn(32, 6, dtype=torch.float64), torch.randint(0, 3, (32,))
    before = net.weight(2, 1).detach().clone()
    _steps(net, x, y)
    _steps(seq, x, y)
    assert not torch.equal(before, net.weight(2, 1))
    for i, m in enumerate((1, 2, 3)):
        torch.testing.assert_close(net.weight(m, m - 1), seq[2 * i].weight, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(net.bias(m), seq[2 * i].bias, rtol=1e-10, atol=1e-12)


def test_every_connection_of_a_shortcut_mlp_is_a_neuron_and_training_works() -> None:
    torch.manual_seed(1)
    net = ShortcutMLP([8, 16, 16, 3], transforms="alpha_beta")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no Linear module" fallback warning
        opt = NeuronBoost(net, lr=0.5)
    assert len(opt._neurons) == len(net.connections) == 6
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    net.update_transforms_(x)
    first = F.cross_entropy(net(x), y).item()
    for _ in range(30):
        F.cross_entropy(net(x), y).backward()
        opt.step()
        opt.zero_grad()
    assert F.cross_entropy(net(x), y).item() < 0.5 * first
