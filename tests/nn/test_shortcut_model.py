"""ShortcutMLP / ShortcutAutoencoder structure, init and forward (Raiko et al. 2012)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _shortcut_reference import randomize_, reference_forward

from boostprop.nn import ShortcutAutoencoder, ShortcutMLP, TransformSchedule, shortcut_param_groups
from boostprop.nn.analysis import hessian_analysis


def test_init_follows_spec() -> None:
    torch.manual_seed(0)
    net = ShortcutMLP([30, 20, 10, 5])
    for m, k in net.connections:
        w = net.weight(m, k)
        if k == m - 1:
            bound = math.sqrt(6.0 / (net.sizes[k] + net.sizes[m]))
            assert float(w.detach().abs().max()) <= bound
            assert (
                float(w.detach().abs().max()) > 0.8 * bound
            )  # really uniform over the Glorot range
        else:
            assert torch.count_nonzero(w) == 0
    for b in net.biases:
        assert float(b.detach().abs().max()) <= 0.5
    for unit in net.units:
        assert torch.equal(unit.alpha, torch.zeros_like(unit.alpha))
        assert torch.equal(unit.beta, torch.zeros_like(unit.beta))
        assert torch.equal(unit.gamma, torch.ones_like(unit.gamma))
    # α, β, γ are buffers (saved, not trained)
    names = {n for n, _ in net.named_parameters()}
    assert not any("alpha" in n or "gamma" in n for n in names)
    assert "units.0.alpha" in net.state_dict()
    assert len(net.connections) == 6


@pytest.mark.parametrize("shortcuts", [True, False])
def test_forward_matches_reference(shortcuts: bool) -> None:
    g = torch.Generator().manual_seed(1)
    net = ShortcutMLP([6, 5, 4, 3], transforms="alpha_beta_gamma", shortcuts=shortcuts).double()
    randomize_(net, g)
    with torch.no_grad():
        for unit in net.units:
            unit.alpha.copy_(torch.randn(unit.features, generator=g))
            unit.beta.copy_(torch.randn(unit.features, generator=g))
            unit.gamma.copy_(torch.rand(unit.features, generator=g) + 0.5)
    x = torch.randn(9, 6, generator=g, dtype=torch.float64)
    ref, _ = reference_forward(net, x)
    np.testing.assert_allclose(net(x).detach().numpy(), ref, rtol=0, atol=1e-13)
    expected = {(1, 0), (2, 1), (3, 2)}
    if shortcuts:
        expected |= {(2, 0), (3, 0), (3, 1)}
    assert set(net.connections) == expected


def test_one_hidden_layer_is_a_f_bx_plus_cx() -> None:
    g = torch.Generator().manual_seed(2)
    net = ShortcutMLP([4, 3, 2]).double()
    randomize_(net, g)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    a, b_mat, c = net.weight(2, 1), net.weight(1, 0), net.weight(2, 0)
    expected = torch.tanh(x @ b_mat.T + net.bias(1)) @ a.T + x @ c.T + net.bias(2)
    torch.testing.assert_close(net(x), expected, rtol=0, atol=1e-14)


def test_images_are_flattened_and_sigmoid_output() -> None:
    net = ShortcutMLP([12, 5, 3], output="sigmoid")
    x = torch.randn(4, 1, 3, 4)
    out = net(x)
    assert out.shape == (4, 3)
    lin = ShortcutMLP([12, 5, 3])
    lin.load_state_dict(net.state_dict())
    torch.testing.assert_close(out, torch.sigmoid(lin(x.reshape(4, 12))))


def test_autoencoder_removes_bottleneck_shortcuts() -> None:
    ae = ShortcutAutoencoder([784, 500, 250, 30, 250, 500, 784])
    assert ae.bottleneck == 3
    skipping = {(m, k) for m in range(4, 7) for k in range(3)}
    assert not skipping & set(ae.connections)
    kept = {(m, k) for m in range(1, 7) for k in range(m)} - skipping
    sd = ae.state_dict()
    assert {f"links.{m}_{k}.weight" for m, k in skipping}.isdisjoint(sd)
    assert {f"links.{m}_{k}.weight" for m, k in kept} <= set(sd)
    assert {f"{m}_{k}" for m, k in skipping}.isdisjoint(ae.links)
    assert len(ae.connections) == 21 - len(skipping)
    assert not ae.exact_compensation


def test_autoencoder_output_depends_on_input_only_through_bottleneck() -> None:
    """With every weight random, the input→output Jacobian has rank ≤ bottleneck width."""
    g = torch.Generator().manual_seed(3)
    ae = ShortcutAutoencoder([8, 6, 5, 2, 5, 6, 8], transforms="alpha_beta").double()
    randomize_(ae, g, scale=1.0)
    x = torch.randn(1, 8, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: ae(v)[0], x)[:, 0, :]
    assert torch.linalg.matrix_rank(jac) == 2
    full = ShortcutMLP([8, 6, 5, 2, 5, 6, 8]).double()
    randomize_(full, g, scale=1.0)
    assert (
        torch.linalg.matrix_rank(
            torch.autograd.functional.jacobian(lambda v: full(v)[0], x)[:, 0, :]
        )
        == 8
    )


def test_param_groups_by_hand() -> None:
    net = ShortcutMLP([4, 5, 5, 3])
    groups = shortcut_param_groups(net, 0.8)
    assert [g["lr"] for g in groups] == [0.8, 0.4, 0.2]
    ids = [{id(p) for p in g["params"]} for g in groups]
    assert ids[0] == {id(p) for p in net.biases} | {
        id(net.weight(1, 0)),
        id(net.weight(2, 1)),
        id(net.weight(3, 2)),
    }
    assert ids[1] == {id(net.weight(2, 0)), id(net.weight(3, 1))}
    assert ids[2] == {id(net.weight(3, 0))}
    # one SGD step moves W_{3,0} by 0.2·grad
    opt = torch.optim.SGD(groups, lr=123.0)
    x, y = torch.randn(6, 4), torch.randint(0, 3, (6,))
    torch.nn.functional.cross_entropy(net(x), y).backward()
    before = net.weight(3, 0).detach().clone()
    grad = net.weight(3, 0).grad.clone()
    opt.step()
    torch.testing.assert_close(net.weight(3, 0).detach(), before - 0.2 * grad)
    # the autoencoder's groups only hold existing weights; k counts skipped layers
    ae = ShortcutAutoencoder([6, 4, 2, 4, 6])
    got = {g["skip"]: g["lr"] for g in shortcut_param_groups(ae, 1.0)}
    assert got == {0: 1.0, 1: 0.5}
    assert sum(len(g["params"]) for g in shortcut_param_groups(ae, 1.0)) == len(
        list(ae.parameters())
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"sizes": [5]}, ValueError, "sizes"),
        ({"sizes": []}, ValueError, "sizes"),
        ({"sizes": [5, 0, 3]}, ValueError, "sizes[1]"),
        ({"sizes": [5, -2]}, ValueError, "sizes[1]"),
        ({"sizes": [5, 2.5]}, TypeError, "sizes[1]"),
        ({"sizes": "784"}, TypeError, "sizes"),
        ({"sizes": [5, 3], "transforms": "ab"}, ValueError, "transforms"),
        ({"sizes": [5, 3], "gamma": "unit"}, ValueError, "gamma"),
        ({"sizes": [5, 3], "output": "softmax"}, ValueError, "output"),
        ({"sizes": [5, 3], "shortcuts": 1}, TypeError, "shortcuts"),
    ],
)
def test_constructor_errors(kwargs: dict, exc: type, word: str) -> None:
    with pytest.raises(exc, match=word.replace("[", r"\[").replace("]", r"\]")):
        ShortcutMLP(**kwargs)


def test_other_errors() -> None:
    net = ShortcutMLP([5, 4, 3])
    with pytest.raises(ValueError, match="x must have 5 features"):
        net.update_transforms_(torch.randn(10, 6))
    with pytest.raises(ValueError, match="at least 2 samples"):
        net.update_transforms_(torch.randn(1, 5))
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        net.update_transforms_([[0.0] * 5] * 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating-point"):
        net(torch.ones(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="x must have 5 features"):
        net(torch.randn(3, 2, 2))
    with pytest.raises(ValueError, match="sizes must have at least one hidden"):
        ShortcutAutoencoder([5, 5])
    with pytest.raises(ValueError, match="bottleneck"):
        ShortcutAutoencoder([5, 3, 5], bottleneck=2)
    with pytest.raises(TypeError, match="model must be a ShortcutMLP"):
        shortcut_param_groups(torch.nn.Linear(2, 2), 0.1)
    with pytest.raises(ValueError, match="lr must be a positive"):
        shortcut_param_groups(net, 0.0)
    with pytest.raises(ValueError, match="every_steps"):
        TransformSchedule(net, every_steps=0)
    with pytest.raises(TypeError, match="until_step"):
        TransformSchedule(net, until_step=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"mus\[1\]"):
        hessian_analysis(net, torch.randn(4, 5), torch.randint(0, 3, (4,)), mus=[0.1, -1.0])
    with pytest.raises(ValueError, match="same number of samples"):
        hessian_analysis(net, torch.randn(4, 5), torch.randint(0, 3, (3,)))


def test_loads_checkpoints_written_before_the_connections_were_linear_modules() -> None:
    """Old keys ``weights.m_k`` / ``biases.i`` (boostprop before nn.Linear links) still load."""
    torch.manual_seed(4)
    net = ShortcutMLP([5, 4, 3, 2], transforms="alpha_beta")
    old = {}
    for key, value in net.state_dict().items():
        if key.startswith("links.") and key.endswith(".weight"):
            old["weights." + key.split(".")[1]] = value
        elif key.startswith("links.") and key.endswith(".bias"):
            m = int(key.split(".")[1].split("_")[0])
            old[f"biases.{m - 1}"] = value
        else:
            old[key] = value
    assert "weights.3_0" in old and "biases.2" in old
    fresh = ShortcutMLP([5, 4, 3, 2], transforms="alpha_beta")
    fresh.load_state_dict(old)  # strict: every key found, none left over
    x = torch.randn(7, 5)
    torch.testing.assert_close(fresh(x), net(x))
