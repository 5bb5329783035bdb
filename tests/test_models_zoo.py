"""The models of the practitioners' workloads (boostprop.models_zoo): registry signatures,
shapes, parameter counts from the architectures' formulas, float64 reference forwards written
from the papers' equations (patch embedding as a strided convolution, attention by hand, the
factorisation by indexing), causality of the language model, one SGD step, one NeuronBoost step.
"""

from __future__ import annotations

import inspect
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from boostprop.bench.components import resolve_kwargs
from boostprop.models import MODELS, build_model
from boostprop.models_zoo import (
    ZOO,
    Autoencoder,
    CharTransformer,
    MatrixFactorization,
    ResNet,
    UNet,
    ViT,
)
from boostprop.nn import ShortcutMLP
from boostprop.optim import NeuronBoost

Batch = tuple[torch.Tensor, torch.Tensor]


def _images(shape: tuple[int, ...], n: int, k: int, *, per_pixel: bool = False) -> Batch:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, *shape, generator=g)
    y = torch.randint(0, k, (n, *shape[1:]) if per_pixel else (n,), generator=g)
    return x, y


def _tokens(t: int, n: int, v: int) -> Batch:
    g = torch.Generator().manual_seed(2)
    # a skewed distribution, so that the embedding rows' lookup counts differ
    probs = torch.linspace(1.0, 3.0, v)
    x = torch.multinomial(probs, n * t, replacement=True, generator=g).view(n, t)
    return x, torch.randint(0, v, (n, t), generator=g)


def _pairs(n_rows: int, n_cols: int, n: int) -> Batch:
    g = torch.Generator().manual_seed(3)
    rows = torch.multinomial(torch.linspace(1.0, 3.0, n_rows), n, replacement=True, generator=g)
    cols = torch.multinomial(torch.linspace(3.0, 1.0, n_cols), n, replacement=True, generator=g)
    return torch.stack([rows, cols], 1), torch.randn(n, 1, generator=g)


# name -> (input_shape, n_classes, tiny model_kwargs, batch, loss(output, x, y))
CASES: dict[str, tuple[tuple[int, ...], int, dict[str, Any], Batch, Callable[..., torch.Tensor]]]
CASES = {
    "resnet": (
        (1, 28, 28),
        10,
        {"widths": (4, 8), "blocks": (1, 2)},
        _images((1, 28, 28), 6, 10),
        lambda out, x, y: F.cross_entropy(out, y),
    ),
    "vit": (
        (1, 28, 28),
        10,
        {"patch": 7, "width": 16, "depth": 2, "heads": 2, "pool": "cls"},
        _images((1, 28, 28), 6, 10),
        lambda out, x, y: F.cross_entropy(out, y),
    ),
    "unet": (
        (1, 28, 28),
        3,
        {"width": 4},
        _images((1, 28, 28), 4, 3, per_pixel=True),
        lambda out, x, y: F.cross_entropy(out, y),
    ),
    "char_transformer": (
        (12,),
        20,
        {"width": 16, "depth": 2, "heads": 2},
        _tokens(12, 4, 20),
        lambda out, x, y: F.cross_entropy(out, y),
    ),
    "matrix_factorization": (
        (2,),
        1,
        {"n_rows": 7, "n_cols": 5, "rank": 3},
        _pairs(7, 5, 40),
        lambda out, x, y: F.mse_loss(out, y),
    ),
    "autoencoder": (
        (1, 28, 28),
        10,
        {"widths": (16, 4, 16)},
        _images((1, 28, 28), 8, 10),
        lambda out, x, y: F.mse_loss(out, x.flatten(1)),
    ),
}

EXPECTED_KWARGS = {
    "resnet": {"blocks": [1, 1, 1], "widths": [16, 32, 64]},
    "vit": {
        "activation": "relu",
        "depth": 4,
        "heads": 4,
        "mlp_ratio": 2,
        "patch": 7,
        "pool": "mean",
        "width": 128,
    },
    "unet": {"batch_norm": True, "levels": 2, "width": 16},
    "char_transformer": {
        "activation": "gelu",
        "depth": 4,
        "heads": 4,
        "mlp_ratio": 4,
        "tie_weights": False,
        "width": 128,
    },
    "matrix_factorization": {
        "biases": True,
        "init_scale": 0.1,
        "n_cols": 1000,
        "n_rows": 1000,
        "rank": 10,
    },
    "autoencoder": {"init": "raiko", "output": "linear", "widths": [500, 250, 30, 250, 500]},
}
CLASSES = {
    "resnet": ResNet,
    "vit": ViT,
    "unet": UNet,
    "char_transformer": CharTransformer,
    "matrix_factorization": MatrixFactorization,
    "autoencoder": Autoencoder,
}


def _build(name: str, **override: Any) -> tuple[nn.Module, Batch]:
    shape, k, kw, batch, _ = CASES[name]
    torch.manual_seed(0)
    return build_model(name, shape, k, **{**kw, **override}), batch


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------- registry, signature
@pytest.mark.parametrize("name", sorted(ZOO))
def test_registered_with_every_keyword_and_its_default(name: str) -> None:
    factory = MODELS[name]
    assert factory is ZOO[name]
    assert resolve_kwargs(factory, {}, skip=2, what="model_kwargs") == EXPECTED_KWARGS[name]
    params = list(inspect.signature(factory).parameters.values())
    assert [p.kind for p in params[:2]] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in params[2:])
    # the class's own defaults are the factory's (they are written twice)
    cls_defaults = {
        p.name: p.default
        for p in inspect.signature(CLASSES[name]).parameters.values()
        if p.default is not p.empty
    }
    for p in params[2:]:
        if p.name in cls_defaults:
            assert cls_defaults[p.name] == p.default, p.name


# --------------------------------------------------------------------------------- shapes
def test_output_shapes() -> None:
    x = torch.rand(3, 1, 28, 28)
    assert _build("resnet")[0](x).shape == (3, 10)
    assert build_model("resnet", (2, 9, 13), 4, widths=(4,), blocks=(2,))(
        torch.rand(2, 2, 9, 13)
    ).shape == (2, 4)
    assert _build("vit")[0](x).shape == (3, 10)
    assert _build("vit", patch=4, pool="mean")[0](x).shape == (3, 10)
    assert _build("unet")[0](x).shape == (3, 3, 28, 28)
    assert build_model("unet", (2, 8, 12), 5, width=2, levels=1, batch_norm=False)(
        torch.rand(2, 2, 8, 12)
    ).shape == (2, 5, 8, 12)
    lm = _build("char_transformer")[0]
    assert lm(torch.randint(0, 20, (3, 12))).shape == (3, 20, 12)  # (N, C, T)
    assert lm(torch.randint(0, 20, (3, 5))).shape == (3, 20, 5)  # shorter than the context
    assert _build("matrix_factorization")[0](torch.tensor([[0, 4], [6, 0]])).shape == (2, 1)
    assert _build("autoencoder")[0](x).shape == (3, 784)


# ----------------------------------------------------------------------- parameter counts
def _conv(ci: int, co: int, k: int, bias: bool) -> int:
    return ci * co * k * k + (co if bias else 0)


def _resnet_count(c: int, widths: list[int], blocks: list[int], k: int) -> int:
    n = _conv(c, widths[0], 3, False) + 2 * widths[0]  # stem conv + BatchNorm
    prev = widths[0]
    for i, (w, b) in enumerate(zip(widths, blocks, strict=True)):
        for j in range(b):
            cin = prev if j == 0 else w
            n += _conv(cin, w, 3, False) + _conv(w, w, 3, False) + 2 * (2 * w)
            if j == 0 and (i > 0 or cin != w):  # projection shortcut + its BatchNorm
                n += _conv(cin, w, 1, False) + 2 * w
        prev = w
    return n + prev * k + k


def _block_count(w: int, f: int) -> int:
    attention = 3 * w * w + 3 * w + w * w + w  # in_proj (q, k, v) + out_proj
    return attention + (w * f + f) + (f * w + w) + 2 * (2 * w)  # two linears, two LayerNorms


def _vit_count(c: int, side: int, k: int, p: int, w: int, depth: int, f: int, cls: bool) -> int:
    tokens = (side // p) ** 2 + cls
    embed = c * p * p * w + w
    return embed + cls * w + tokens * w + depth * _block_count(w, f) + 2 * w + w * k + k


def _unet_count(c: int, k: int, w: int, levels: int, bn: bool) -> int:
    def double(a: int, b: int) -> int:
        return _conv(a, b, 3, not bn) + _conv(b, b, 3, not bn) + (4 * b if bn else 0)

    ch = [w * 2**i for i in range(levels + 1)]
    n = double(c, ch[0]) + sum(double(ch[i - 1], ch[i]) for i in range(1, levels + 1))
    for i in range(levels, 0, -1):  # up-convolution, then the block on [skip, up]
        n += _conv(ch[i], ch[i - 1], 3, True) + double(2 * ch[i - 1], ch[i - 1])
    return n + _conv(ch[0], k, 1, True)


def _lm_count(v: int, t: int, w: int, depth: int, f: int, tie: bool) -> int:
    return v * w + t * w + depth * _block_count(w, f) + 2 * w + (0 if tie else w * v) + v


def _ae_count(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def test_parameter_counts_equal_the_architectures_formulas() -> None:
    def n(name: str, shape: tuple[int, ...], k: int, **kw: Any) -> int:
        return _n_params(build_model(name, shape, k, **kw))

    img = (1, 28, 28)
    assert n("resnet", img, 10) == _resnet_count(1, [16, 32, 64], [1, 1, 1], 10) == 77754
    assert n("resnet", (3, 8, 8), 5, widths=(4, 8), blocks=(2, 1)) == _resnet_count(
        3, [4, 8], [2, 1], 5
    )
    assert n("vit", img, 10) == _vit_count(1, 28, 10, 7, 128, 4, 256, False) == 539914
    assert n("vit", img, 3, patch=4, width=8, depth=1, heads=2, mlp_ratio=1.5, pool="cls") == (
        _vit_count(1, 28, 3, 4, 8, 1, 12, True)
    )
    assert n("unet", img, 11) == _unet_count(1, 11, 16, 2, True) == 130043
    assert n("unet", img, 3, width=4, batch_norm=False) == _unet_count(1, 3, 4, 2, False)
    assert n("char_transformer", (128,), 256) == _lm_count(256, 128, 128, 4, 512, False)
    assert n("char_transformer", (128,), 256) == 875520
    assert n("char_transformer", (9,), 30, width=8, depth=1, heads=2, tie_weights=True) == (
        _lm_count(30, 9, 8, 1, 32, True)
    )
    assert n("matrix_factorization", (2,), 1) == 2000 * 10 + 2000 + 1
    assert n("matrix_factorization", (2,), 1, n_rows=7, n_cols=5, rank=3, biases=False) == 36
    assert n("autoencoder", img, 10) == _ae_count([784, 500, 250, 30, 250, 500, 784]) == 1051314
    assert n("autoencoder", (20,), 2, widths=(5, 3)) == _ae_count([20, 5, 3, 20])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_deterministic_given_the_seed(name: str) -> None:
    a, (x, _) = _build(name)
    b, _ = _build(name)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert torch.equal(a(x), b(x))


# --------------------------------------------------------------- float64 reference forwards
def _layer_norm(h: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    mu = h.mean(-1, keepdim=True)
    var = h.var(-1, unbiased=False, keepdim=True)
    return (h - mu) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def _block(
    layer: Any, h: torch.Tensor, heads: int, act: Callable[..., Any], causal: bool
) -> torch.Tensor:
    """A pre-norm transformer block from its equations (Vaswani et al. 2017, pre-norm)."""
    n, t, w = h.shape
    d = w // heads
    attn = layer.self_attn
    a = _layer_norm(h, layer.norm1)
    q, k, v = (a @ attn.in_proj_weight.T + attn.in_proj_bias).split(w, dim=-1)
    q, k, v = (z.reshape(n, t, heads, d).transpose(1, 2) for z in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if causal:
        future = torch.arange(t)[None, :] > torch.arange(t)[:, None]
        scores = scores.masked_fill(future, -math.inf)
    o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, w)
    h = h + o @ attn.out_proj.weight.T + attn.out_proj.bias
    a = _layer_norm(h, layer.norm2)
    ff = act(a @ layer.linear1.weight.T + layer.linear1.bias)
    return h + ff @ layer.linear2.weight.T + layer.linear2.bias


def _lm_reference(lm: CharTransformer, x: torch.Tensor, heads: int) -> torch.Tensor:
    t = x.shape[1]
    h = lm.embed.weight[x] + lm.pos[0, :t]
    for layer in lm.blocks:
        h = _block(layer, h, heads, F.gelu, causal=True)
    logits = _layer_norm(h, lm.norm) @ lm.head.weight.T + lm.head.bias
    return logits.permute(0, 2, 1)


@pytest.mark.parametrize("tie", [False, True])
def test_language_model_is_causal_and_matches_a_reference(tie: bool) -> None:
    torch.manual_seed(0)
    lm = CharTransformer(11, 10, width=8, depth=2, heads=2, tie_weights=tie).double()
    assert (lm.head.weight is lm.embed.weight) is tie
    x, _ = _tokens(10, 3, 11)
    t = 4
    x2 = x.clone()
    x2[:, t + 1 :] = (x[:, t + 1 :] + 1 + torch.arange(5)) % 11  # every later token changed
    for mode in ("train", "eval"):  # eval + no_grad takes torch's fused encoder-layer path
        lm.train(mode == "train")
        with torch.set_grad_enabled(mode == "train"):
            out, out2 = lm(x), lm(x2)
            ref, ref2 = _lm_reference(lm, x, 2), _lm_reference(lm, x2, 2)
            prefix = lm(x[:, : t + 1])
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(out2, ref2, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(out[:, :, : t + 1], out2[:, :, : t + 1], rtol=0, atol=1e-12)
        torch.testing.assert_close(prefix, out[:, :, : t + 1], rtol=1e-10, atol=1e-10)
        assert (out[:, :, t + 1 :] - out2[:, :, t + 1 :]).abs().amax(1).min() > 1e-6


def _vit_reference(vit: ViT, x: torch.Tensor, heads: int) -> torch.Tensor:
    p = vit.patch
    w = vit.embed.weight.shape[0]
    kernel = vit.embed.weight.reshape(w, x.shape[1], p, p)  # the embedding as a strided conv
    h = F.conv2d(x, kernel, vit.embed.bias, stride=p).flatten(2).transpose(1, 2)
    if vit.cls is not None:
        h = torch.cat([vit.cls.expand(len(x), 1, w), h], 1)
    h = h + vit.pos
    for layer in vit.blocks:
        h = _block(layer, h, heads, F.relu, causal=False)
    h = _layer_norm(h, vit.norm)
    return (h[:, 0] if vit.cls is not None else h.mean(1)) @ vit.head.weight.T + vit.head.bias


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_vit_matches_a_reference(pool: str) -> None:
    torch.manual_seed(0)
    vit = ViT((2, 8, 12), 3, patch=4, width=8, depth=2, heads=2, pool=pool).double()
    x = torch.rand(3, 2, 8, 12, dtype=torch.float64)
    torch.testing.assert_close(vit(x), _vit_reference(vit, x, 2), rtol=1e-10, atol=1e-10)


def test_matrix_factorization_matches_its_formula() -> None:
    torch.manual_seed(0)
    mf = MatrixFactorization(7, 5, 3)
    assert mf.row_bias is not None and mf.col_bias is not None and mf.bias is not None
    with torch.no_grad():  # biases start at zero: make them count
        for p in (mf.row_bias.weight, mf.col_bias.weight, mf.bias):
            p.normal_()
    x, _ = _pairs(7, 5, 20)
    u, v = mf.row_factors.weight, mf.col_factors.weight
    r, c = x[:, 0].tolist(), x[:, 1].tolist()
    ref = torch.stack(
        [
            u[i] @ v[j] + mf.row_bias.weight[i, 0] + mf.col_bias.weight[j, 0]
            for i, j in zip(r, c, strict=True)
        ]
    )
    torch.testing.assert_close(mf(x), ref[:, None] + mf.bias)
    plain = MatrixFactorization(7, 5, 3, biases=False)
    torch.testing.assert_close(
        plain(x),
        (plain.row_factors.weight[x[:, 0]] * plain.col_factors.weight[x[:, 1]]).sum(1)[:, None],
    )


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_autoencoder_is_the_shortcut_networks_plain_baseline(output: str) -> None:
    sizes = [20, 7, 3, 7, 20]
    torch.manual_seed(0)
    ae = Autoencoder(20, sizes[1:-1], output=output)
    linears = [m for m in ae if isinstance(m, nn.Linear)]
    ref = ShortcutMLP(sizes, transforms="none", shortcuts=False, output=output).double()
    ae.double()
    with torch.no_grad():
        for m, lin in enumerate(linears, start=1):
            ref.weight(m, m - 1).copy_(lin.weight)
            ref.bias(m).copy_(lin.bias)
    x = torch.randn(5, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(ae(x), ref(x), rtol=1e-12, atol=1e-12)


def test_autoencoder_initialisation() -> None:
    torch.manual_seed(0)
    raiko = [m for m in Autoencoder(20, (50, 50)) if isinstance(m, nn.Linear)]
    biases = torch.cat([m.bias for m in raiko])
    assert 0.45 < biases.abs().max() <= 0.5  # U(±0.5) (torch's default bound here: ≤ 0.23)
    for m in raiko:  # Glorot-uniform (torch's default bound 1/sqrt(fan_in) is smaller here)
        bound = math.sqrt(6 / (m.in_features + m.out_features))
        assert 0.9 * bound < m.weight.abs().max() <= bound
    default = [m for m in Autoencoder(20, (50, 50), init="default") if isinstance(m, nn.Linear)]
    assert all(m.bias.abs().max() <= 1 / math.sqrt(m.in_features) for m in default)


# ------------------------------------------------------------------------------ training
@pytest.mark.parametrize("name", sorted(ZOO))
def test_one_sgd_step_lowers_the_loss_on_a_fixed_batch(name: str) -> None:
    model, (x, y) = _build(name)
    loss_fn = CASES[name][4]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = loss_fn(model(x), x, y)
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss_fn(model(x), x, y)
    assert after < before


def _preconditioned(model: nn.Module) -> dict[str, tuple[torch.Tensor, slice | None]]:
    """The weights NeuronBoost's docstring says it preconditions, read from the module types:
    Linear/Conv weights, Embedding tables, the q, k, v blocks of attention's in_proj and out_proj
    (an ``nn.Linear``). A weight shared by two modules (a tied head) is listed once."""
    out: dict[str, tuple[torch.Tensor, slice | None]] = {}
    seen: set[int] = set()
    for name, m in model.named_modules():
        if isinstance(m, nn.MultiheadAttention):
            e = m.embed_dim
            for i, k in enumerate("qkv"):
                out[f"{name}.in_proj[{k}]"] = (m.in_proj_weight, slice(i * e, (i + 1) * e))
        elif isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)) and (
            id(m.weight) not in seen
        ):
            seen.add(id(m.weight))
            out[f"{name}.weight"] = (m.weight, None)
    return out


def _identity_metric(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Norm layers' parameters and the model's bare parameters (positions, class token, global
    bias): NeuronBoost steps them along their gradient (``h = ḡ``)."""
    out: list[tuple[str, torch.Tensor]] = [
        (f"{name}.{k}", p)
        for name, m in model.named_modules()
        if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d))
        for k, p in m.named_parameters(recurse=False)
    ]
    return out + list(model.named_parameters(recurse=False))


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    return float(a @ b / (a.norm() * b.norm()))


@pytest.mark.parametrize(
    "name, override",
    [(n, {}) for n in sorted(ZOO)] + [("char_transformer", {"tie_weights": True})],
)
def test_one_neuron_boost_step_preconditions_every_weight(
    name: str, override: dict[str, Any]
) -> None:
    model, (x, y) = _build(name, **override)
    loss_fn = CASES[name][4]
    with warnings.catch_warnings():
        # e.g. "a neuron whose hook saw no input gets the identity metric"
        warnings.simplefilter("error")
        opt = NeuronBoost(model, lr=0.1, ridge=0.01, weight_decay=0.0)
        loss_fn(model(x), x, y).backward()
        before = {id(p): p.detach().clone() for p in model.parameters()}
        grads = {id(p): p.grad.clone() for p in model.parameters() if p.grad is not None}
        opt.step()
    weights = _preconditioned(model)
    assert weights, name
    if name in ("vit", "char_transformer"):
        assert (
            sum("in_proj" in k for k in weights) == 3 * 2
            and sum("out_proj" in k for k in weights) == 2
        )
    for label, (w, rows) in weights.items():
        step = (before[id(w)] - w.detach())[rows or slice(None)]
        g = grads[id(w)][rows or slice(None)]
        assert step.abs().max() > 0, f"{label} did not change"
        # the identity metric would step along the gradient; a preconditioned step does not
        assert _cos(step, g) < 0.999, f"{label} was stepped along its gradient"
    identity = _identity_metric(model)
    assert bool(identity) is (name != "autoencoder"), name
    for label, p in identity:  # norms and bare parameters: h = ḡ (the documented identity)
        assert _cos(before[id(p)] - p.detach(), grads[id(p)]) > 1 - 1e-6, label


# -------------------------------------------------------------------------------- errors
def test_bad_arguments_are_named() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: build_model("resnet", (28, 28), 10), "input_shape"),
        (lambda: build_model("resnet", (1, 28, 28), 10, widths=(8, 16), blocks=(1,)), "blocks"),
        (lambda: build_model("resnet", (1, 28, 28), 10, widths=(8, 0)), "widths"),
        (lambda: build_model("vit", (1, 28, 28), 10, patch=5), "patch"),
        (lambda: build_model("vit", (1, 28, 28), 10, heads=3), "heads"),
        (
            lambda: build_model("vit", (1, 28, 28), 10, width=10, heads=2, mlp_ratio=0.25),
            "mlp_ratio",
        ),
        (lambda: build_model("vit", (1, 28, 28), 10, pool="max"), "pool"),
        (lambda: build_model("vit", (1, 28, 28), 10, activation="tanh"), "activation"),
        (lambda: build_model("unet", (1, 28, 28), 3, levels=3), "levels"),
        (lambda: build_model("unet", (1, 28, 28), 3, batch_norm=1), "batch_norm"),
        (lambda: build_model("char_transformer", (1, 12), 20), "input_shape"),
        (lambda: build_model("char_transformer", (12,), 20, tie_weights="yes"), "tie_weights"),
        (lambda: build_model("matrix_factorization", (2,), 5), "n_classes"),
        (lambda: build_model("matrix_factorization", (3,), 1), "input_shape"),
        (lambda: build_model("matrix_factorization", (2,), 1, init_scale=0.0), "init_scale"),
        (lambda: build_model("autoencoder", (784,), 10, widths=()), "widths"),
        (lambda: build_model("autoencoder", (784,), 10, output="tanh"), "output"),
        (lambda: _build("vit")[0](torch.zeros(2, 1, 14, 14)), "x"),
        (lambda: _build("resnet")[0](torch.zeros(2, 28, 28)), "x"),
        (lambda: _build("unet")[0](torch.zeros(2, 1, 14, 14)), "x"),
        (lambda: _build("char_transformer")[0](torch.zeros(2, 13, dtype=torch.long)), "x"),
        (lambda: _build("char_transformer")[0](torch.zeros(2, 12)), "x"),
        (lambda: _build("matrix_factorization")[0](torch.zeros(4, 2)), "x"),
    ]
    for fn, arg in cases:
        with pytest.raises(ValueError, match=f"^{arg}:"):
            fn()
