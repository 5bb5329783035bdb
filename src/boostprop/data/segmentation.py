"""Semantic segmentation derived from Fashion-MNIST (Xiao, Rasul and Vollgraf 2017,
arXiv:1708.07747): every garment segmented from its background, labelled with its class.

Construction. The images are those of :func:`~boostprop.data.fashion_mnist.load_fashion_mnist`
(float32 in [0, 1], shape (N, 1, 28, 28), the same train/val/test splits: 54,000 / 6,000 /
10,000). A pixel of intensity ``v`` (``raw / 255``) in an image of class ``c`` (0..9) gets the label

* ``0`` (background) when ``v <= threshold`` (default 0.1, i.e. raw values 0..25),
* ``c + 1`` otherwise,

so there are 11 classes and a target of shape (N, 28, 28), int64, the layout
``torch.nn.functional.cross_entropy`` expects for (N, 11, 28, 28) logits. With the default
threshold 54.8% of the training pixels are background (Fashion-MNIST's background is exactly 0 in
50.2% of them; the rest are faint edge and texture pixels), ranging from 39.3% for pullovers to
74.7% for sandals; every foreground pixel of an image carries that image's single class.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from ._common import Split, check_split
from .fashion_mnist import load_fashion_mnist

__all__ = [
    "SEGMENTATION_CLASSES",
    "SEGMENTATION_THRESHOLD",
    "load_fashion_segmentation",
    "segment",
]

SEGMENTATION_THRESHOLD = 0.1  #: intensity at or below which a pixel is background
#: Label names: background, then Fashion-MNIST's classes in order (label = class + 1).
SEGMENTATION_CLASSES: tuple[str, ...] = (
    "background",
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"threshold must be a float, got {type(threshold).__name__}")
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    return float(threshold)


def segment(images: Tensor, labels: Tensor, threshold: float = SEGMENTATION_THRESHOLD) -> Tensor:
    """Per-pixel labels for ``images`` (N, 1, H, W) of classes ``labels`` (N,): (N, H, W) int64.

    Background (``images <= threshold``) is 0, every other pixel ``labels + 1``.

    Example:
        >>> images = torch.tensor([[[[0.0, 0.5], [0.1, 1.0]]]])
        >>> segment(images, torch.tensor([3]))
        tensor([[[0, 4],
                 [0, 4]]])
    """
    t = _check_threshold(threshold)
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 1:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a tensor of shape (N, 1, H, W), got {shape}")
    if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],):
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a tensor of shape ({images.shape[0]},), got {shape}")
    if labels.dtype != torch.int64 or (len(labels) and int(labels.min()) < 0):
        raise ValueError(f"labels must be non-negative int64 class indices, got {labels.dtype}")
    foreground = images[:, 0] > t
    return torch.where(foreground, labels[:, None, None] + 1, torch.zeros((), dtype=torch.int64))


def load_fashion_segmentation(
    split: Split,
    *,
    threshold: float = SEGMENTATION_THRESHOLD,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST images (N, 1, 28, 28) float32 and their per-pixel labels (N, 28, 28) int64.

    The splits and the arguments ``data_dir`` and ``download`` are those of
    :func:`~boostprop.data.fashion_mnist.load_fashion_mnist`; see the module docstring for the
    construction.

    Example:
        >>> x, y = load_fashion_segmentation("val", download=False)
        >>> x.shape, y.shape, y.dtype, int(y.max())
        (torch.Size([6000, 1, 28, 28]), torch.Size([6000, 28, 28]), torch.int64, 10)
    """
    check_split(split)
    t = _check_threshold(threshold)
    x, labels = load_fashion_mnist(split, data_dir=data_dir, download=download)
    return x, segment(x, labels, t)
