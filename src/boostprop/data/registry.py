"""Registry of the data sets used by boostprop's experiments (timm-style frozen dataclasses).

Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747), MNIST-1D (Greydanus 2020, arXiv:2011.14439),
scikit-learn's bundled tabular sets and the teacher task of Ergen et al. 2023 (arXiv:2303.03382).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import Tensor

from ._common import Split, check_split
from .fashion_mnist import MIRRORS, cache_dir, find_fashion_mnist, load_fashion_mnist
from .mnist1d import load_mnist1d
from .tabular import load_tabular
from .teacher import make_teacher

__all__ = ["DATASETS", "DatasetInfo", "describe_datasets", "get_dataset"]

Loader = Callable[[Split, int], "tuple[Tensor, Tensor]"]


def _yes() -> bool:
    return True


@dataclass(frozen=True)
class DatasetInfo:
    """One data set: its shape, classes, how to load it and where it comes from.

    Example:
        >>> info = get_dataset("iris")
        >>> info.n_classes, info.input_shape
        (3, (4,))
        >>> x, y = info.load("test", seed=1)
    """

    name: str
    n_classes: int
    input_shape: tuple[int, ...]
    description: str
    loader: Loader
    available_fn: Callable[[], bool] = field(default=_yes, repr=False, compare=False)
    location_fn: Callable[[], str] = field(default=lambda: "", repr=False, compare=False)

    def load(self, split: Split, seed: int = 0) -> tuple[Tensor, Tensor]:
        """Load ``split`` (x float32, y int64); ``seed`` is ignored by seed-independent sets.

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
        available_fn=lambda: (
            find_fashion_mnist("train") is not None and find_fashion_mnist("test") is not None
        ),
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
    """One row per data set: name, classes, shape, available (yes/no), location.

    Example:
        >>> [row["name"] for row in describe_datasets()][:2]
        ['fashion_mnist', 'mnist1d']
    """
    return [
        {
            "name": info.name,
            "classes": str(info.n_classes),
            "shape": "x".join(str(s) for s in info.input_shape),
            "available": "yes" if info.is_available() else "no",
            "location": info.location(),
        }
        for info in DATASETS.values()
    ]
