"""NeuronBoost (Munoz 2025, arXiv:2502.01131) on transformer blocks, embeddings and tied weights.

Every reference is a float64 closed form written here: the inputs of every linear map are
computed by hand (attention by its textbook formula, not by ``nn.MultiheadAttention``), the metric
``A = mean x̃ x̃ᵀ`` is formed explicitly and ``H = G (A + γ·diag(1, …, 1, 0))⁻¹`` is solved with
``torch.linalg.solve``; only the gradient ``G`` comes from autograd. On the first step every
bias-corrected EMA equals its current value, so the update is ``lr·H / max(min_norm, √Σ⟨H, G⟩)``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from boostprop.optim import NeuronBoost

DT = torch.float64
LR, RIDGE, MN = 0.3, 0.2, 1e-2
KW = dict(lr=LR, ridge=RIDGE, cg_iters=60, weight_decay=0.0, min_norm=MN)


def _ridge_solve(g: Tensor, feats: Tensor, ridge: float, bias: bool) -> Tensor:
    """Rows of ``g`` times ``(mean x̃x̃ᵀ + ridge·diag(1..1, 0))⁻¹`` (no ridge on the bias)."""
    xt = torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=DT)], 1) if bias else feats
    a = xt.T @ xt / xt.shape[0]
    d = torch.ones(a.shape[0], dtype=DT)
    if bias:
        d[-1] = 0.0
    return torch.linalg.solve(a + ridge * torch.diag(d), g.T).T


def _linear_h(gw: Tensor, gb: Tensor | None, feats: Tensor) -> tuple[Tensor, Tensor | None]:
    feats = feats.reshape(-1, gw.shape[1])
    if gb is None:
        return _ridge_solve(gw, feats, RIDGE, False), None
    sol = _ridge_solve(torch.cat([gw, gb[:, None]], 1), feats, RIDGE, True)
    return sol[:, :-1], sol[:, -1]


def _step_and_check(model: nn.Module, loss_fn, h_of, rtol: float = 1e-7) -> None:
    """One NeuronBoost step; ``h_of(grads)`` gives the closed-form direction of every parameter."""
    opt = NeuronBoost(model, **KW)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss_fn().backward()
    g = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    h = h_of(g)  # from the parameters before the step
    opt.step()
    assert set(h) == set(g)
    s = max(MN, math.sqrt(sum(float((h[k] * g[k]).sum()) for k in g)))
    for k, p in model.named_parameters():
        torch.testing.assert_close(before[k] - p.detach(), LR * h[k] / s, rtol=rtol, atol=1e-11)


def _attention(mha: nn.MultiheadAttention, q_in: Tensor, k_in: Tensor, v_in: Tensor, mask=None):
    """Textbook multi-head attention (batch first): the projections' outputs and the input of
    ``out_proj`` (the concatenated heads)."""
    e, nh = mha.embed_dim, mha.num_heads
    if mha._qkv_same_embed_dim:
        wq, wk, wv = mha.in_proj_weight.detach().chunk(3)
    else:
        wq, wk, wv = (
            mha.q_proj_weight.detach(),
            mha.k_proj_weight.detach(),
            mha.v_proj_weight.detach(),
        )
    bq, bk, bv = mha.in_proj_bias.detach().chunk(3)
    q, k, v = q_in @ wq.T + bq, k_in @ wk.T + bk, v_in @ wv.T + bv
    b, lq, lk = q.shape[0], q.shape[1], k.shape[1]
    hd = e // nh
    qh = q.view(b, lq, nh, hd).transpose(1, 2)
    kh = k.view(b, lk, nh, hd).transpose(1, 2)
    vh = v.view(b, lk, nh, hd).transpose(1, 2)
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, None, :], float("-inf"))
    out = torch.softmax(scores, -1) @ vh
    return out.transpose(1, 2).reshape(b, lq, e)


def _mha_h(g: dict, prefix: str, mha: nn.MultiheadAttention, q_in, k_in, v_in, mask=None) -> dict:
    e = mha.embed_dim
    gb = g[prefix + "in_proj_bias"]
    h: dict[str, Tensor] = {}
    hb = torch.empty_like(gb)
    blocks = []
    for i, (name, x) in enumerate(zip("qkv", (q_in, k_in, v_in), strict=True)):
        rows = slice(i * e, (i + 1) * e)
        gw = (
            g[prefix + "in_proj_weight"][rows]
            if mha._qkv_same_embed_dim
            else g[f"{prefix}{name}_proj_weight"]
        )
        hw, hb[rows] = _linear_h(gw, gb[rows], x)
        blocks.append(hw)
        if not mha._qkv_same_embed_dim:
            h[f"{prefix}{name}_proj_weight"] = hw
    if mha._qkv_same_embed_dim:
        h[prefix + "in_proj_weight"] = torch.cat(blocks)
    h[prefix + "in_proj_bias"] = hb
    a = _attention(mha, q_in, k_in, v_in, mask)
    h[prefix + "out_proj.weight"], h[prefix + "out_proj.bias"] = _linear_h(
        g[prefix + "out_proj.weight"], g[prefix + "out_proj.bias"], a
    )
    return h


def _target(shape, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


@pytest.mark.parametrize("kind", ["self", "cross", "kvdim"])
def test_multihead_attention_blocks_match_closed_form(kind):
    """q, k, v are each preconditioned by their own input and out_proj by the attention output;
    a bare MultiheadAttention is a valid model (cross-attention, separate k/v dimensions, a key
    padding mask)."""
    torch.manual_seed(0)
    e = 4
    kdim = 3 if kind == "kvdim" else None
    mha = nn.MultiheadAttention(e, 2, batch_first=True, kdim=kdim, vdim=kdim).to(DT)
    x = torch.randn(3, 5, e, dtype=DT) + 0.3
    mem = torch.randn(3, 6, kdim or e, dtype=DT) * 1.5 - 0.2
    kv = x if kind == "self" else mem
    mask = torch.zeros(3, kv.shape[1], dtype=torch.bool)
    mask[0, -2:] = True
    tgt = _target((3, 5, e), 1)

    def loss():
        out, _ = mha(x, kv, kv, key_padding_mask=mask)
        return (torch.tanh(out) * tgt).sum() / 3

    _step_and_check(mha, loss, lambda g: _mha_h(g, "", mha, x, kv, kv, mask))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_matches_closed_form(norm_first):
    torch.manual_seed(1)
    d = 4
    layer = nn.TransformerEncoderLayer(
        d, 2, dim_feedforward=6, dropout=0.0, batch_first=True, norm_first=norm_first
    ).to(DT)
    x = torch.randn(2, 5, d, dtype=DT) * 1.2 + 0.1
    tgt = _target((2, 5, d), 2)

    def h_of(g):
        with torch.no_grad():  # the block by hand: attention, residuals, norms, feed-forward
            sa_in = layer.norm1(x) if norm_first else x
            a = _attention(layer.self_attn, sa_in, sa_in, sa_in)
            y = x + F.linear(a, layer.self_attn.out_proj.weight, layer.self_attn.out_proj.bias)
            ff_in = layer.norm2(y) if norm_first else layer.norm1(y)
            hid = torch.relu(layer.linear1(ff_in))
        h = _mha_h(g, "self_attn.", layer.self_attn, sa_in, sa_in, sa_in)
        for name, feats in (("linear1", ff_in), ("linear2", hid)):
            h[f"{name}.weight"], h[f"{name}.bias"] = _linear_h(
                g[f"{name}.weight"], g[f"{name}.bias"], feats
            )
        for k in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"):
            h[k] = g[k]  # norm layers: identity metric
        return h

    _step_and_check(layer, lambda: (layer(x) * tgt).sum() / 2, h_of)


class _LM(nn.Module):
    def __init__(self, vocab: int, dim: int, tied: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.hidden = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab)
        if tied:
            self.head.weight = self.emb.weight

    def features(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        e = self.emb(idx)
        return e, torch.tanh(self.hidden(e))

    def forward(self, idx: Tensor) -> Tensor:
        return self.head(self.features(idx)[1])


IDX = torch.tensor([[1, 2, 2, 0, 3], [2, 5, 0, 0, 1], [4, 4, 4, 2, 0]])
TOKENS = torch.tensor([[2, 2, 0, 3, 1], [5, 1, 0, 0, 3], [4, 2, 4, 0, 0]])


def _lm_loss(lm: _LM):
    return lambda: F.cross_entropy(lm(IDX).reshape(-1, 6), TOKENS.reshape(-1), ignore_index=0)


def test_embedding_gets_its_exact_one_hot_metric():
    """h_i = g_i / (c_i/N + γ), c_i the lookups of token i among all N lookups (padding lookups
    are samples with x = 0: counted in N only; the padding row does not move)."""
    torch.manual_seed(2)
    lm = _LM(6, 3, tied=False).to(DT)
    n = IDX.numel()
    counts = torch.bincount(IDX.reshape(-1), minlength=6).to(DT)
    counts[0] = 0.0

    def h_of(g):
        with torch.no_grad():
            e, hid = lm.features(IDX)
        h = {"emb.weight": g["emb.weight"] / (counts / n + RIDGE)[:, None]}
        for name, feats in (("hidden", e), ("head", hid)):
            h[f"{name}.weight"], h[f"{name}.bias"] = _linear_h(
                g[f"{name}.weight"], g[f"{name}.bias"], feats
            )
        return h

    before = lm.emb.weight[0].detach().clone()
    _step_and_check(lm, _lm_loss(lm), h_of)
    assert torch.equal(lm.emb.weight[0], before)  # padding row untouched


def test_tied_embedding_and_head_use_the_union_metric():
    """The weight shared by the embedding and the output head is preconditioned by the metric of
    the union of both modules' samples, each written in the shared parameter's coordinates."""
    torch.manual_seed(3)
    v, d = 6, 3
    lm = _LM(v, d, tied=True).to(DT)
    assert lm.head.weight is lm.emb.weight

    def h_of(g):
        with torch.no_grad():
            e, hid = lm.features(IDX)
        # explicit Jacobians of every sample w.r.t. θ = [vec(W) (row-major), b_head]
        nth = v * d + v
        rows = []
        for i in IDX.reshape(-1).tolist():  # embedding lookups: y = W[i] (padding: x = 0)
            j = torch.zeros(d, nth, dtype=DT)
            if i != 0:
                j[:, i * d : (i + 1) * d] = torch.eye(d, dtype=DT)
            rows.append(j)
        for xt in hid.reshape(-1, d):  # head: y = W x + b
            j = torch.zeros(v, nth, dtype=DT)
            for o in range(v):
                j[o, o * d : (o + 1) * d] = xt
                j[o, v * d + o] = 1.0
            rows.append(j)
        jac = torch.cat(rows)
        n_tot = IDX.numel() * 2
        a = jac.T @ jac / n_tot
        r = torch.zeros(nth, dtype=DT)
        r[: v * d] = RIDGE
        gt = torch.cat([g["emb.weight"].reshape(-1), g["head.bias"]])
        sol = torch.linalg.solve(a + torch.diag(r), gt)
        h = {"emb.weight": sol[: v * d].view(v, d), "head.bias": sol[v * d :]}
        h["hidden.weight"], h["hidden.bias"] = _linear_h(g["hidden.weight"], g["hidden.bias"], e)
        return h

    _step_and_check(lm, _lm_loss(lm), h_of, rtol=1e-6)
