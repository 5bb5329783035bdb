"""Models of the practitioners' workloads (issue 14): ResNet, ViT, U-Net, a character-level
transformer language model, low-rank matrix factorisation and a deep autoencoder.

Small, CPU-sized versions of well-known architectures, so that every technique of boostprop runs
on a workload a practitioner recognises:

- :class:`ResNet`: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition"
  (CVPR 2016), the CIFAR variant (3×3 stem, basic blocks, projection shortcuts, BatchNorm).
- :class:`ViT`: Dosovitskiy et al., "An Image is Worth 16x16 Words" (ICLR 2021), pre-norm blocks.
- :class:`UNet`: Ronneberger, Fischer and Brox, "U-Net" (MICCAI 2015), two levels, "same" padding.
- :class:`CharTransformer`: a decoder-only causal transformer (Radford et al. 2019, GPT-2 layout:
  pre-norm, learned positions, final LayerNorm, optionally tied head) over bytes or characters.
- :class:`MatrixFactorization`: low-rank completion ``u_row · v_col + biases`` (Koren, Bell and
  Volinsky 2009), the matrix-factorisation workload of Munoz 2025 (arXiv:2502.01131).
- :class:`Autoencoder`: the plain deep tanh autoencoder of Hinton and Salakhutdinov (2006) and
  Raiko, Valpola and LeCun (2012), the baseline of :class:`boostprop.nn.ShortcutAutoencoder`.

Every model is made of torch modules that :class:`boostprop.optim.NeuronBoost` preconditions
(``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding``, ``nn.MultiheadAttention``); norm layers and bare
parameters (position embeddings, the class token, the global bias) get its identity metric. The
U-Net therefore upsamples with ``nn.Upsample`` followed by a convolution rather than with
``nn.ConvTranspose2d``, which NeuronBoost does not precondition.

Every factory has the registry signature ``factory(input_shape, n_classes, *, keyword=default,
...)`` (registered in :data:`boostprop.models.MODELS`; every keyword with its default is part of a
run's identity, see :mod:`boostprop.bench.components`). Inputs → outputs:

- ``resnet``, ``vit``: images (N, C, H, W) → logits (N, n_classes).
- ``unet``: images (N, C, H, W) → per-pixel logits (N, n_classes, H, W).
- ``char_transformer``: int64 token ids (N, T) → next-token logits (N, n_classes, T).
- ``matrix_factorization``: int64 (row, column) pairs (N, 2) → predicted entries (N, 1).
- ``autoencoder``: (N, ...) → reconstruction (N, prod(input_shape)).

The ``(N, C, T)`` and ``(N, C, H, W)`` layouts are those of ``torch.nn.functional.cross_entropy``
(and of every loss of :mod:`boostprop.losses`): class scores on dimension 1.

Example:
    >>> import torch
    >>> lm = char_transformer((16,), 256, width=32, depth=1, heads=2)
    >>> lm(torch.zeros(3, 16, dtype=torch.long)).shape
    torch.Size([3, 256, 16])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "ZOO",
    "Autoencoder",
    "BasicBlock",
    "CharTransformer",
    "MatrixFactorization",
    "ResNet",
    "UNet",
    "ViT",
    "autoencoder",
    "char_transformer",
    "matrix_factorization",
    "resnet",
    "unet",
    "vit",
]

TRANSFORMER_ACTIVATIONS = ("relu", "gelu")


# ------------------------------------------------------------------------------ validation
def _positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def _positives(name: str, value: object, *, length: int | None = None) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(
            f"{name}: expected a non-empty sequence of positive integers, got {value!r}"
        )
    out = tuple(_positive(name, v) for v in value)
    if length is not None and len(out) != length:
        raise ValueError(f"{name}: expected {length} entries, got {len(out)} ({list(out)})")
    return out


def _choice(name: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected a bool, got {value!r}")
    return value


def _image_shape(model: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(
            f"input_shape: {model} expects images (channels, height, width), got {shape}"
        )
    return shape[0], shape[1], shape[2]


def _check_images(x: torch.Tensor, channels: int, model: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(
            f"x: {model} expects images of shape (N, {channels}, H, W), got {tuple(x.shape)}"
        )


def _feedforward(name: str, mlp_ratio: object, width: int) -> int:
    """``mlp_ratio · width`` as a positive integer (the feed-forward width)."""
    if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
        raise ValueError(f"{name}: expected a positive number, got {mlp_ratio!r}")
    ff = mlp_ratio * width
    if not float(ff).is_integer():
        raise ValueError(
            f"{name}: mlp_ratio · width must be a whole number of units, got {mlp_ratio} · "
            f"{width} = {ff}"
        )
    return int(ff)


def _encoder_layer(width: int, heads: int, mlp_ratio: object, activation: str) -> nn.Module:
    """One pre-norm transformer block (torch modules, so NeuronBoost sees q, k, v, out_proj)."""
    _positive("width", width)
    _positive("heads", heads)
    if width % heads:
        raise ValueError(f"heads: must divide width {width}, got {heads}")
    return nn.TransformerEncoderLayer(
        d_model=width,
        nhead=heads,
        dim_feedforward=_feedforward("mlp_ratio", mlp_ratio, width),
        dropout=0.0,
        activation=_choice("activation", activation, TRANSFORMER_ACTIVATIONS),
        batch_first=True,
        norm_first=True,
    )


# -------------------------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    """The ResNet basic block: ``relu(bn(conv3×3(relu(bn(conv3×3(x))))) + shortcut(x))``.

    The shortcut is the identity, or a strided 1×1 convolution with BatchNorm (He et al.'s
    option B) where the block changes the width or the resolution.

    Example:
        >>> BasicBlock(8, 16, stride=2)(torch.zeros(2, 8, 14, 14)).shape
        torch.Size([2, 16, 7, 7])
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("out_channels", out_channels)
        _positive("stride", stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output (N, out_channels, ⌈H/stride⌉, ⌈W/stride⌉)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet (He et al. 2016, CIFAR layout) for images (N, C, H, W).

    A 3×3 stem convolution to ``widths[0]`` channels with BatchNorm and ReLU, then one stage per
    entry of ``widths`` with ``blocks[i]`` :class:`BasicBlock` s (every stage after the first
    halves the resolution in its first block), global average pooling and a linear head. The
    convolutions have no bias (BatchNorm follows each); they are initialised as in torchvision
    (Kaiming-normal, fan-out), BatchNorm with weight 1 and bias 0, the head as ``nn.Linear``.

    Args:
        in_channels: input channels (1 for Fashion-MNIST).
        n_classes: outputs of the head.
        widths: channels of each stage; default (16, 32, 64): 28×28 → 28, 14, 7.
        blocks: basic blocks per stage (same length as ``widths``); default one each.

    Example:
        >>> ResNet(1, 10)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        *,
        widths: Sequence[int] = (16, 32, 64),
        blocks: Sequence[int] = (1, 1, 1),
    ) -> None:
        super().__init__()
        self.in_channels = _positive("in_channels", in_channels)
        _positive("n_classes", n_classes)
        ws = _positives("widths", widths)
        bs = _positives("blocks", blocks, length=len(ws))
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, ws[0], 3, 1, 1, bias=False), nn.BatchNorm2d(ws[0]), nn.ReLU()
        )
        stages: list[nn.Module] = []
        c = ws[0]
        for i, (w, n) in enumerate(zip(ws, bs, strict=True)):
            layers = [BasicBlock(c, w, stride=1 if i == 0 else 2)]
            layers += [BasicBlock(w, w) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            c = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) for images (N, in_channels, H, W)."""
        _check_images(x, self.in_channels, "ResNet")
        return self.head(self.pool(self.stages(self.stem(x))).flatten(1))


def resnet(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    widths: Sequence[int] = (16, 32, 64),
    blocks: Sequence[int] = (1, 1, 1),
) -> ResNet:
    """The registry's ``resnet``: a :class:`ResNet` for images of ``input_shape`` (C, H, W).

    Example:
        >>> sum(p.numel() for p in resnet((1, 28, 28), 10).parameters())
        77754
    """
    channels, _, _ = _image_shape("resnet", input_shape)
    return ResNet(channels, n_classes, widths=widths, blocks=blocks)


# ----------------------------------------------------------------------------------- ViT
class ViT(nn.Module):
    """A small Vision Transformer (Dosovitskiy et al. 2021) for images (N, C, H, W).

    Non-overlapping ``patch × patch`` patches, flattened channel-major (C, p, p), are embedded by
    an ``nn.Linear`` (the same map as a ``Conv2d`` with kernel and stride ``patch``); learned
    position embeddings (N(0, 0.02²)) are added; ``depth`` pre-norm
    ``nn.TransformerEncoderLayer`` blocks (no dropout), a final LayerNorm, then the mean over
    tokens (``pool="mean"``) or a class token (``pool="cls"``, initialised to zero) and a linear
    head. The defaults are the issue-15 benchmark's ViT (7×7 patches → 16 tokens, width 128,
    4 blocks of 4 heads, feed-forward 256, ReLU, mean pooling).

    Args:
        image_shape: (channels, height, width); height and width divisible by ``patch``.
        n_classes: outputs of the head.
        patch: patch side.
        width: token width (``d_model``).
        depth: transformer blocks.
        heads: attention heads (must divide ``width``).
        mlp_ratio: feed-forward width / ``width`` (``mlp_ratio · width`` must be whole).
        pool: ``"mean"`` or ``"cls"``.
        activation: feed-forward nonlinearity, ``"relu"`` or ``"gelu"``.

    Example:
        >>> ViT((1, 28, 28), 10, width=32, depth=1, heads=2)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        n_classes: int,
        *,
        patch: int = 7,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2,
        pool: str = "mean",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        c, h, w = _image_shape("ViT", image_shape)
        _positive("n_classes", n_classes)
        self.patch = _positive("patch", patch)
        _positive("width", width)
        _positive("depth", depth)
        if h % patch or w % patch:
            raise ValueError(f"patch: must divide the image height and width {(h, w)}, got {patch}")
        self.image_shape = (c, h, w)
        self.pool = _choice("pool", pool, ("mean", "cls"))
        self.n_patches = (h // patch) * (w // patch)
        self.embed = nn.Linear(c * patch * patch, width)
        self.cls: nn.Parameter | None = None
        if pool == "cls":
            self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.randn(1, self.n_patches + (pool == "cls"), width) * 0.02)
        self.blocks = nn.ModuleList(
            [_encoder_layer(width, heads, mlp_ratio, activation) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_classes)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) as flattened patches (N, tokens, C·patch²), row-major over the
        patch grid.

        Example:
            >>> ViT((1, 4, 4), 2, patch=2, width=4, depth=1, heads=1).patches(
            ...     torch.arange(16.0).view(1, 1, 4, 4))[0, 1]
            tensor([2., 3., 6., 7.])
        """
        _check_images(x, self.image_shape[0], "ViT")
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"x: ViT expects images of shape (N, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}"
            )
        p = self.patch
        grid = x.unfold(2, p, p).unfold(3, p, p)  # (N, C, H/p, W/p, p, p)
        return grid.permute(0, 2, 3, 1, 4, 5).reshape(x.shape[0], self.n_patches, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) for images (N, C, H, W) of ``image_shape``."""
        h = self.embed(self.patches(x))
        if self.cls is not None:
            h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1)
        h = h + self.pos
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        return self.head(h[:, 0] if self.cls is not None else h.mean(1))


def vit(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    patch: int = 7,
    width: int = 128,
    depth: int = 4,
    heads: int = 4,
    mlp_ratio: float = 2,
    pool: str = "mean",
    activation: str = "relu",
) -> ViT:
    """The registry's ``vit``: a :class:`ViT` for images of ``input_shape`` (C, H, W).

    Example:
        >>> sum(p.numel() for p in vit((1, 28, 28), 10).parameters())
        539914
    """
    return ViT(
        input_shape,
        n_classes,
        patch=patch,
        width=width,
        depth=depth,
        heads=heads,
        mlp_ratio=mlp_ratio,
        pool=pool,
        activation=activation,
    )


# ---------------------------------------------------------------------------------- U-Net
def _conv_block(c_in: int, c_out: int, batch_norm: bool) -> nn.Sequential:
    """(conv 3×3 → [BatchNorm] → ReLU) × 2, "same" padding; no conv bias before a BatchNorm."""
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(b))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015) for per-pixel classification of (N, C, H, W).

    ``levels`` times: a double 3×3 convolution block, then 2×2 max pooling (channels
    ``width · 2^i``); a bottleneck block; then back up, ``levels`` times: nearest-neighbour
    upsampling ×2 and a 3×3 convolution halving the channels (the "up-convolution"), concatenation
    with the encoder's feature map at that resolution (the skip connection) and a double block;
    finally a 1×1 convolution to ``n_classes``. Padding keeps the resolution, so the output has
    the input's H × W (both must be divisible by ``2^levels``: 28 allows ``levels ≤ 2``).

    Args:
        in_channels: input channels.
        n_classes: classes per pixel.
        width: channels of the first level (doubling at every level down).
        levels: down/up levels.
        batch_norm: BatchNorm after every convolution of the double blocks.

    Example:
        >>> UNet(1, 11, width=4)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 11, 28, 28])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        *,
        width: int = 16,
        levels: int = 2,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = _positive("in_channels", in_channels)
        _positive("n_classes", n_classes)
        _positive("width", width)
        self.levels = _positive("levels", levels)
        _flag("batch_norm", batch_norm)
        chans = [width * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList(
            [
                _conv_block(in_channels if i == 0 else chans[i - 1], chans[i], batch_norm)
                for i in range(levels + 1)
            ]
        )
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(chans[i], chans[i - 1], 3, padding=1),
                )
                for i in range(levels, 0, -1)
            ]
        )
        self.decode = nn.ModuleList(
            [_conv_block(chans[i], chans[i - 1], batch_norm) for i in range(levels, 0, -1)]
        )
        self.head = nn.Conv2d(chans[0], n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits (N, n_classes, H, W) for images (N, in_channels, H, W)."""
        _check_images(x, self.in_channels, "UNet")
        k = 2**self.levels
        if x.shape[2] % k or x.shape[3] % k:
            raise ValueError(
                f"x: UNet with {self.levels} levels needs H and W divisible by {k}, got "
                f"{tuple(x.shape)}"
            )
        skips = []
        h = x
        for i, block in enumerate(self.down):
            h = block(h)
            if i < self.levels:
                skips.append(h)
                h = self.pool(h)
        for up, block in zip(self.up, self.decode, strict=True):
            h = block(torch.cat([skips.pop(), up(h)], dim=1))
        return self.head(h)


def unet(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    width: int = 16,
    levels: int = 2,
    batch_norm: bool = True,
) -> UNet:
    """The registry's ``unet``: a :class:`UNet` for images of ``input_shape`` (C, H, W).

    Example:
        >>> sum(p.numel() for p in unet((1, 28, 28), 11).parameters())
        130043
    """
    c, h, w = _image_shape("unet", input_shape)
    k = 2 ** _positive("levels", levels)
    if h % k or w % k:
        raise ValueError(
            f"levels: {levels} levels need height and width divisible by {k}, got input_shape "
            f"{tuple(input_shape)}"
        )
    return UNet(c, n_classes, width=width, levels=levels, batch_norm=batch_norm)


# ------------------------------------------------------------------------ char transformer
class CharTransformer(nn.Module):
    """A causal transformer language model over bytes or characters (GPT-2 layout, small).

    Token embedding (``nn.Embedding``, N(0, 0.02²)) plus learned position embedding
    (N(0, 0.02²)), ``depth`` pre-norm ``nn.TransformerEncoderLayer`` blocks with a causal mask
    (no dropout), a final LayerNorm and a linear head to the vocabulary; with ``tie_weights`` the
    head's weight is the embedding matrix (the head keeps its own bias).

    Input: token ids (N, T) int64 with ``T ≤ context``. Output: logits (N, vocab_size, T), the
    position-t column predicting token t+1 from tokens ≤ t — the ``(N, C, d1)`` layout of
    ``F.cross_entropy(logits, targets)`` with targets (N, T), so every loss of
    :mod:`boostprop.losses` applies per position (the result is a view of a (N, T, C) tensor).

    Args:
        vocab_size: tokens (256 for bytes).
        context: longest sequence (number of learned positions).
        width, depth, heads, mlp_ratio, activation: as in :class:`ViT`.
        tie_weights: share the embedding matrix with the head.

    Example:
        >>> lm = CharTransformer(256, 8, width=16, depth=1, heads=2)
        >>> lm(torch.randint(0, 256, (2, 5))).shape
        torch.Size([2, 256, 5])
    """

    def __init__(
        self,
        vocab_size: int,
        context: int,
        *,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 4,
        activation: str = "gelu",
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        self.vocab_size = _positive("vocab_size", vocab_size)
        self.context = _positive("context", context)
        _positive("width", width)
        _positive("depth", depth)
        self.tie_weights = _flag("tie_weights", tie_weights)
        self.embed = nn.Embedding(vocab_size, width)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.pos = nn.Parameter(torch.randn(1, context, width) * 0.02)
        self.blocks = nn.ModuleList(
            [_encoder_layer(width, heads, mlp_ratio, activation) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)
        if tie_weights:
            self.head.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Next-token logits (N, vocab_size, T) for token ids (N, T), T ≤ ``context``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.dtype != torch.int64 or not 1 <= x.shape[1] <= self.context:
            raise ValueError(
                f"x: CharTransformer expects int64 token ids (N, T) with 1 ≤ T ≤ {self.context}, "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)  # True: not attended
        h = self.embed(x) + self.pos[:, :t]
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h)).transpose(1, 2)


def char_transformer(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    width: int = 128,
    depth: int = 4,
    heads: int = 4,
    mlp_ratio: float = 4,
    activation: str = "gelu",
    tie_weights: bool = False,
) -> CharTransformer:
    """The registry's ``char_transformer``: a :class:`CharTransformer` with context
    ``input_shape = (T,)`` and vocabulary ``n_classes``.

    Example:
        >>> sum(p.numel() for p in char_transformer((128,), 256).parameters())
        875520
    """
    shape = tuple(input_shape)
    if len(shape) != 1:
        raise ValueError(f"input_shape: char_transformer expects (context,), got {shape}")
    return CharTransformer(
        n_classes,
        shape[0],
        width=width,
        depth=depth,
        heads=heads,
        mlp_ratio=mlp_ratio,
        activation=activation,
        tie_weights=tie_weights,
    )


# --------------------------------------------------------------------- matrix factorisation
class MatrixFactorization(nn.Module):
    """Low-rank matrix completion: entry (i, j) ≈ ``u_i · v_j + a_i + b_j + μ``.

    ``u`` (n_rows × rank) and ``v`` (n_cols × rank) are ``nn.Embedding`` tables initialised
    N(0, init_scale²); the row and column biases (``nn.Embedding`` of width 1) and the global bias
    ``μ`` start at zero and exist only with ``biases=True``.

    Input: (N, 2) int64 (row, column) index pairs. Output: (N, 1) predicted entries, for a
    regression loss (e.g. ``F.mse_loss(model(idx), values.unsqueeze(1))``).

    Example:
        >>> mf = MatrixFactorization(5, 7, rank=3)
        >>> mf(torch.tensor([[0, 6], [4, 0]])).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        n_rows: int,
        n_cols: int,
        rank: int = 10,
        *,
        biases: bool = True,
        init_scale: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_rows = _positive("n_rows", n_rows)
        self.n_cols = _positive("n_cols", n_cols)
        _positive("rank", rank)
        _flag("biases", biases)
        if isinstance(init_scale, bool) or not isinstance(init_scale, (int, float)):
            raise ValueError(f"init_scale: expected a number > 0, got {init_scale!r}")
        if not (math.isfinite(init_scale) and init_scale > 0):
            raise ValueError(f"init_scale: expected a number > 0, got {init_scale!r}")
        self.row_factors = nn.Embedding(n_rows, rank)
        self.col_factors = nn.Embedding(n_cols, rank)
        nn.init.normal_(self.row_factors.weight, std=init_scale)
        nn.init.normal_(self.col_factors.weight, std=init_scale)
        self.row_bias: nn.Embedding | None = None
        self.col_bias: nn.Embedding | None = None
        self.bias: nn.Parameter | None = None
        if biases:
            self.row_bias = nn.Embedding(n_rows, 1)
            self.col_bias = nn.Embedding(n_cols, 1)
            nn.init.zeros_(self.row_bias.weight)
            nn.init.zeros_(self.col_bias.weight)
            self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted entries (N, 1) at the (row, column) pairs ``x`` (N, 2) int64."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[1] != 2 or x.dtype != torch.int64:
            raise ValueError(
                f"x: MatrixFactorization expects int64 (row, column) pairs of shape (N, 2), got "
                f"{x.dtype} of shape {tuple(x.shape)}"
            )
        rows, cols = x[:, 0], x[:, 1]
        out = (self.row_factors(rows) * self.col_factors(cols)).sum(1, keepdim=True)
        if self.row_bias is not None and self.col_bias is not None and self.bias is not None:
            out = out + self.row_bias(rows) + self.col_bias(cols) + self.bias
        return out


def matrix_factorization(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    n_rows: int = 1000,
    n_cols: int = 1000,
    rank: int = 10,
    biases: bool = True,
    init_scale: float = 0.1,
) -> MatrixFactorization:
    """The registry's ``matrix_factorization``: ``input_shape`` must be (2,) (a (row, column)
    pair) and ``n_classes`` 1 (one predicted value); the matrix's shape is ``n_rows × n_cols``.

    Example:
        >>> sum(p.numel() for p in matrix_factorization((2,), 1).parameters())
        22001
    """
    if tuple(input_shape) != (2,):
        raise ValueError(
            f"input_shape: matrix_factorization expects (row, column) pairs, i.e. (2,), got "
            f"{tuple(input_shape)}"
        )
    if n_classes != 1:
        raise ValueError(
            f"n_classes: matrix_factorization predicts one value per entry (a regression), "
            f"expected 1, got {n_classes!r}"
        )
    return MatrixFactorization(n_rows, n_cols, rank, biases=biases, init_scale=init_scale)


# ---------------------------------------------------------------------------- autoencoder
class Autoencoder(nn.Sequential):
    """A plain deep autoencoder ``in → widths… → in`` with tanh hidden units.

    The baseline of :class:`boostprop.nn.ShortcutAutoencoder` (Raiko et al. 2012; the
    architecture of Hinton and Salakhutdinov 2006): every hidden layer, the code layer included,
    is ``tanh``, the output is linear (``output="linear"``) or a sigmoid (``"sigmoid"``,
    reconstructions in (0, 1)). Inputs (N, ...) are flattened to (N, in_features) and the output
    is (N, in_features). ``init="raiko"`` is the papers' (and ``ShortcutAutoencoder``'s)
    initialisation: weights Glorot-uniform, biases U(±0.5); ``"default"`` keeps ``nn.Linear``'s.
    With ``init`` and the weights alike it computes exactly
    ``ShortcutMLP([in, *widths, in], transforms="none", shortcuts=False)``.

    Example:
        >>> Autoencoder(784, (64, 8, 64))(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 784])
    """

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int] = (500, 250, 30, 250, 500),
        *,
        output: str = "linear",
        init: str = "raiko",
    ) -> None:
        _positive("in_features", in_features)
        ws = _positives("widths", widths)
        _choice("output", output, ("linear", "sigmoid"))
        _choice("init", init, ("raiko", "default"))
        sizes = [in_features, *ws, in_features]
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.Tanh())
        if output == "sigmoid":
            layers.append(nn.Sigmoid())
        super().__init__(*layers)
        if init == "raiko":
            with torch.no_grad():
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        bound = math.sqrt(6.0 / (m.in_features + m.out_features))
                        m.weight.uniform_(-bound, bound)
                        m.bias.uniform_(-0.5, 0.5)


def autoencoder(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    widths: Sequence[int] = (500, 250, 30, 250, 500),
    output: str = "linear",
    init: str = "raiko",
) -> Autoencoder:
    """The registry's ``autoencoder``: an :class:`Autoencoder` of ``prod(input_shape)`` features.
    ``n_classes`` (the data set's labels) is not used: the output is the reconstruction. The
    default widths are Raiko et al.'s 784-500-250-30-250-500-784.

    Example:
        >>> sum(p.numel() for p in autoencoder((1, 28, 28), 10).parameters())
        1051314
    """
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f"input_shape: expected positive sizes, got {shape}")
    return Autoencoder(math.prod(shape), widths, output=output, init=init)


ZOO: dict[str, Callable[..., nn.Module]] = {
    "resnet": resnet,
    "vit": vit,
    "unet": unet,
    "char_transformer": char_transformer,
    "matrix_factorization": matrix_factorization,
    "autoencoder": autoencoder,
}
"""The models of this module by registry name (registered in :data:`boostprop.models.MODELS`)."""
