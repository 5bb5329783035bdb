"""Your own model and data for ``boostprop bench`` / :func:`boostprop.bench.compare`: an example.

The harness needs two functions, named as ``"module:function"`` (see ``docs/your_model.md``):

- ``load(split) -> (x, y)`` for ``split`` in ``"train"``, ``"val"``, ``"test"``: ``x`` a float
  tensor ``(N, ...)``, ``y`` int64 class indices ``0 … C-1`` of shape ``(N,)``. Here: the wine
  recognition data bundled with scikit-learn (Forina et al.; 178 rows, 13 features, 3 classes),
  a fixed stratified 60/20/20 split (seed 0), every feature standardised with the training
  part's mean and standard deviation.
- ``build(input_shape, n_classes, **kwargs) -> nn.Module``: a fresh, untrained model for inputs
  of shape ``(N, *input_shape)`` with ``n_classes`` output logits. Here: a ReLU MLP of ``depth``
  hidden layers of ``width`` units. Its keyword defaults (``width=32, depth=2``) are written into
  every run's specification, so changing them trains new runs.

The harness imports this module by name, also in its worker processes: put its folder on
``PYTHONPATH`` (``PYTHONPATH=examples/your_model``) or make it part of an installed package.

Example:
    >>> x, y = load("train")
    >>> tuple(x.shape), x.dtype, y.dtype, sorted(set(y.tolist()))
    ((106, 13), torch.float32, torch.int64, [0, 1, 2])
    >>> build((13,), 3, width=8)(x[:4]).shape
    torch.Size([4, 3])
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

SPLITS = ("train", "val", "test")
SEED = 0  # the split is fixed: every run of a comparison sees the same data


@functools.lru_cache(maxsize=1)
def _splits() -> dict[str, tuple[Tensor, Tensor]]:
    """The three splits, computed once per process."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    x, y = load_wine(return_X_y=True)
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=SEED)
    train, val = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=SEED)
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant feature is divided by 1
    return {
        name: (
            torch.tensor((x[rows] - mean) / std, dtype=torch.float32),
            torch.tensor(y[rows], dtype=torch.int64),
        )
        for name, rows in (("train", train), ("val", val), ("test", test))
    }


def load(split: str) -> tuple[Tensor, Tensor]:
    """The ``split`` (``"train"``, ``"val"`` or ``"test"``) of the wine data: x float32
    ``(N, 13)`` standardised with training statistics, y int64 classes 0, 1, 2.

    Example:
        >>> [len(load(s)[1]) for s in SPLITS]
        [106, 36, 36]
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    x, y = _splits()[split]
    return x.clone(), y.clone()


def build(
    input_shape: Sequence[int], n_classes: int, *, width: int = 32, depth: int = 2
) -> nn.Module:
    """A ReLU MLP: flatten ``input_shape``, ``depth`` hidden layers of ``width`` units, then a
    linear layer to ``n_classes`` logits (no softmax: the recipe's loss takes logits).

    Example:
        >>> build((13,), 3, width=4, depth=1)
        Sequential(
          (0): Flatten(start_dim=1, end_dim=-1)
          (1): Linear(in_features=13, out_features=4, bias=True)
          (2): ReLU()
          (3): Linear(in_features=4, out_features=3, bias=True)
        )
    """
    for name, value, least in (
        ("width", width, 1),
        ("depth", depth, 0),
        ("n_classes", n_classes, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name}: expected an integer >= {least}, got {value!r}")
    in_features = int(np.prod(input_shape))
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(depth):
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        in_features = width
    layers.append(nn.Linear(in_features, n_classes))
    return nn.Sequential(*layers)
