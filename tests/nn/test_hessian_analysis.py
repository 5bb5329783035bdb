"""Hessian/angle analysis (Vatanen et al. 2013) against finite differences and numpy."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from _shortcut_reference import randomize_

from boostprop.nn import ShortcutMLP, hessian_analysis
from boostprop.nn.analysis import exact_hessian, newton_angles, spectrum_conditioning


def _tiny() -> tuple[ShortcutMLP, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    net = ShortcutMLP([3, 4, 3, 2], transforms="alpha_beta_gamma")
    randomize_(net, g)
    x = torch.randn(25, 3, generator=g)
    y = torch.randint(0, 2, (25,), generator=g)
    net.update_transforms_(x)  # α, β, γ away from their initial values
    return net, x, y


def _fd_hessian(net: ShortcutMLP, x: torch.Tensor, y: torch.Tensor, eps: float) -> np.ndarray:
    """Central differences of the autograd gradient (float64), column by column."""
    net = net.double()
    x = x.double()
    params = list(net.parameters())

    def flat_grad() -> torch.Tensor:
        grads = torch.autograd.grad(F.cross_entropy(net(x), y), params)
        return torch.cat([gr.reshape(-1) for gr in grads])

    n = sum(p.numel() for p in params)
    cols = []
    for i in range(n):
        col = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                off = 0
                for p in params:
                    if off <= i < off + p.numel():
                        p.view(-1)[i - off] += sign * eps
                    off += p.numel()
            col.append(flat_grad())
            with torch.no_grad():
                off = 0
                for p in params:
                    if off <= i < off + p.numel():
                        p.view(-1)[i - off] -= sign * eps
                    off += p.numel()
        cols.append(((col[0] - col[1]) / (2 * eps)).numpy())
    return np.stack(cols, axis=1)


def test_hessian_matches_finite_differences() -> None:
    net, x, y = _tiny()
    loss, g, h, names = exact_hessian(net, x, y)
    assert names == tuple(n for n, _ in net.named_parameters())
    h_fd = _fd_hessian(net, x, y, eps=1e-5)
    assert h.shape == h_fd.shape
    np.testing.assert_allclose(h.numpy(), h_fd, rtol=0, atol=1e-7)
    assert float(h.abs().max()) > 1e-2  # non-trivial
    # gradient and loss against plain autograd
    net64 = net.double()
    ref_loss = F.cross_entropy(net64(x.double()), y)
    ref_g = torch.cat(
        [t.reshape(-1) for t in torch.autograd.grad(ref_loss, list(net64.parameters()))]
    )
    torch.testing.assert_close(g, ref_g, rtol=1e-12, atol=1e-14)
    assert math.isclose(float(loss), float(ref_loss.detach()), rel_tol=1e-13)


def test_report_against_numpy() -> None:
    net, x, y = _tiny()
    mus = [0.0, 1e-3, 0.1, 10.0]
    rep = hessian_analysis(net, x, y, mus=mus, keep_hessian=True)
    _, g, h, _ = exact_hessian(net, x, y)
    hn, gn = h.numpy(), g.numpy()
    lam = np.linalg.eigvalsh(hn)
    np.testing.assert_allclose(rep.eigenvalues.numpy(), lam, rtol=0, atol=1e-12)
    assert rep.n_params == len(gn) == 3 * 4 + 4 + (3 + 4) * 3 + 3 + (3 + 4 + 3) * 2 + 2
    # softmax-CE is invariant to a shift of all output units: exact null directions (2-class
    # output: one per input of the output layer, plus the bias)
    absl = np.abs(lam)
    zero = absl <= 1e-9 * absl.max()
    assert zero.sum() == rep.n_zero == 3 + 4 + 3 + 1
    np.testing.assert_allclose(rep.condition_number, absl.max() / absl[~zero].min(), rtol=1e-9)
    pos = lam[lam > 1e-9 * absl.max()]
    np.testing.assert_allclose(rep.positive_condition_number, lam.max() / pos.min(), rtol=1e-9)
    assert rep.n_negative == int((lam < -1e-9 * absl.max()).sum())
    for mu, angle in zip(mus, rep.angles, strict=True):
        if mu == 0.0:  # minimum-norm Newton direction: least squares with the null space cut off
            d = np.linalg.pinv(hn, rcond=1e-9, hermitian=True) @ gn
        else:
            d = np.linalg.solve(hn + mu * np.eye(len(gn)), gn)
        expected = np.degrees(np.arccos(gn @ d / (np.linalg.norm(gn) * np.linalg.norm(d))))
        assert abs(angle - expected) < 1e-6, (mu, angle, expected)
    assert rep.angles[-1] < rep.angles[1]  # large damping → close to the gradient direction
    assert rep.hessian is not None and torch.equal(rep.hessian, h)
    d = rep.to_dict()
    assert d["n_params"] == rep.n_params and len(d["angles"]) == 4
    # weights only
    rep_w = hessian_analysis(net, x, y, mus=[1.0], include_biases=False)
    assert rep_w.n_params == rep.n_params - (4 + 3 + 2)


def test_angles_and_conditioning_by_hand() -> None:
    h = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64))
    g = torch.tensor([1.0, 1.0], dtype=torch.float64)
    # (H + μI)^-1 g = (1/(1+μ), 1/(4+μ)); angle with (1, 1)
    for mu in (0.0, 2.0):
        a, b = 1 / (1 + mu), 1 / (4 + mu)
        expected = math.degrees(math.acos((a + b) / (math.sqrt(2) * math.hypot(a, b))))
        assert abs(float(newton_angles(h, g, [mu])[0]) - expected) < 1e-12
    # singular H + μI: the zero direction is dropped, d = (0, 1/3) → 45°
    singular = torch.diag(torch.tensor([-1.0, 2.0], dtype=torch.float64))
    assert abs(float(newton_angles(singular, g, [1.0])[0]) - 45.0) < 1e-12
    assert math.isnan(float(newton_angles(torch.zeros(2, 2), g, [0.0])[0]))
    assert spectrum_conditioning(torch.tensor([-3.0, 0.5, 1.0, 6.0])) == (12.0, 12.0, 1, 0)
    assert spectrum_conditioning(torch.tensor([-1e-14, 2.0, 8.0])) == (4.0, 4.0, 0, 1)
    cond, pos, neg, zero = spectrum_conditioning(torch.tensor([-3.0, -1.0, 1e-12]))
    assert (cond, neg, zero) == (3.0, 2, 1) and math.isnan(pos)


def test_model_is_not_modified() -> None:
    net, x, y = _tiny()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    hessian_analysis(net, x, y, mus=[1.0])
    for k, v in net.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, state[k])
