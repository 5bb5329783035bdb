"""Per-module, matrix-free products and input moments for linear neuron boosting.

Private helpers of :class:`boostprop.optim.NeuronBoost` (D. Munoz, "Simple Linear Neuron
Boosting", arXiv:2502.01131, 2025). A "neuron" is a ``Linear``, ``Conv1d`` or ``Conv2d`` module with
input features ``x`` (one sample per row for ``Linear``, one sample per output position for a
convolution) and augmented features ``x̃ = [x; 1]``. For a direction ``v = (V, v_b)`` in the
module's parameter space (weight-shaped ``V``, bias-shaped ``v_b``) this module computes the
*unnormalised* metric product ``Σ_samples x̃ x̃ᵀ v = Jᵀ(J v)`` on the captured minibatch, where
``J v`` is the module's own forward with weight ``V`` and bias ``v_b`` and ``Jᵀ`` is the
weight-gradient of that output (for convolutions: ``aten.convolution_backward``, no unfold).
For ``Linear`` modules whose ``d_in × d_in`` Gram matrix is cheaper than the matrix-free products
(large batch, few CG iterations), the Gram matrix of the same minibatch is formed once and used
instead; the two are equal in exact arithmetic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "EmbeddingNeuron",
    "Neuron",
    "TiedNeuron",
    "conv_out_positions",
    "expand_per_weight",
    "is_neuron_module",
]

_NEURON_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)


def is_neuron_module(module: nn.Module) -> bool:
    """Whether ``module`` is treated as a neuron (``Linear``, ``Conv1d`` or ``Conv2d``).

    Example:
        >>> is_neuron_module(nn.Linear(2, 3)), is_neuron_module(nn.LayerNorm(3))
        (True, False)
    """
    return isinstance(module, _NEURON_TYPES)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half-precision inputs, otherwise the input's own floating dtype."""
    return torch.promote_types(dtype, torch.float32)


def conv_out_positions(
    in_sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> int:
    """Number of output positions of a convolution (product over spatial dims).

    Example:
        >>> conv_out_positions((28, 28), (3, 3), (2, 2), (0, 0), (1, 1))
        169
    """
    n = 1
    for size, k, s, p, d in zip(in_sizes, kernel, stride, padding, dilation, strict=True):
        n *= max(0, (size + 2 * p - d * (k - 1) - 1) // s + 1)
    return n


def expand_per_weight(values: Tensor, weight: Tensor, groups: int) -> Tensor:
    """Broadcast per-input-feature ``values`` (shape ``(d_in_total,)``) to ``weight``'s layout.

    For ``Linear`` the result has shape ``(1, d_in)``; for a convolution with weight
    ``(C_out, C_in/groups, *k)`` it has shape ``(C_out or 1, C_in/groups, 1, ...)`` so that it
    broadcasts over the kernel taps (moments are per input channel, shared across taps).

    Example:
        >>> expand_per_weight(torch.arange(4.0), torch.zeros(6, 2, 3), groups=2).shape
        torch.Size([6, 2, 1])
    """
    n_taps_dims = weight.dim() - 2
    if weight.dim() == 2:
        return values.view(1, -1)
    c_per_group = weight.shape[1]
    if groups == 1:
        return values.view(1, c_per_group, *([1] * n_taps_dims))
    out_per_group = weight.shape[0] // groups
    per_group = values.view(groups, c_per_group)
    per_out = per_group.repeat_interleave(out_per_group, dim=0)
    return per_out.view(weight.shape[0], c_per_group, *([1] * n_taps_dims))


def _gram(x: Tensor) -> Tensor:
    """``xᵀx`` of an ``(N, d)`` matrix. For many rows and wide ``d`` only the block upper
    triangle is multiplied (row blocks of about 64–130 features against the columns from the
    block's diagonal on) and mirrored: about 60% of the flops of the full product, which measured
    9–30% faster on one CPU thread (d = 256 and 784 at N = 1000). The result is exactly
    symmetric; every entry is the same length-N dot product as in the full product."""
    n, d = x.shape
    if n < 512 or d < 256:
        return x.t() @ x
    k = min(6, d // 64)
    xt = x.t()
    g = torch.empty(d, d, dtype=x.dtype, device=x.device)
    edges = [round(i * d / k) for i in range(k + 1)]
    for a0, a1 in itertools.pairwise(edges):
        torch.mm(xt[a0:a1], x[:, a0:], out=g[a0:a1, a0:])  # straight into the block
        if a1 < d:
            g[a1:, a0:a1] = g[a0:a1, a1:].t()
    return g


@dataclass
class Neuron:
    """A hooked linear map: its parameters and the inputs captured since the last step.

    ``weight`` and ``bias`` are the module's parameters; ``rows`` (``bias_rows``) selects the
    rows of the weight (bias) that this neuron owns (one of the q, k, v blocks of ``nn.MultiheadAttention.in_proj_weight``),
    and ``key`` suffixes its state entries (``"mu" + key`` …) so that several blocks of one
    parameter keep separate moments. ``linear`` overrides the ``nn.Linear`` check for blocks
    whose module is not a ``Linear``.

    The metric is applied in two halves so that a caller can fuse them with its own updates:
    :meth:`jvp` gives ``J v`` (the module's forward with weights ``v``) per captured input,
    :meth:`vjp_add_` adds ``α·Jᵀu`` in place into a weight/bias-shaped pair and :meth:`vjp`
    returns ``Jᵀu`` as new tensors; :meth:`product` is the fused ``scale·JᵀJ v + ridge·V``.
    The captured inputs are converted to the compute layout once (:meth:`matrices`) and reused
    until :meth:`clear` or :meth:`drop_inputs`.
    """

    module: nn.Module
    name: str
    weight: Tensor
    bias: Tensor | None
    inputs: list[Tensor] = field(default_factory=list)
    rows: slice | None = None
    bias_rows: slice | None = None
    key: str = ""
    linear: bool | None = None
    done: int = 0  # leading inputs whose backward has run (see ``mark_done``)
    # filled per step by ``prepare``
    gram: Tensor | None = None
    xsum: Tensor | None = None
    gram_count: float = 0.0

    is_linear: bool = field(init=False, default=False)
    kind: str = field(init=False, default="moments")
    # per-step caches of the inputs in compute layout (see ``matrices`` / ``_conv_inputs``)
    _mats: list[Tensor] | None = field(init=False, default=None, repr=False)
    _conv_in: list[tuple[Tensor, list[int]]] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.is_linear = (
            isinstance(self.module, nn.Linear) if self.linear is None else bool(self.linear)
        )

    @property
    def w(self) -> Tensor:
        """The weight rows this neuron owns (the whole weight unless ``rows`` is set)."""
        return self.weight if self.rows is None else self.weight[self.rows]

    @property
    def b(self) -> Tensor | None:
        """The bias entries this neuron owns (``None`` without a bias)."""
        if self.bias is None or self.bias_rows is None:
            return self.bias
        return self.bias[self.bias_rows]

    def params(self) -> list[Tensor]:
        """The parameters this neuron preconditions (weight, then bias if any)."""
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def has_inputs(self) -> bool:
        """Whether an input was captured since the last clear."""
        return bool(self.inputs)

    @property
    def groups(self) -> int:
        return 1 if self.is_linear else int(self.module.groups)  # type: ignore[arg-type]

    @property
    def d_in(self) -> int:
        """Number of input features (channels for a convolution)."""
        if self.is_linear:
            return int(self.weight.shape[1])
        return int(self.weight.shape[1]) * self.groups

    def add_input(self, x: Tensor) -> None:
        """Record an input (all inputs since the last :meth:`clear` form the metric)."""
        self.inputs.append(x)
        self._mats = None
        self._conv_in = None

    def mark_done(self) -> None:
        """A backward reached the weight: every input captured so far has its gradient."""
        self.done = len(self.inputs)

    def forget_done(self) -> None:
        """Drop the inputs whose gradients were accumulated (``zero_grad`` discards those
        gradients); inputs of forwards whose backward has not run yet are kept."""
        if self.done:
            keep = self.inputs[self.done :]
            self.drop_inputs()
            self.inputs = keep
        self.done = 0

    # ------------------------------------------------------------------ geometry
    def _conv_geometry(self, x: Tensor) -> tuple[Tensor, list[int]]:
        """The input to convolve (explicitly padded for non-zero padding modes) and padding."""
        m = self.module
        assert isinstance(m, (nn.Conv1d, nn.Conv2d))
        nd = x.dim() - 2
        if m.padding_mode != "zeros":
            x = F.pad(x, m._reversed_padding_repeated_twice, mode=m.padding_mode)
            return x, [0] * nd
        if isinstance(m.padding, str):
            if m.padding == "valid":
                return x, [0] * nd
            # 'same' (stride 1): total padding d*(k-1), left = total // 2 like torch.
            pads: list[int] = []
            for d, k in zip(reversed(m.dilation), reversed(m.kernel_size), strict=True):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            if all(pads[2 * i] == pads[2 * i + 1] for i in range(nd)):
                return x, [pads[2 * (nd - 1 - i)] for i in range(nd)]
            return F.pad(x, pads), [0] * nd
        return x, list(m.padding)

    def _as_conv_batch(self, x: Tensor) -> Tensor:
        """Unbatched conv inputs (C, L...) get a batch dim."""
        nd = self.weight.dim() - 2
        return x.unsqueeze(0) if x.dim() == nd + 1 else x

    def matrices(self) -> list[Tensor]:
        """The captured inputs in the compute dtype: ``(N_i, d_in)`` rows for ``Linear``,
        batched ``(B, C, *spatial)`` (unpadded) for a convolution. Cached until cleared."""
        if self._mats is None:
            mats: list[Tensor] = []
            for x in self.inputs:
                dt = _compute_dtype(x.dtype)
                xm = x.reshape(-1, self.d_in) if self.is_linear else self._as_conv_batch(x)
                mats.append(xm if xm.dtype == dt else xm.to(dt))
            self._mats = mats
        return self._mats

    def _conv_inputs(self) -> list[tuple[Tensor, list[int]]]:
        """Per captured input of a convolution: the (padded) input to convolve and the padding."""
        if self._conv_in is None:
            self._conv_in = [self._conv_geometry(xb) for xb in self.matrices()]
        return self._conv_in

    def n_samples(self) -> int:
        """Local number of samples: rows for Linear, batch × output positions for conv."""
        total = 0
        if self.is_linear:
            for x in self.inputs:
                total += x.numel() // self.d_in
            return total
        m = self.module
        assert isinstance(m, (nn.Conv1d, nn.Conv2d))
        for xe, pad in self._conv_inputs():
            total += xe.shape[0] * conv_out_positions(
                tuple(xe.shape[2:]),
                tuple(m.kernel_size),
                tuple(m.stride),
                tuple(pad),
                tuple(m.dilation),
            )
        return total

    # ------------------------------------------------------------------ moments
    def moment_count(self) -> float:
        """Samples behind the input moments: rows (Linear) or batch × input positions (conv)."""
        return float(
            sum(
                x.numel() // (self.d_in if self.is_linear else self._in_channels(x))
                for x in self.inputs
            )
        )

    def _in_channels(self, x: Tensor) -> int:
        return int(self._as_conv_batch(x).shape[1])

    def moment_sums(self) -> tuple[Tensor, Tensor]:
        """Per input feature: Σx and Σx² over rows (Linear) or batch × positions (conv).

        Accumulated in float32 (float64 if the inputs are float64).
        """
        s1: Tensor | None = None
        s2: Tensor | None = None
        for xm in self.matrices():
            dims: int | list[int] = 0 if self.is_linear else [0, *range(2, xm.dim())]
            a = xm.sum(dims)
            b = xm.square().sum(dims)
            s1 = a if s1 is None else s1 + a
            s2 = b if s2 is None else s2 + b
        assert s1 is not None and s2 is not None
        return s1, s2

    def gram_sums(self) -> tuple[Tensor, Tensor]:
        """``Σ x xᵀ`` and ``Σ x`` over the captured rows of a Linear module (compute dtype)."""
        g: Tensor | None = None
        s: Tensor | None = None
        for x2 in self.matrices():
            gi = _gram(x2)
            si = x2.sum(0)
            g = gi if g is None else g + gi
            s = si if s is None else s + si
        assert g is not None and s is not None
        return g, s

    # ------------------------------------------------------------------ products
    def jvp(self, vw: Tensor, vb: Tensor | None) -> list[Tensor]:
        """``J v`` per captured input: the module's forward with weight ``vw`` and bias ``vb``.

        For ``Linear`` each output is transposed, ``(d_out, N_i)`` (the layout that makes the
        following ``Jᵀ`` a plain ``addmm``); for a convolution it is the convolution's output.
        Matrix-free only (not the Gram path).
        """
        if self.is_linear:
            if vb is None:
                return [torch.mm(vw, x.t()) for x in self.matrices()]
            vbc = vb.unsqueeze(1)
            return [torch.addmm(vbc, vw, x.t()) for x in self.matrices()]
        m = self.module
        assert isinstance(m, (nn.Conv1d, nn.Conv2d))
        conv = F.conv1d if isinstance(m, nn.Conv1d) else F.conv2d
        return [
            conv(xe, vw, vb, m.stride, pad, m.dilation, m.groups) for xe, pad in self._conv_inputs()
        ]

    @staticmethod
    def sq_norm(us: list[Tensor]) -> Tensor:
        """``Σ ‖u‖²`` over the outputs of :meth:`jvp` (so ``vᵀ Σx̃x̃ᵀ v`` for ``us = jvp(v)``)."""
        total: Tensor | None = None
        for u in us:
            uf = u.reshape(-1)
            d = torch.dot(uf, uf)
            total = d if total is None else total + d
        assert total is not None
        return total

    def _conv_vjp(
        self, u: Tensor, xe: Tensor, pad: list[int], vw: Tensor, bias: bool
    ) -> tuple[Tensor, Tensor | None]:
        m = self.module
        assert isinstance(m, (nn.Conv1d, nn.Conv2d))
        _, ow, ob = torch.ops.aten.convolution_backward(
            u,
            xe,
            vw,
            [u.shape[1]] if bias else None,
            list(m.stride),
            pad,
            list(m.dilation),
            False,
            [0] * (xe.dim() - 2),
            m.groups,
            [False, True, bias],
        )
        return ow, (ob if bias else None)

    def vjp_add_(self, us: list[Tensor], out_w: Tensor, out_b: Tensor | None, alpha: float) -> None:
        """``out += alpha · Jᵀu`` in place (``us`` from :meth:`jvp`; bias part if ``out_b``)."""
        if self.is_linear:
            for ut, x in zip(us, self.matrices(), strict=True):
                out_w.addmm_(ut, x, alpha=alpha)
                if out_b is not None:
                    out_b.add_(ut.sum(1), alpha=alpha)
            return
        for u, (xe, pad) in zip(us, self._conv_inputs(), strict=True):
            ow, ob = self._conv_vjp(u, xe, pad, out_w, out_b is not None)
            out_w.add_(ow, alpha=alpha)
            if out_b is not None and ob is not None:
                out_b.add_(ob, alpha=alpha)

    def vjp(
        self, us: list[Tensor], vw: Tensor, bias: bool, scale: float = 1.0
    ) -> tuple[Tensor, Tensor | None]:
        """``scale · Jᵀu`` as new tensors (``vw`` gives the weight's shape and dtype)."""
        out_w: Tensor | None = None
        out_b: Tensor | None = None
        if self.is_linear:
            for ut, x in zip(us, self.matrices(), strict=True):
                if out_w is None:
                    out_w = torch.mm(ut, x).mul_(scale) if scale != 1.0 else torch.mm(ut, x)
                else:
                    out_w.addmm_(ut, x, alpha=scale)
                if bias:
                    ob = ut.sum(1)
                    out_b = ob.mul_(scale) if out_b is None else out_b.add_(ob, alpha=scale)
        else:
            for u, (xe, pad) in zip(us, self._conv_inputs(), strict=True):
                ow, obc = self._conv_vjp(u, xe, pad, vw, bias)
                if scale != 1.0:
                    ow.mul_(scale)
                    if obc is not None:
                        obc.mul_(scale)
                out_w = ow if out_w is None else out_w.add_(ow)
                if obc is not None:
                    out_b = obc if out_b is None else out_b.add_(obc)
        assert out_w is not None
        return out_w, out_b

    def product(
        self,
        vw: Tensor,
        vb: Tensor | None,
        scale: float = 1.0,
        ridge: float = 0.0,
        out: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """``scale · Σ_samples x̃ x̃ᵀ v + ridge · (V, 0)`` on the captured inputs (fused).

        ``vw`` has the weight's shape, ``vb`` the bias's (or ``None`` without bias). With
        ``scale = 1/N`` this is ``(Â + γ I_w) v``; with ``scale = 1, ridge = 0`` the raw local sum
        (to be reduced across ranks first). Returns the weight part and the bias part (``None``
        without bias), in the compute dtype. Linear layers use one ``addmm`` for ``J v`` and one
        for ``Jᵀ(J v)``; convolutions use the convolution and ``aten.convolution_backward``.
        ``out`` (Gram path only; weight-shaped, compute dtype) receives the weight part, so that
        a caller can reuse one buffer across steps (no fresh weight-sized allocation, whose page
        faults cost more than the product's epilogue).
        """
        if self.gram is not None:
            assert self.xsum is not None
            if out is None or out.shape != vw.shape or out.dtype != vw.dtype:
                out = torch.empty_like(vw)
            if vb is None:
                out_w = torch.addmm(vw, vw, self.gram, beta=ridge, alpha=scale, out=out)
                return out_w, None
            # ridge·V + scale·v_b (Σx)ᵀ first, then the matmul accumulates into it (one pass over
            # the weight-sized output fewer than a separate rank-1 update after the matmul)
            out_w = torch.addr(vw, vb, self.xsum, beta=ridge, alpha=scale, out=out)
            out_w.addmm_(vw, self.gram, alpha=scale)
            out_b = torch.addmv(vb, vw, self.xsum, beta=scale * self.gram_count, alpha=scale)
            return out_w, out_b
        us = self.jvp(vw, vb)
        if self.is_linear:
            lin_w = torch.addmm(vw, us[0], self.matrices()[0], beta=ridge, alpha=scale)
            lin_b = None if vb is None else us[0].sum(1).mul_(scale)
            for ut, x in zip(us[1:], self.matrices()[1:], strict=True):
                lin_w.addmm_(ut, x, alpha=scale)
                if lin_b is not None:
                    lin_b.add_(ut.sum(1), alpha=scale)
            return lin_w, lin_b
        conv_w, conv_b = self.vjp(us, vw, vb is not None, scale)
        if ridge != 0.0:
            conv_w.add_(vw, alpha=ridge)
        return conv_w, conv_b

    def gram_is_cheaper(self, n_samples: float, n_products: int) -> bool:
        """Whether forming the Gram matrix beats ``n_products`` matrix-free products (Linear).

        Matrix-free products are costed as two matmuls each although the last CG product needs
        only ``J v`` (``vᵀÂv = ‖J v‖²/N``): the Gram path's large square matmuls run faster per
        flop, which measured at about the same (MLP 784-256-256-10 at batch 1000, ``cg_iters=2``).
        """
        if not self.is_linear or n_products <= 0:
            return False
        d = self.d_in
        out = int(self.w.shape[0])
        free = 2.0 * n_products * n_samples * d * out
        gram = n_samples * d * d + n_products * out * d * d
        return gram < free

    def drop_inputs(self) -> None:
        """Free the captured inputs (and their cached compute-layout copies)."""
        self.inputs = []
        self.done = 0
        self._mats = None
        self._conv_in = None

    def clear(self) -> None:
        """Free the captured inputs and per-step caches."""
        self.drop_inputs()
        self.gram = None
        self.xsum = None
        self.gram_count = 0.0


@dataclass
class EmbeddingNeuron(Neuron):
    """An ``nn.Embedding`` as a linear map of one-hot inputs (no bias).

    Looking up row ``i`` is ``y = Wᵀ e_i``, so the second moment of the (one-hot) inputs is
    diagonal: ``Â = diag(c)/N`` with ``c_i`` the number of lookups of token ``i`` among the
    ``N`` lookups since the last step (``padding_idx`` is a constant row, not a parameter of
    the map: its lookups are samples with ``x = 0``, counted in ``N`` only). In the weight's
    layout ``(num_embeddings, dim)`` the ridge system is solved exactly row by row:
    ``h_i = ḡ_i / (c_i/N + γ)``. The matrix-free halves use the equivalent factor
    ``J = diag(√c) ⊗ I``. ``inputs`` holds the index tensors.
    """

    _counts: Tensor | None = field(init=False, default=None, repr=False)
    _sqrt: Tensor | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.is_linear = False
        self.kind = "embedding"

    @property
    def d_in(self) -> int:
        return int(self.weight.shape[0])

    def add_input(self, x: Tensor) -> None:
        self.inputs.append(x)
        self._counts = None
        self._sqrt = None

    def counts(self) -> Tensor:
        """Local lookup counts per row (``padding_idx`` excluded), in the compute dtype."""
        if self._counts is None:
            dt = _compute_dtype(self.weight.dtype)
            c = torch.zeros(self.d_in, dtype=dt, device=self.weight.device)
            for idx in self.inputs:
                flat = idx.reshape(-1)
                c.index_add_(0, flat, torch.ones(flat.shape, dtype=dt, device=c.device))
            pad = getattr(self.module, "padding_idx", None)
            if pad is not None:
                c[pad] = 0.0
            self._counts = c
        return self._counts

    def _sq(self) -> Tensor:
        if self._sqrt is None:
            self._sqrt = self.counts().sqrt().unsqueeze(1)
        return self._sqrt

    def n_samples(self) -> int:
        return sum(int(idx.numel()) for idx in self.inputs)

    def moment_count(self) -> float:
        return float(self.n_samples())

    def diag_sums(self) -> list[Tensor]:
        """What the diagonal of ``N·Â`` is made of (to be summed across ranks): the counts."""
        return [self.counts()]

    def jacobi(
        self, sums: list[Tensor], n_total: float, ridge: float
    ) -> tuple[Tensor, Tensor | None]:
        """``(Â + γ I)⁻¹`` from the (reduced) counts: exact, the metric is diagonal."""
        return torch.reciprocal(sums[0].div(n_total).add_(ridge)).unsqueeze(1), None

    def jvp(self, vw: Tensor, vb: Tensor | None) -> list[Tensor]:
        return [vw * self._sq()]

    def vjp_add_(self, us: list[Tensor], out_w: Tensor, out_b: Tensor | None, alpha: float) -> None:
        out_w.addcmul_(us[0], self._sq(), value=alpha)

    def vjp(
        self, us: list[Tensor], vw: Tensor, bias: bool, scale: float = 1.0
    ) -> tuple[Tensor, Tensor | None]:
        out = us[0] * self._sq()
        return (out.mul_(scale) if scale != 1.0 else out), None

    def product(
        self,
        vw: Tensor,
        vb: Tensor | None,
        scale: float = 1.0,
        ridge: float = 0.0,
        out: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        return vw * (self.counts() * scale + ridge).unsqueeze(1), None

    def gram_is_cheaper(self, n_samples: float, n_products: int) -> bool:
        return False

    def drop_inputs(self) -> None:
        super().drop_inputs()
        self._counts = None
        self._sqrt = None


@dataclass
class TiedNeuron(Neuron):
    """One weight shared by several modules (an embedding tied to the output head).

    The metric of a parameter used by several modules is that of the union of their samples,
    each written in the parameter's own coordinates: ``Â = (Σ_m J_mᵀ J_m) / Σ_m N_m`` (what a
    module called twice in one forward gets too). Members are ``Linear`` and ``Embedding``
    neurons over the same weight; ``bias`` is the one bias of the members that have one (at
    most one distinct bias). The preconditioner is the Jacobi (diagonal) one,
    ``(diag Â + γ I_w)⁻¹``; the system is solved by the same CG as any neuron.
    """

    members: list[Neuron] = field(default_factory=list)
    _split: list[int] = field(init=False, default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.is_linear = False
        self.kind = "tied"

    def has_inputs(self) -> bool:
        return any(m.has_inputs() for m in self.members)

    def n_samples(self) -> int:
        return sum(m.n_samples() for m in self.members)

    def moment_count(self) -> float:
        return float(self.n_samples())

    def _active(self) -> list[Neuron]:
        return [m for m in self.members if m.has_inputs()]

    def diag_sums(self) -> list[Tensor]:
        """Per row (embedding lookups), per column (Σ x² of the Linear inputs) and the number
        of samples that see the bias: the diagonal of ``N·Â`` is ``row_i + col_j`` (``nb``)."""
        dt = _compute_dtype(self.weight.dtype)
        dev = self.weight.device
        rows = torch.zeros(self.weight.shape[0], dtype=dt, device=dev)
        cols = torch.zeros(self.weight.shape[1], dtype=dt, device=dev)
        nb = torch.zeros(1, dtype=dt, device=dev)
        for m in self._active():
            if isinstance(m, EmbeddingNeuron):
                rows += m.counts()
            else:
                for x in m.matrices():
                    cols += x.square().sum(0)
                    if m.bias is not None:
                        nb += x.shape[0]
        return [rows, cols, nb]

    def jacobi(
        self, sums: list[Tensor], n_total: float, ridge: float
    ) -> tuple[Tensor, Tensor | None]:
        rows, cols, nb = sums
        pw = torch.reciprocal((rows.unsqueeze(1) + cols.unsqueeze(0)).div_(n_total).add_(ridge))
        pb = None
        if self.bias is not None:
            pb = torch.full_like(rows[: self.bias.shape[0]], n_total / max(float(nb), 1.0))
        return pw, pb

    def jvp(self, vw: Tensor, vb: Tensor | None) -> list[Tensor]:
        out: list[Tensor] = []
        self._split = []
        for m in self._active():
            us = m.jvp(vw, vb if m.bias is not None else None)
            out += us
            self._split.append(len(us))
        return out

    def _chunks(self, us: list[Tensor]) -> list[tuple[Neuron, list[Tensor]]]:
        out: list[tuple[Neuron, list[Tensor]]] = []
        k = 0
        for m, n in zip(self._active(), self._split, strict=True):
            out.append((m, us[k : k + n]))
            k += n
        return out

    def vjp_add_(self, us: list[Tensor], out_w: Tensor, out_b: Tensor | None, alpha: float) -> None:
        for m, u in self._chunks(us):
            m.vjp_add_(u, out_w, out_b if m.bias is not None else None, alpha)

    def vjp(
        self, us: list[Tensor], vw: Tensor, bias: bool, scale: float = 1.0
    ) -> tuple[Tensor, Tensor | None]:
        out_w = torch.zeros_like(vw)
        out_b = None
        if bias and self.bias is not None:
            out_b = torch.zeros(self.bias.shape, dtype=vw.dtype, device=vw.device)
        self.vjp_add_(us, out_w, out_b, scale)
        return out_w, out_b

    def product(
        self,
        vw: Tensor,
        vb: Tensor | None,
        scale: float = 1.0,
        ridge: float = 0.0,
        out: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        us = self.jvp(vw, vb)
        out_w, out_b = self.vjp(us, vw, vb is not None, scale)
        if ridge != 0.0:
            out_w.add_(vw, alpha=ridge)
        return out_w, out_b

    def gram_is_cheaper(self, n_samples: float, n_products: int) -> bool:
        return False

    def drop_inputs(self) -> None:
        for m in self.members:
            m.drop_inputs()

    def forget_done(self) -> None:
        for m in self.members:
            m.forget_done()

    def clear(self) -> None:
        for m in self.members:
            m.clear()
        super().clear()
