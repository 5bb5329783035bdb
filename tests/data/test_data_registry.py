"""Tests of the boostprop.data registry: names, shapes, availability report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from boostprop.data import DATASETS, DatasetInfo, describe_datasets, get_dataset

EXPECTED = {
    "fashion_mnist": ((1, 28, 28), 10),
    "mnist1d": ((40,), 10),
    "digits": ((64,), 10),
    "breast_cancer": ((30,), 2),
    "wine": ((13,), 3),
    "iris": ((4,), 3),
    "teacher": ((20,), 2),
    "fashion_segmentation": ((1, 28, 28), 11),
    "text_shakespeare": ((128,), 256),
    "matrix_completion": ((2,), 1),
}
TASKS = {
    "fashion_segmentation": "segmentation",
    "text_shakespeare": "language_model",
    "matrix_completion": "regression",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_dataset_loads_as_declared(name: str) -> None:
    info = get_dataset(name)
    assert isinstance(info, DatasetInfo) and info.name == name
    assert (info.input_shape, info.n_classes) == EXPECTED[name]
    task = TASKS.get(name, "classification")
    assert info.task == task
    x, y = info.load("val", seed=0)
    x_dtype = torch.int64 if task in ("language_model", "regression") else torch.float32
    assert x.dtype == x_dtype
    assert y.dtype == (torch.float32 if task == "regression" else torch.int64)
    assert tuple(x.shape[1:]) == info.input_shape and len(x) == len(y) > 0
    if task != "regression":
        assert int(y.min()) >= 0 and int(y.max()) < info.n_classes
    x2, y2 = info.load("val", seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    with pytest.raises(ValueError, match="split"):
        info.load("eval")  # type: ignore[arg-type]


def test_names_and_errors() -> None:
    assert set(DATASETS) == set(EXPECTED)
    with pytest.raises(ValueError, match="fashion_mnist, mnist1d"):
        get_dataset("cifar10")
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_dataset("iris").n_classes = 4  # type: ignore[misc]


def test_describe_datasets_present() -> None:
    rows = describe_datasets()
    assert [r["name"] for r in rows] == list(DATASETS)
    keys = {"name", "task", "classes", "shape", "available", "location"}
    assert all(set(r) == keys for r in rows)
    by = {r["name"]: r for r in rows}
    assert by["fashion_mnist"]["shape"] == "1x28x28"
    assert by["fashion_mnist"]["available"] == "yes"  # Debian's files are installed here
    assert by["iris"]["classes"] == "3" and by["iris"]["available"] == "yes"
    assert "sklearn.datasets.load_iris" in by["iris"]["location"]


def test_describe_datasets_without_fashion(no_local_data: Path) -> None:
    by = {r["name"]: r for r in describe_datasets()}
    assert by["fashion_mnist"]["available"] == "no"
    assert "download" in by["fashion_mnist"]["location"]
    assert str(no_local_data) in by["fashion_mnist"]["location"]
    assert not get_dataset("fashion_mnist").is_available()
