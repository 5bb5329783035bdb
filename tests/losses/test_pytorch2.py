"""The losses as PyTorch 2 operations: torch.compile, torch.func, higher derivatives, no host syncs.

Every reference is independent of the package: float64 closed forms written in torch operations in
``loss_reference.py`` (differentiated by ``torch.func``), ``F.cross_entropy`` and
``F.binary_cross_entropy_with_logits``, and eager mode for the compiled code.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch._dynamo
import torch.nn.functional as F
from loss_reference import closed_form_binary, closed_form_loss

from boostprop.losses import (
    BinaryRootedLogisticLoss,
    CubicBoostLoss,
    ExpBoostLoss,
    FocalLoss,
    RootedLogisticLoss,
    binary_rooted_logistic_loss,
    cubic_boost_loss,
    exp_boost_loss,
    focal_loss,
    rooted_logistic_loss,
)

C = 4
ALPHA = torch.tensor([0.5, 1.0, 2.0, 0.25], dtype=torch.float64)

# name -> (functional call, module factory taking the conventions, closed-form name and params)
LOSSES: dict[
    str, tuple[Callable[..., torch.Tensor], Callable[..., torch.nn.Module], dict[str, Any]]
]
LOSSES = {
    "expboost": (
        lambda z, t, **kw: exp_boost_loss(z, t, alpha=0.3, beta=0.1, **kw),
        lambda **kw: ExpBoostLoss(**kw, alpha=0.3, beta=0.1),
        {"alpha": 0.3, "beta": 0.1},
    ),
    "cubic": (
        lambda z, t, **kw: cubic_boost_loss(z, t, alpha=0.2, beta=-0.1, **kw),
        lambda **kw: CubicBoostLoss(**kw, alpha=0.2, beta=-0.1),
        {"alpha": 0.2, "beta": -0.1},
    ),
    "paper": (
        lambda z, t, **kw: rooted_logistic_loss(z, t, k=2.5, m=4.0, form="paper", **kw),
        lambda **kw: RootedLogisticLoss(**kw, k=2.5, m=4.0, form="paper"),
        {"k": 2.5, "m": 4.0},
    ),
    "natural": (
        lambda z, t, **kw: rooted_logistic_loss(z, t, k=2.5, form="natural", **kw),
        lambda **kw: RootedLogisticLoss(**kw, k=2.5, form="natural"),
        {"k": 2.5},
    ),
    "focal": (
        lambda z, t, **kw: focal_loss(z, t, gamma=1.5, alpha=ALPHA, **kw),
        lambda **kw: FocalLoss(**kw, gamma=1.5, alpha=ALPHA),
        {"gamma": 1.5},
    ),
}

# convention -> (input shape, target kind, weighted, label_smoothing, reduction)
CONVENTIONS: dict[str, tuple[tuple[int, ...], str, bool, float, str]] = {
    "index": ((5, C), "index", False, 0.0, "mean"),
    "ignore-weight-sum": ((5, C), "ignore", True, 0.0, "sum"),
    "smooth-weight-ignore": ((5, C), "ignore", True, 0.1, "mean"),
    "prob-smooth-weight": ((5, C), "prob", True, 0.2, "mean"),
    "image-ignore-smooth-none": ((2, C, 2, 2), "ignore", True, 0.1, "none"),
}


def _case(conv: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    shape, kind, weighted, eps, reduction = CONVENTIONS[conv]
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(shape, generator=gen, dtype=torch.float64)
    n_shape = (shape[0], *shape[2:])
    if kind == "prob":
        t = torch.softmax(torch.randn(shape, generator=gen, dtype=torch.float64), dim=1)
    else:
        t = torch.randint(0, C, n_shape, generator=gen)
        if kind == "ignore":
            t.view(-1)[1::3] = -100
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5 if weighted else None
    return z, t, {"weight": w, "label_smoothing": eps, "reduction": reduction}


def _scalar(fn: Callable[..., torch.Tensor], t: torch.Tensor, kw: dict[str, Any]) -> Callable:
    """z -> a scalar: the loss, or a fixed random combination of the per-position losses."""
    if kw["reduction"] != "none":
        return lambda z: fn(z, t, **kw)
    r = torch.linspace(0.5, 1.5, t[:, 0].numel() if t.is_floating_point() else t.numel())
    r = r.to(torch.float64)
    return lambda z: (fn(z, t, **kw).reshape(-1) * r).sum()


def _ours(name: str) -> Callable[..., torch.Tensor]:
    return LOSSES[name][0]


def _ref(name: str) -> Callable[..., torch.Tensor]:
    params = LOSSES[name][2]
    factor = ALPHA if name == "focal" else None
    return lambda z, t, **kw: closed_form_loss(name, params, z, t, class_factor=factor, **kw)


CASES = [(n, c) for n in LOSSES for c in CONVENTIONS]


# ------------------------------------------------------------------------ derivatives of every order
@pytest.mark.parametrize(("name", "conv"), CASES)
def test_hessian_equals_closed_form(name: str, conv: str) -> None:
    """Eager (autograd.functional) and torch.func Hessians equal the closed form's, in float64."""
    z, t, kw = _case(conv)
    ours, ref = _scalar(_ours(name), t, kw), _scalar(_ref(name), t, kw)
    expected = torch.func.hessian(ref)(z)
    assert expected.abs().max() > 1e-3  # a real, non-zero curvature
    eager = torch.autograd.functional.hessian(ours, z)
    functional = torch.func.hessian(ours)(z)
    torch.testing.assert_close(eager, expected, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(functional, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("conv", ["index", "prob-smooth-weight"])
def test_third_derivative_and_gradient_penalty(name: str, conv: str) -> None:
    """create_graph=True gives a differentiable gradient: a gradient penalty and d³/dt³ f(z + t·v)."""
    z, t, kw = _case(conv, seed=1)
    v = torch.randn(z.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    results = []
    for fn in (_scalar(_ours(name), t, kw), _scalar(_ref(name), t, kw)):
        x = z.clone().requires_grad_()
        (g,) = torch.autograd.grad(fn(x), x, create_graph=True)
        assert g.requires_grad
        (penalty_grad,) = torch.autograd.grad((g**2).sum(), x)
        s = torch.zeros((), dtype=torch.float64, requires_grad=True)
        d1 = torch.autograd.grad(fn(z + s * v), s, create_graph=True)[0]
        d2 = torch.autograd.grad(d1, s, create_graph=True)[0]
        (d3,) = torch.autograd.grad(d2, s)
        results.append((penalty_grad, d3))
    (pg, d3), (pg_ref, d3_ref) = results
    torch.testing.assert_close(pg, pg_ref, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(d3, d3_ref, rtol=1e-8, atol=1e-10)
    assert d3_ref.abs() > 1e-6


# ------------------------------------------------------------------------------------- torch.func
@pytest.mark.parametrize(("name", "conv"), CASES)
def test_torch_func_grad_jacrev_jvp_vmap(name: str, conv: str) -> None:
    """grad, jacrev (of the per-position losses), jvp and vmap(grad) per-sample gradients."""
    z, t, kw = _case(conv, seed=3)
    ours, ref = _ours(name), _ref(name)
    torch.testing.assert_close(
        torch.func.grad(_scalar(ours, t, kw))(z), torch.func.grad(_scalar(ref, t, kw))(z)
    )
    per_kw = {**kw, "reduction": "none"}
    torch.testing.assert_close(
        torch.func.jacrev(lambda x: ours(x, t, **per_kw))(z),
        torch.func.jacrev(lambda x: ref(x, t, **per_kw))(z),
    )
    v = torch.randn(z.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    value, tangent = torch.func.jvp(_scalar(ours, t, kw), (z,), (v,))
    value_ref, tangent_ref = torch.func.jvp(_scalar(ref, t, kw), (z,), (v,))
    torch.testing.assert_close(value, value_ref)
    torch.testing.assert_close(tangent, tangent_ref)
    # per-sample gradients: vmap over the batch of grad of the one-sample loss
    sample_kw = {**kw, "reduction": "sum"}

    def one(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        if z.dim() == 2:  # unbatched (C,) inputs, as cross_entropy accepts them
            return lambda zi, ti: fn(zi, ti, **sample_kw)
        return lambda zi, ti: fn(zi.unsqueeze(0), ti.unsqueeze(0), **sample_kw)

    per_sample = torch.func.vmap(torch.func.grad(one(ours)))(z, t)
    expected = torch.stack(
        [
            torch.func.grad(lambda x, i=i: ref(x, t[i : i + 1], **sample_kw))(z[i : i + 1])[0]
            for i in range(z.shape[0])
        ]
    )
    torch.testing.assert_close(per_sample, expected)


def test_torch_func_binary() -> None:
    gen = torch.Generator().manual_seed(5)
    z = torch.randn(6, 3, generator=gen, dtype=torch.float64) * 2
    t = torch.rand(6, 3, generator=gen, dtype=torch.float64)
    w = torch.rand(6, 1, generator=gen, dtype=torch.float64) + 0.5
    pw = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    kw: dict[str, Any] = {"k": 2.0, "weight": w, "pos_weight": pw}

    def ours(x: torch.Tensor) -> torch.Tensor:
        return binary_rooted_logistic_loss(x, t, **kw)

    def ref(x: torch.Tensor) -> torch.Tensor:
        return closed_form_binary(x, t, **kw)

    torch.testing.assert_close(torch.func.grad(ours)(z), torch.func.grad(ref)(z))
    torch.testing.assert_close(torch.func.hessian(ours)(z), torch.func.hessian(ref)(z))
    torch.testing.assert_close(
        torch.autograd.functional.hessian(ours, z), torch.func.hessian(ref)(z)
    )
    v = torch.ones_like(z)
    torch.testing.assert_close(torch.func.jvp(ours, (z,), (v,)), torch.func.jvp(ref, (z,), (v,)))
    per = torch.func.vmap(
        torch.func.grad(
            lambda zi, ti, wi: binary_rooted_logistic_loss(
                zi, ti, k=2.0, weight=wi, pos_weight=pw, reduction="sum"
            )
        )
    )(z, t, w)
    expected = torch.func.jacrev(
        lambda x: closed_form_binary(x, t, k=2.0, weight=w, pos_weight=pw, reduction="none").sum(1)
    )(z)
    torch.testing.assert_close(per, torch.einsum("iij->ij", expected))


# ---------------------------------------------------------------------------------- torch.compile
@pytest.mark.parametrize("form", ["functional", "module"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_compile_fullgraph_equals_eager(name: str, form: str) -> None:
    """fullgraph=True (any graph break raises) over every target convention gives the eager value
    and gradient; one graph per loss and form holds all the conventions (one compile)."""
    fn, module, _ = LOSSES[name]
    cases = [_case(conv, seed=6) for conv in CONVENTIONS]
    calls: list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = []
    for _, _, kw in cases:
        if form == "module":
            calls.append(module(**kw))
        else:
            calls.append(lambda z, t, kw=kw: fn(z, t, **kw))

    def every(zs: list[torch.Tensor], ts: list[torch.Tensor]) -> list[torch.Tensor]:
        return [call(z, t) for call, z, t in zip(calls, zs, ts, strict=True)]

    torch._dynamo.reset()
    compiled = torch.compile(every, backend="eager", fullgraph=True)
    za = [z.clone().requires_grad_() for z, _, _ in cases]
    zb = [z.clone().requires_grad_() for z, _, _ in cases]
    ts = [t for _, t, _ in cases]
    got, want = compiled(za, ts), every(zb, ts)
    torch.testing.assert_close(got, want)
    sum(g.sum() for g in got).backward()
    sum(w.sum() for w in want).backward()
    torch.testing.assert_close([z.grad for z in za], [z.grad for z in zb])


def _losses_for(backend: str) -> Callable[..., torch.Tensor]:
    def every(z: torch.Tensor, t: torch.Tensor, tp: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Every loss (aot_eager) or two (Inductor, whose C++ compile is slow) in one graph."""
        parts = []
        if backend == "inductor":
            parts.append(rooted_logistic_loss(z, t, form="natural", weight=w, label_smoothing=0.1))
            parts.append(exp_boost_loss(z, tp, weight=w, reduction="sum"))
        else:
            for i, (fn, _, _) in enumerate(LOSSES.values()):
                if i % 2:
                    parts.append(fn(z, t, weight=w, label_smoothing=0.1))
                else:
                    parts.append(fn(z, tp, weight=w, reduction="sum"))
            parts.append(binary_rooted_logistic_loss(z, tp, k=2.0, pos_weight=2.0))
        return torch.stack(parts)

    return every


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compile_backends_equal_eager(backend: str) -> None:
    """AOTAutograd (traced backward) and Inductor: value and gradient of eager, zero graph breaks."""
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(6, C, 3, generator=gen)
    t = torch.randint(0, C, (6, 3), generator=gen)
    t[0, 0] = -100
    tp = torch.softmax(torch.randn(6, C, 3, generator=gen), dim=1)
    w = torch.rand(C, generator=gen) + 0.5
    every = _losses_for(backend)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(every)(z, t, tp, w)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
    torch._dynamo.reset()
    compiled = torch.compile(every, backend=backend, fullgraph=True)
    za, zb = z.clone().requires_grad_(), z.clone().requires_grad_()
    got, want = compiled(za, t, tp, w), every(zb, t, tp, w)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    r = torch.linspace(0.5, 1.5, got.numel())
    (got * r).sum().backward()
    (want * r).sum().backward()
    torch.testing.assert_close(za.grad, zb.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ignore_index", [1, -(2**63)])
@pytest.mark.parametrize("name", list(LOSSES))
def test_compiled_ignore_index_anywhere_matches_closed_form(name: str, ignore_index: int) -> None:
    """The traced gradients compare the one-hot part with the target as given and derive the
    counted mask by integer arithmetic: an ``ignore_index`` that is a real class (1) or the most
    negative int64 (-100, outside the classes, is in every other test) gives the float64 closed
    form's value and gradient (aot_eager runs the traced forward and backward), with and without
    label smoothing."""
    gen = torch.Generator().manual_seed(11)
    z = torch.randn(7, C, 2, generator=gen, dtype=torch.float64)
    t = torch.randint(0, C, (7, 2), generator=gen)
    t[t == 1] = 2  # class 1 occurs only where it is ignore_index
    t.view(-1)[::3] = ignore_index
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5
    fn, ref = _ours(name), _ref(name)
    kws = [{"weight": w, "ignore_index": ignore_index, "label_smoothing": e} for e in (0.0, 0.1)]

    def both(f: Callable[..., torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.stack([f(x, t, **kw) for kw in kws])

    torch._dynamo.reset()
    compiled = torch.compile(lambda x: both(fn, x), backend="aot_eager", fullgraph=True)
    za, zr = z.clone().requires_grad_(), z.clone().requires_grad_()
    got, want = compiled(za), both(ref, zr)
    torch.testing.assert_close(got, want)
    r = torch.tensor([1.0, 0.7], dtype=torch.float64)
    (got * r).sum().backward()
    (want * r).sum().backward()
    torch.testing.assert_close(za.grad, zr.grad)


def _confident_cases(seed: int, first: float) -> list[tuple[torch.Tensor, torch.Tensor, dict]]:
    """Four target conventions whose first position has logits (first, −5, 0, 1): p_0 ≈ 1."""
    convs = ["index", "smooth-weight-ignore", "prob-smooth-weight", "image-ignore-smooth-none"]
    cases = []
    for conv in convs:
        z, t, kw = _case(conv, seed=seed)
        z.view(z.shape[0], C, -1)[0, :, 0] = torch.tensor([first, -5.0, 0.0, 1.0])
        cases.append((z, t, kw))
    return cases


def _compiled_matches_closed_form(
    cases: list[tuple[torch.Tensor, torch.Tensor, dict]],
    pairs: list[tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]],
) -> None:
    """Every (ours, closed form) pair on every case in one fullgraph aot_eager graph: the values
    to 1e-12 and each input's gradient (summed over the pairs) to 1e-10."""

    def every(zs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [
            ours(z, t, kw).sum()
            for ours, _ in pairs
            for z, (_, t, kw) in zip(zs, cases, strict=True)
        ]

    torch._dynamo.reset()
    compiled = torch.compile(every, backend="aot_eager", fullgraph=True)
    zs = [z.clone().requires_grad_() for z, _, _ in cases]
    got = compiled(zs)
    sum(got).backward()
    want_grads = [torch.zeros_like(z) for z, _, _ in cases]
    for i, (_, ref) in enumerate(pairs):
        for j, (z, t, kw) in enumerate(cases):
            x = z.clone().requires_grad_()
            want = ref(x, t, kw).sum()
            want_grads[j] += torch.autograd.grad(want, x)[0]
            torch.testing.assert_close(got[i * len(cases) + j], want.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close([z.grad for z in zs], want_grads, rtol=1e-10, atol=1e-14)


def _focal_pair(g: float) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    return (
        lambda z, t, kw: focal_loss(z, t, gamma=g, alpha=ALPHA, **kw),
        lambda z, t, kw: closed_form_loss("focal", {"gamma": g}, z, t, class_factor=ALPHA, **kw),
    )


def _rooted_pair(
    form: str, k: float
) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    return (
        lambda z, t, kw: rooted_logistic_loss(z, t, k=k, m=2.0, form=form, **kw),
        lambda z, t, kw: closed_form_loss(form, {"k": k, "m": 2.0}, z, t, **kw),
    )


def test_compiled_integer_gamma_focal_matches_closed_form() -> None:
    """Focal with an integer gamma has its own traced terms under compile (1 − p as (S − e)/S, no
    expm1 or division): value and gradient equal the float64 closed form, also for a confident
    position (p_y → 1) and every target convention, in one fullgraph aot_eager graph."""
    cases = _confident_cases(seed=11, first=30.0)
    _compiled_matches_closed_form(cases, [_focal_pair(g) for g in (1.0, 2.0, 3.0)])


@pytest.mark.parametrize("form", ["paper", "natural"])
def test_compiled_integer_k_rooted_matches_closed_form(form: str) -> None:
    """Rooted losses with an integer k have their own traced terms under compile (one
    exponential r = p^(1/k), p = rᵏ by products; the natural form's p^(−1/k) as 1/r): value and
    gradient equal the float64 closed form, also for a confident position (p_y → 1) and every
    target convention, in one fullgraph aot_eager graph."""
    # −log p_1 = 25 stays below the natural form's exponent cap (30) for k = 1
    cases = _confident_cases(seed=12, first=20.0)
    _compiled_matches_closed_form(cases, [_rooted_pair(form, k) for k in (1.0, 3.0, 8.0)])


def test_compiled_rooted_paper_form_any_k_matches_closed_form() -> None:
    """With label smoothing the paper form's traced forward takes the softmax denominator S and
    Σ p^(1/k) = S^(−1/k)·Σ exp((z − max)/k) from one traversal, for a non-integer k too (with
    its own exponential for S): value and gradient equal the float64 closed form, also for a
    confident position, over every target convention, in one fullgraph aot_eager graph."""
    cases = _confident_cases(seed=13, first=20.0)
    _compiled_matches_closed_form(cases, [_rooted_pair("paper", k) for k in (0.5, 2.5)])


@pytest.mark.parametrize("num_classes", [2, 6])
def test_compiled_smoothed_float32_as_accurate_as_eager(num_classes: int) -> None:
    """With label smoothing on (N, C) inputs the compiled focal (integer gamma, moments of
    exp(z − max)) and rooted paper form (S^(−1/k)·Σ exp((z − max)/k)) take their class sums from
    one traversal: in float32, per position, their relative error against the float64 closed form
    stays within twice the eager float32 path's (logits from near-uniform to confident, two
    close top classes over far ones; gamma 4 keeps the per-class form)."""
    gen = torch.Generator().manual_seed(14)
    rows = [torch.randn(100, num_classes, generator=gen) * s for s in (0.01, 0.5, 2.0, 5.0, 12.0)]
    close = torch.full((40, num_classes), -30.0)
    close[:, 0], close[:, 1] = 0.0, torch.linspace(-3.0, 3.0, 40)
    z64 = torch.cat([*rows, close]).double()
    y = torch.randint(0, num_classes, (z64.shape[0],), generator=gen)
    losses: list[tuple[Callable[..., torch.Tensor], str, dict[str, float]]] = [
        (focal_loss, "focal", {"gamma": g}) for g in (1.0, 2.0, 3.0, 4.0)
    ]
    losses += [(rooted_logistic_loss, "paper", {"k": k, "m": k}) for k in (3.0, 2.5)]

    def every(z: torch.Tensor) -> list[torch.Tensor]:
        return [fn(z, y, **kw, label_smoothing=0.2, reduction="none") for fn, _, kw in losses]

    torch._dynamo.reset()
    compiled = torch.compile(every, backend="aot_eager", fullgraph=True)(z64.float())
    eager = every(z64.float())
    for (_, name, kw), got, base in zip(losses, compiled, eager, strict=True):
        ref = closed_form_loss(name, kw, z64, y, label_smoothing=0.2, reduction="none")
        err = ((got.double() - ref) / ref).abs().max().item()
        err_eager = ((base.double() - ref) / ref).abs().max().item()
        assert err <= 2.0 * err_eager + 1e-7, (name, kw, err, err_eager)


def test_compiled_out_of_range_label_still_fails() -> None:
    """Under compile the label range is not checked on the host; the gather itself fails."""
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda z, t: rooted_logistic_loss(z, t), backend="aot_eager", fullgraph=True
    )
    with pytest.raises(RuntimeError, match="out of bounds"):
        compiled(torch.randn(3, C), torch.tensor([0, C, 1]))
    with pytest.raises(IndexError, match="target: class index 4 is out of range"):
        rooted_logistic_loss(torch.randn(3, C), torch.tensor([0, C, 1]))  # eager CPU


# ------------------------------------------------------------------------------ no host sync
def _every_call(device: str) -> list[Callable[[], torch.Tensor]]:
    """Forward+backward (and a create_graph double backward) of every loss and convention."""
    calls = []
    for name in LOSSES:
        for conv in CONVENTIONS:
            z, t, kw = _case(conv)
            z, t = z.to(device).float(), t.to(device)
            if t.is_floating_point():
                t = t.float()
            if kw["weight"] is not None:
                kw["weight"] = kw["weight"].to(device).float()

            def call(name: str = name, z: torch.Tensor = z, t: Any = t, kw: Any = kw) -> Any:
                x = z.clone().requires_grad_()
                loss = _ours(name)(x, t, **kw).sum()
                (g,) = torch.autograd.grad(loss, x, create_graph=True)
                g.sum().backward()
                return loss

            calls.append(call)
    zb = torch.randn(6, 3, device=device)

    def binary() -> torch.Tensor:
        x = zb.clone().requires_grad_()
        loss = binary_rooted_logistic_loss(
            x, torch.ones_like(x), weight=torch.ones(3, device=device), pos_weight=2.0
        )
        loss.backward()
        return loss

    calls.append(binary)
    return calls


def test_no_value_read_on_meta_tensors() -> None:
    """Eager forward, backward and double backward on ``meta`` tensors (which have no values: any
    ``.item()``, ``bool()`` or data-dependent branch raises) — the eager paths read no value."""
    for call in _every_call("meta"):
        assert call().device.type == "meta"


def test_cuda_sync_debug_mode(record_property: Callable[[str, object], None]) -> None:
    """No host synchronisation on CUDA (``set_sync_debug_mode("error")``); reported where absent."""
    if not torch.cuda.is_available():
        message = (
            "CUDA sync-debug check NOT RUN: no CUDA device here; the no-sync property was checked "
            "on CPU by the fullgraph compile tests and on meta tensors only"
        )
        record_property("cuda_sync_debug", "not run: no CUDA device")
        warnings.warn(message, UserWarning, stacklevel=1)
        assert torch.cuda.device_count() == 0
        return
    calls = _every_call("cuda")
    for call in calls:  # warm up (first-call allocations and lazy initialisation)
        call()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for call in calls:
            call()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    record_property("cuda_sync_debug", f"passed on {torch.cuda.get_device_name()}")


# ------------------------------------------------------------------------------ all ignored
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("name", list(LOSSES))
def test_all_ignored_batch_like_cross_entropy(name: str, compiled: bool) -> None:
    """Nothing counted: the mean is NaN as for F.cross_entropy, and the gradient is zero (not NaN)."""
    z = torch.randn(3, C, 2, dtype=torch.float64)
    t = torch.full((3, 2), -100)
    w = torch.rand(C, dtype=torch.float64) + 0.5
    variants: list[dict[str, Any]] = [
        {},
        {"weight": w, "label_smoothing": 0.1},
        {"reduction": "sum"},
        {"reduction": "none"},
    ]
    fn = _ours(name)

    def every(zs: list[torch.Tensor], loss: Callable[..., torch.Tensor]) -> list[torch.Tensor]:
        return [loss(x, t, **kw) for x, kw in zip(zs, variants, strict=True)]

    ours = every
    if compiled:
        torch._dynamo.reset()
        ours = torch.compile(every, backend="eager", fullgraph=True)
    za = [z.clone().requires_grad_() for _ in variants]
    zb = [z.clone().requires_grad_() for _ in variants]
    got, want = ours(za, fn), every(zb, F.cross_entropy)
    torch.testing.assert_close(got, want, equal_nan=True)
    assert torch.isnan(got[0]) and torch.isnan(got[1]) and got[2] == 0
    for g, w_ in zip(got, want, strict=True):
        g.sum().backward()
        w_.sum().backward()
    for a, b in zip(za, zb, strict=True):
        assert a.grad is not None and b.grad is not None
        torch.testing.assert_close(a.grad, b.grad)
        assert (a.grad == 0).all()


# ------------------------------------------------------------------------ constructor signatures
def _params(cls: type) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def _positional(cls: type) -> list[str]:
    sig = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in sig if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]


@pytest.mark.parametrize("cls", [ExpBoostLoss, CubicBoostLoss, RootedLogisticLoss, FocalLoss])
def test_module_takes_cross_entropy_positional_arguments(cls: type) -> None:
    assert _positional(cls) == _positional(torch.nn.CrossEntropyLoss)
    gen = torch.Generator().manual_seed(8)
    z = torch.randn(6, C, generator=gen, dtype=torch.float64)
    t = torch.randint(0, C, (6,), generator=gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5
    args = (w, None, 2, None, "sum", 0.1)
    ours = cls(*args)
    assert ours.weight is w and ours.ignore_index == 2 and ours.reduction == "sum"
    assert ours.label_smoothing == 0.1
    kw = {"weight": w, "ignore_index": 2, "reduction": "sum", "label_smoothing": 0.1}
    functional = {
        ExpBoostLoss: exp_boost_loss,
        CubicBoostLoss: cubic_boost_loss,
        RootedLogisticLoss: rooted_logistic_loss,
        FocalLoss: focal_loss,
    }[cls]
    torch.testing.assert_close(ours(z, t), functional(z, t, **kw))
    # torch's deprecated size_average/reduce map to the same reduction as in CrossEntropyLoss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for legacy in [(None, False), (False, None), (True, True)]:
            expected = torch.nn.CrossEntropyLoss(None, legacy[0], -100, legacy[1]).reduction
            assert cls(None, legacy[0], -100, legacy[1]).reduction == expected


def test_focal_module_with_cross_entropy_arguments_is_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(9)
    z = torch.randn(7, C, 3, generator=gen, dtype=torch.float64)
    t = torch.randint(0, C, (7, 3), generator=gen)
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5
    args = (w, None, 1, None, "mean", 0.2)
    torch.testing.assert_close(
        FocalLoss(*args, gamma=0.0)(z, t), torch.nn.CrossEntropyLoss(*args)(z, t)
    )


def test_binary_module_takes_bce_positional_arguments_and_semantics() -> None:
    assert _positional(BinaryRootedLogisticLoss) == _positional(torch.nn.BCEWithLogitsLoss)
    gen = torch.Generator().manual_seed(10)
    z = torch.randn(8, 3, generator=gen, dtype=torch.float64) * 2
    t = torch.rand(8, 3, generator=gen, dtype=torch.float64)
    w = torch.rand(8, 1, generator=gen, dtype=torch.float64) + 0.5  # per-sample rescaling
    pw = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64)  # per-class positive weight
    for reduction in ("none", "mean", "sum"):
        crit = BinaryRootedLogisticLoss(w, None, None, reduction, pw, k=2.0)
        expected = closed_form_binary(z, t, k=2.0, weight=w, pos_weight=pw, reduction=reduction)
        torch.testing.assert_close(crit(z, t), expected)
        # k → ∞: ℓ_k − k·(weight·(pos_weight·t + 1 − t)) → BCEWithLogits with the same weights
        k = 1e6
        big = binary_rooted_logistic_loss(z, t, k=k, weight=w, pos_weight=pw, reduction=reduction)
        offset = k * (w * (pw * t + 1 - t))
        offset = {"none": offset, "mean": offset.mean(), "sum": offset.sum()}[reduction]
        bce = F.binary_cross_entropy_with_logits(z, t, weight=w, pos_weight=pw, reduction=reduction)
        torch.testing.assert_close(big - offset, bce, rtol=1e-4, atol=1e-4)
    assert dict(BinaryRootedLogisticLoss(w, pos_weight=pw).named_buffers()).keys() == {
        "weight",
        "pos_weight",
    }
    with pytest.raises(ValueError, match="weight"):
        binary_rooted_logistic_loss(z, t, weight=torch.ones(5))
    with pytest.raises(ValueError, match="weight"):
        binary_rooted_logistic_loss(z, t, weight=-torch.ones(3))


def test_one_overflow_cap_name() -> None:
    """``max_exponent`` everywhere; ``max_logit`` still works, with a DeprecationWarning."""
    for fn in (exp_boost_loss, rooted_logistic_loss, binary_rooted_logistic_loss):
        assert "max_exponent" in inspect.signature(fn).parameters
    for cls in (ExpBoostLoss, RootedLogisticLoss, BinaryRootedLogisticLoss):
        assert "max_exponent" in _params(cls)
        assert cls(max_exponent=5.0).max_exponent == 5.0
    z = torch.tensor([[4.0, 7.5, 0.0]], dtype=torch.float64)
    y = torch.tensor([0])
    with pytest.warns(DeprecationWarning, match="max_exponent"):
        old = exp_boost_loss(z, y, max_logit=5.0)
    with pytest.warns(DeprecationWarning, match="max_exponent"):
        crit = ExpBoostLoss(max_logit=5.0)
    new = exp_boost_loss(z, y, max_exponent=5.0)
    torch.testing.assert_close(old, new)
    torch.testing.assert_close(crit(z, y), new)
    assert new != exp_boost_loss(z, y)  # the cap matters here (7.5 > 5)


@pytest.mark.parametrize("k", [2.5, 3.0])
def test_compiled_natural_form_beyond_the_cap_equals_eager(k: float) -> None:
    """Where −log p / k exceeds the exponent cap (the linear continuation), the compiled natural
    form with label smoothing (its sums from one reduction; for an integer k one exponential per
    element in the backward) gives eager's value and gradient in float64."""
    gen = torch.Generator().manual_seed(13)
    z = torch.randn(6, C, generator=gen, dtype=torch.float64)
    z[:3, 0] += 150.0  # the other classes' −log p / k ≈ 50–60 > 30
    y = torch.tensor([1, 0, 2, 3, 0, 1])
    w = torch.rand(C, generator=gen, dtype=torch.float64) + 0.5

    def loss(x: torch.Tensor) -> torch.Tensor:
        return rooted_logistic_loss(x, y, k=k, form="natural", weight=w, label_smoothing=0.2)

    torch._dynamo.reset()
    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    za, zb = z.clone().requires_grad_(), z.clone().requires_grad_()
    got, want = compiled(za), loss(zb)
    got.backward()
    want.backward()
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    torch.testing.assert_close(za.grad, zb.grad, rtol=1e-10, atol=1e-12)


def test_compiled_extreme_logits_finite_and_signed() -> None:
    """The compiled path (its own backward) keeps the eager guarantees at ±1e4 in float32."""
    z = torch.tensor([[1e4, -1e4, 0.0, 1.0], [-1e4, 1e4, 3.0, 0.0]]).requires_grad_()
    y = torch.tensor([1, 0])  # the target logits are hopelessly low
    calls = {name: _ours(name) for name in LOSSES}

    def every(x: torch.Tensor) -> list[torch.Tensor]:
        return [fn(x, y, label_smoothing=eps) for fn in calls.values() for eps in (0.0, 0.1)]

    torch._dynamo.reset()
    compiled = torch.compile(every, backend="eager", fullgraph=True)
    names = [n for n in LOSSES for _ in "ab"]
    for got, want, name in zip(compiled(z), every(z.detach()), names, strict=True):
        (g,) = torch.autograd.grad(got, z)
        assert torch.isfinite(got) and torch.isfinite(g).all(), name
        torch.testing.assert_close(got.detach(), want)
        if name != "paper":  # the bounded paper form's gradient vanishes here, by design
            assert g[0, 1] < 0 and g[1, 0] < 0, name  # target logits pushed up
