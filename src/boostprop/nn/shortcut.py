"""Perceptrons with transformed nonlinearities and full shortcut connections.

Implements T. Raiko, H. Valpola, Y. LeCun, "Deep Learning Made Easier by Linear Transformations in
Perceptrons", AISTATS 2012, and its extension with the scale γ from T. Vatanen, T. Raiko,
H. Valpola, Y. LeCun, "Pushing Stochastic Gradient towards Second-Order Methods — Backpropagation
Learning with Transformations in Nonlinearities", ICONIP 2013 (arXiv:1301.3476).

Every layer reads every earlier layer (the input included)::

    x_m = b_m + Σ_{k<m} W_{m,k} y_k,        y_0 = input,
    y_l = γ_l ⊙ (tanh(x_l) + α_l ⊙ x_l + β_l)   (hidden layers),

and the last layer is linear.  :meth:`ShortcutMLP.update_transforms_` recomputes α, β (and γ) from a
batch so that each hidden unit has zero mean output and zero mean slope on that batch, and compensates
all later weights and biases so that the network function is unchanged for every input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

__all__ = [
    "GAMMA_RULES",
    "OUTPUTS",
    "TRANSFORMS",
    "ShortcutAutoencoder",
    "ShortcutMLP",
    "TransformedTanh",
]

TransformName = Literal["none", "alpha_beta", "alpha_beta_gamma"]
GammaName = Literal["balance", "unit_variance"]
OutputName = Literal["linear", "sigmoid"]

#: Accepted values of ``transforms``.
TRANSFORMS: tuple[str, ...] = ("none", "alpha_beta", "alpha_beta_gamma")
#: Accepted values of ``gamma`` (the two rules of the ICONIP 2013 code).
GAMMA_RULES: tuple[str, ...] = ("balance", "unit_variance")
#: Accepted values of ``output``.
OUTPUTS: tuple[str, ...] = ("linear", "sigmoid")

# Constants of the two γ rules in the authors' code.
_BALANCE_EPS = 1e-4
_UNIT_VARIANCE_EPS = 0.01


class TransformedTanh(nn.Module):
    """The hidden nonlinearity ``y = γ ⊙ (tanh(x) + α ⊙ x + β)`` with per-unit buffers α, β, γ.

    α, β and γ are buffers (saved in the ``state_dict``, never trained by backprop); they start at
    α = β = 0, γ = 1, i.e. a plain ``tanh``.

    Example:
        >>> f = TransformedTanh(3)
        >>> f(torch.zeros(2, 3)).shape
        torch.Size([2, 3])
    """

    alpha: Tensor
    beta: Tensor
    gamma: Tensor

    def __init__(self, features: int) -> None:
        super().__init__()
        self.features = int(features)
        self.register_buffer("alpha", torch.zeros(self.features))
        self.register_buffer("beta", torch.zeros(self.features))
        self.register_buffer("gamma", torch.ones(self.features))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the transformed tanh unit-wise to ``x`` of shape (N, features)."""
        y = torch.addcmul(torch.tanh(x), self.alpha, x) + self.beta
        return y * self.gamma

    def extra_repr(self) -> str:
        """The number of units, for ``repr``."""
        return f"features={self.features}"


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}")
    out: list[int] = []
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"sizes[{i}] must be an int, got {type(s).__name__} ({s!r})")
        if s <= 0:
            raise ValueError(f"sizes[{i}] must be a positive layer width, got {s}")
        out.append(int(s))
    if len(out) < 2:
        raise ValueError(
            f"sizes must have at least 2 entries [d_in, ..., d_out], got {list(sizes)!r}"
        )
    return tuple(out)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


class ShortcutMLP(nn.Module):
    """Multilayer perceptron with transformed tanh units and (optionally) full shortcuts.

    Args:
        sizes: layer widths ``[d_in, h_1, ..., h_{L-1}, d_out]`` (at least 2 entries, all positive).
        transforms: ``"none"`` (plain tanh, :meth:`update_transforms_` is a no-op),
            ``"alpha_beta"`` (Raiko et al. 2012) or ``"alpha_beta_gamma"`` (Vatanen et al. 2013).
        gamma: rule for γ when ``transforms="alpha_beta_gamma"``: ``"balance"`` (the authors' code
            default, γ = (mean(f̃²)·mean(f̃′²) + 1e-4)^(−1/4)) or ``"unit_variance"``
            (γ = (mean(f̃²) + 0.01)^(−1/2)).
        shortcuts: if True every layer reads every earlier layer (the input included); if False the
            network is a plain layered perceptron with the same transformed units (then the
            compensation in :meth:`update_transforms_` is only approximate, see there).
        output: ``"linear"`` (logits) or ``"sigmoid"`` (applied to the last layer).

    Inputs of shape (N, d_in) or (N, ...) (trailing dimensions are flattened, so (N, 1, 28, 28)
    images work for ``d_in = 784``); the output has shape (N, d_out).

    Parameters: every connection k → m (layer m reads layer k; layer 0 is the input, layer L the
    output) is an ``nn.Linear`` in ``links["m_k"]`` holding W_{m,k}; the adjacent connection
    m−1 → m also holds the bias b_m, the others have none.  Read them with :meth:`weight`,
    :meth:`bias`, :attr:`weights` and :attr:`biases`.  Because the connections are ``nn.Linear``
    modules, :class:`boostprop.optim.NeuronBoost` preconditions each one (the block-diagonal reading
    over the layer's sources documented in ``docs/transforms.md``).  Init as in the authors' code: biases U(±0.5),
    adjacent-layer weights Glorot-uniform, shortcut weights zero, α = β = 0, γ = 1.

    Example:
        >>> net = ShortcutMLP([784, 800, 800, 10], transforms="alpha_beta")
        >>> x = torch.randn(64, 1, 28, 28)
        >>> net.update_transforms_(x)
        >>> net(x).shape
        torch.Size([64, 10])
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        transforms: TransformName | str = "alpha_beta",
        gamma: GammaName | str = "balance",
        shortcuts: bool = True,
        output: OutputName | str = "linear",
    ) -> None:
        super().__init__()
        self.sizes: tuple[int, ...] = _check_sizes(sizes)
        self.transforms: str = _check_choice("transforms", transforms, TRANSFORMS)
        self.gamma_rule: str = _check_choice("gamma", gamma, GAMMA_RULES)
        self.output: str = _check_choice("output", output, OUTPUTS)
        if not isinstance(shortcuts, bool):
            raise TypeError(f"shortcuts must be a bool, got {type(shortcuts).__name__}")
        self.shortcuts = shortcuts
        n_layers = len(self.sizes) - 1
        self.n_layers = n_layers
        connections = [
            (m, k) for m in range(1, n_layers + 1) for k in range(m) if self._keeps(m, k)
        ]
        self._build(connections)

    # ----------------------------------------------------------------------------- structure
    def _keeps(self, m: int, k: int) -> bool:
        """Whether layer m reads layer k (k < m)."""
        return self.shortcuts or k == m - 1

    def _build(self, connections: list[tuple[int, int]]) -> None:
        n_layers = self.n_layers
        self.connections: tuple[tuple[int, int], ...] = tuple(connections)
        self._sources: dict[int, list[int]] = {m: [] for m in range(1, n_layers + 1)}
        self._readers: dict[int, list[int]] = {k: [] for k in range(n_layers)}
        for m, k in self.connections:
            self._sources[m].append(k)
            self._readers[k].append(m)
        for m in range(1, n_layers + 1):
            if m - 1 not in self._sources[m]:
                raise ValueError(f"layer {m} must read the adjacent layer {m - 1}")
        # skip_init: no default initialisation (it would draw from the RNG); ours follows below.
        self.links = nn.ModuleDict(
            {
                self._key(m, k): skip_init(nn.Linear, self.sizes[k], self.sizes[m], bias=k == m - 1)
                for m, k in self.connections
            }
        )
        self.units = nn.ModuleList([TransformedTanh(h) for h in self.sizes[1:-1]])
        self.reset_parameters()

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        """Also read checkpoints written before the connections were ``nn.Linear`` modules
        (keys ``weights.m_k`` and ``biases.i``)."""
        for key in [
            k for k in state_dict if k.startswith((prefix + "weights.", prefix + "biases."))
        ]:
            kind, _, index = key[len(prefix) :].partition(".")
            if kind == "weights":
                new = f"links.{index}.weight"
            else:
                m = int(index) + 1
                new = f"links.{self._key(m, m - 1)}.bias"
            state_dict[prefix + new] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args)

    @staticmethod
    def _key(m: int, k: int) -> str:
        return f"{m}_{k}"

    def _link(self, m: int, k: int) -> nn.Linear:
        link = self.links[self._key(m, k)]
        assert isinstance(link, nn.Linear)
        return link

    @property
    def weights(self) -> dict[str, nn.Parameter]:
        """Every connection's weight by key ``"m_k"`` (W_{m,k}; a read-only view of the links)."""
        return {key: link.weight for key, link in self.links.items()}  # type: ignore[misc]

    @property
    def biases(self) -> list[nn.Parameter]:
        """The biases ``[b_1, ..., b_L]`` (each held by the adjacent connection's ``nn.Linear``)."""
        out = []
        for m in range(1, self.n_layers + 1):
            b = self._link(m, m - 1).bias
            assert isinstance(b, nn.Parameter)
            out.append(b)
        return out

    def weight(self, m: int, k: int) -> nn.Parameter:
        """The weight W_{m,k} from layer k to layer m (layer 0 = input, layer L = output).

        Example:
            >>> ShortcutMLP([4, 3, 2]).weight(2, 0).shape
            torch.Size([2, 4])
        """
        if self._key(m, k) not in self.links:
            raise KeyError(f"no connection from layer {k} to layer {m} in this network")
        w = self._link(m, k).weight
        assert isinstance(w, nn.Parameter)
        return w

    def bias(self, m: int) -> nn.Parameter:
        """The bias b_m of layer m (1 ≤ m ≤ L)."""
        if not 1 <= m <= self.n_layers:
            raise KeyError(f"layer index must be in [1, {self.n_layers}], got {m}")
        return self.biases[m - 1]

    @property
    def exact_compensation(self) -> bool:
        """True when :meth:`update_transforms_` preserves the network function exactly.

        That needs W_{m,k} whenever W_{m,l} and W_{l,k} exist (k < l < m), which full shortcuts give.
        """
        present = set(self.connections)
        return all(
            (m, k) in present
            for (m, l_) in self.connections
            for k in self._sources.get(l_, [])
            if 0 < l_ < self.n_layers
        )

    def skip_count(self, m: int, k: int) -> int:
        """How many extra layers the connection k → m skips (0 for adjacent layers)."""
        return m - k - 1

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Biases U(±0.5), adjacent-layer weights Glorot-uniform, shortcuts zero, α = β = 0, γ = 1."""
        for m, k in self.connections:
            w = self.weight(m, k)
            if k == m - 1:
                bound = math.sqrt(6.0 / (self.sizes[k] + self.sizes[m]))
                w.uniform_(-bound, bound)
            else:
                w.zero_()
        for b in self.biases:
            b.uniform_(-0.5, 0.5)
        for unit in self.units:
            assert isinstance(unit, TransformedTanh)
            unit.alpha.zero_()
            unit.beta.zero_()
            unit.gamma.fill_(1.0)

    # ------------------------------------------------------------------------------- forward
    def _flatten_input(self, x: Tensor, name: str = "x") -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() < 2:
            raise ValueError(
                f"{name} must have shape (N, {self.sizes[0]}) or (N, ...), got {tuple(x.shape)}"
            )
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.sizes[0]:
            raise ValueError(
                f"{name} must have {self.sizes[0]} features per sample (shape (N, {self.sizes[0]}) "
                f"or (N, ...) flattening to it), got shape {tuple(x.shape)}"
            )
        return flat

    def _unit(self, layer: int) -> TransformedTanh:
        unit = self.units[layer - 1]
        assert isinstance(unit, TransformedTanh)
        return unit

    def _preactivation(self, m: int, ys: list[Tensor]) -> Tensor:
        """x_m = b_m + Σ_k W_{m,k} y_k, calling each connection's module (so hooks see y_k)."""
        acc: Tensor = self.links[self._key(m, m - 1)](ys[m - 1])
        for k in self._sources[m]:
            if k != m - 1:
                acc = acc + self.links[self._key(m, k)](ys[k])
        return acc

    def forward(self, x: Tensor) -> Tensor:
        """Network output of shape (N, d_out) for ``x`` of shape (N, d_in) or (N, ...)."""
        ys = [self._flatten_input(x)]
        out = ys[0]
        for m in range(1, self.n_layers + 1):
            acc = self._preactivation(m, ys)
            if m < self.n_layers:
                ys.append(torch.tanh(acc) if self.transforms == "none" else self._unit(m)(acc))
            else:
                out = acc
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def hidden_preactivations(self, x: Tensor) -> list[Tensor]:
        """The pre-activations x_1, ..., x_{L-1} of the hidden layers for input ``x`` (no grad).

        Example:
            >>> [t.shape for t in ShortcutMLP([4, 3, 2]).hidden_preactivations(torch.randn(5, 4))]
            [torch.Size([5, 3])]
        """
        with torch.no_grad():
            ys = [self._flatten_input(x)]
            pre: list[Tensor] = []
            for m in range(1, self.n_layers):
                acc = self._preactivation(m, ys)
                pre.append(acc)
                ys.append(self._unit(m)(acc))
        return pre

    # ------------------------------------------------------------------ transformation update
    @torch.no_grad()
    def update_transforms_(
        self, x: Tensor, *, process_group: torch.distributed.ProcessGroup | None = None
    ) -> None:
        """Recompute α, β (and γ) from the batch ``x`` and compensate all later weights and biases.

        Layer by layer (l = 1, ..., L−1), with the statistics over the batch accumulated in float64:

        - α ← −mean(tanh′(x_l)),  β ← −mean(tanh(x_l) + α·x_l);
        - with ``transforms="alpha_beta_gamma"``, for f̃ = tanh + αx + β: γ ← (mean(f̃²)·mean(f̃′²) +
          1e-4)^(−1/4) (``"balance"``) or γ ← (mean(f̃²) + 0.01)^(−1/2) (``"unit_variance"``);
        - for every later layer m reading l, with Δα = α_old − α_new, Δβ = β_old − β_new:
          b_m += W_{m,l}(γ_old⊙Δα⊙b_l + γ_old⊙Δβ), W_{m,k} += W_{m,l} diag(γ_old⊙Δα) W_{l,k}
          (k < l), then W_{m,l} ← W_{m,l} diag(γ_old/γ_new).

        The compensation is done in float64 and cast back to the parameters' dtype; with full
        shortcuts it leaves the network function unchanged for every input (to round-off).  Where a
        needed W_{m,k} does not exist (``shortcuts=False``, or the autoencoder's removed shortcuts)
        that term is dropped and the function changes slightly (see :attr:`exact_compensation`).
        The next layer's pre-activations are recomputed with the updated parameters.

        With ``torch.distributed`` initialised, the per-unit sums and the sample count are
        all-reduced over ``process_group`` (default: the world), so every rank gets the statistics of
        the concatenated batches and identical parameters.  Every rank must call this together.
        Optimizer state (e.g. momentum buffers) is not transformed.

        Args:
            x: a batch of shape (N, d_in) or (N, ...) with N ≥ 2 (over all ranks when distributed);
                it is cast to the parameters' dtype for the forward matmuls.
            process_group: the group to average over when distributed.

        Example:
            >>> net = ShortcutMLP([5, 4, 3], transforms="alpha_beta").double()
            >>> xb, xt = torch.randn(32, 5, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
            >>> before = net(xt)
            >>> net.update_transforms_(xb)
            >>> bool(torch.allclose(before, net(xt), atol=1e-12))
            True
        """
        flat = self._flatten_input(x)
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        if not distributed and flat.shape[0] < 2:
            raise ValueError(
                f"x must hold at least 2 samples to compute the statistics, got {flat.shape[0]}"
            )
        if self.transforms == "none":
            return
        use_gamma = self.transforms == "alpha_beta_gamma"
        p_dtype = self.biases[0].dtype
        f64 = torch.float64

        w64 = {key: w.detach().to(f64).clone() for key, w in self.weights.items()}
        b64 = [b.detach().to(f64).clone() for b in self.biases]
        ys: list[Tensor] = [flat.to(p_dtype)]

        def all_reduce_(t: Tensor) -> Tensor:
            if distributed:
                torch.distributed.all_reduce(
                    t, op=torch.distributed.ReduceOp.SUM, group=process_group
                )
            return t

        for layer in range(1, self.n_layers):
            # pre-activation x_l with the current (already compensated) parameters
            acc = b64[layer - 1].to(p_dtype)
            for k in self._sources[layer]:
                acc = torch.addmm(acc, ys[k], w64[self._key(layer, k)].to(p_dtype).t())
            z = acc.to(f64)
            t = torch.tanh(z)
            # per-unit sums over the batch: Σ tanh′ = N − Σ t², Σ t, Σ x (float64 reductions)
            sums = torch.stack(
                [
                    torch.linalg.vector_norm(t, dim=0).square(),
                    t.sum(0),
                    z.sum(0),
                    torch.full_like(t[0], float(z.shape[0])),
                ]
            )
            sums = all_reduce_(sums)
            n = sums[3, 0]
            if n < 2:
                raise ValueError(
                    f"x must hold at least 2 samples over all ranks to compute the statistics, "
                    f"got {int(n.item())}"
                )
            alpha_new = -(n - sums[0]) / n
            beta_new = -(sums[1] / n + alpha_new * sums[2] / n)
            f_tilde = torch.addcmul(t, alpha_new, z).add_(beta_new)  # f̃ = tanh + αx + β
            del z
            unit = self._unit(layer)
            gamma_old = unit.gamma.to(f64)
            if use_gamma:
                d_tilde = (t * t).sub_(1.0 + alpha_new)  # −f̃′ = t² − (1 + α)
                sq = torch.stack(
                    [
                        torch.linalg.vector_norm(f_tilde, dim=0).square(),
                        torch.linalg.vector_norm(d_tilde, dim=0).square(),
                    ]
                )
                del d_tilde
                sq = all_reduce_(sq)
                if self.gamma_rule == "balance":
                    gamma_new = ((sq[0] / n) * (sq[1] / n) + _BALANCE_EPS) ** -0.25
                else:
                    gamma_new = (sq[0] / n + _UNIT_VARIANCE_EPS) ** -0.5
            else:
                gamma_new = gamma_old
            del t
            c_alpha = gamma_old * (unit.alpha.to(f64) - alpha_new)
            c_beta = gamma_old * (unit.beta.to(f64) - beta_new)
            shift = c_alpha * b64[layer - 1] + c_beta
            ratio = gamma_old / gamma_new
            for m in self._readers[layer]:
                w_ml = w64[self._key(m, layer)]
                b64[m - 1] += w_ml @ shift
                scaled = w_ml * c_alpha
                for k in self._sources[layer]:
                    key_mk = self._key(m, k)
                    if key_mk in w64:
                        w64[key_mk] += scaled @ w64[self._key(layer, k)]
                w64[self._key(m, layer)] = w_ml * ratio
            unit.alpha.copy_(alpha_new)
            unit.beta.copy_(beta_new)
            unit.gamma.copy_(gamma_new)
            if layer < self.n_layers - 1:  # the next hidden layer's input
                ys.append(f_tilde.mul_(gamma_new).to(p_dtype))

        for key, w in self.weights.items():
            w.copy_(w64[key])
        for b, b_new in zip(self.biases, b64, strict=True):
            b.copy_(b_new)

    def extra_repr(self) -> str:
        """Sizes, transformations, γ rule, shortcuts and output, for ``repr``."""
        return (
            f"sizes={list(self.sizes)}, transforms={self.transforms!r}, gamma={self.gamma_rule!r}, "
            f"shortcuts={self.shortcuts}, output={self.output!r}"
        )


class ShortcutAutoencoder(ShortcutMLP):
    """Autoencoder variant of :class:`ShortcutMLP`: shortcuts that skip over the bottleneck are removed.

    A connection k → m is removed when k < b < m, b being the bottleneck layer, so the code layer is
    the only path from the encoder to the decoder.  All other shortcuts are kept.

    :meth:`update_transforms_` compensates with the connections that exist; it is exact for every
    layer except the bottleneck, where the term W_{m,b} diag(γΔα) W_{b,k} y_k (k < b < m) would need
    a removed shortcut and is dropped: the update there is **approximate** (the mean-output part,
    Δβ, and the bias part of Δα are still compensated exactly).

    Args:
        sizes: e.g. ``[784, 500, 250, 30, 250, 500, 784]``; at least one hidden layer.
        bottleneck: index of the bottleneck layer in ``sizes`` (1 ≤ bottleneck ≤ len(sizes) − 2);
            default: the narrowest hidden layer (the first one if tied).
        transforms, gamma, output: as in :class:`ShortcutMLP` (``output="sigmoid"`` gives
            reconstructions in (0, 1)).

    Example:
        >>> ae = ShortcutAutoencoder([784, 500, 250, 30, 250, 500, 784])
        >>> ae.bottleneck, (6, 0) in ae.connections, (3, 0) in ae.connections
        (3, False, True)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        bottleneck: int | None = None,
        transforms: TransformName | str = "alpha_beta",
        gamma: GammaName | str = "balance",
        output: OutputName | str = "linear",
    ) -> None:
        checked = _check_sizes(sizes)
        if len(checked) < 3:
            raise ValueError(
                f"sizes must have at least one hidden layer for an autoencoder, got {list(sizes)!r}"
            )
        if bottleneck is None:
            hidden = checked[1:-1]
            bottleneck = 1 + hidden.index(min(hidden))
        elif isinstance(bottleneck, bool) or not isinstance(bottleneck, int):
            raise TypeError(f"bottleneck must be an int, got {type(bottleneck).__name__}")
        elif not 1 <= bottleneck <= len(checked) - 2:
            raise ValueError(
                f"bottleneck must index a hidden layer, 1 ≤ bottleneck ≤ {len(checked) - 2}, "
                f"got {bottleneck}"
            )
        self.bottleneck = bottleneck
        super().__init__(checked, transforms=transforms, gamma=gamma, shortcuts=True, output=output)

    def _keeps(self, m: int, k: int) -> bool:
        return not (k < self.bottleneck < m)

    def extra_repr(self) -> str:
        """The network's ``repr`` fields and the bottleneck layer."""
        return super().extra_repr() + f", bottleneck={self.bottleneck}"
