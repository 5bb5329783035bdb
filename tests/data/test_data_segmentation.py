"""Tests of boostprop.data.segmentation: Fashion-MNIST garments segmented from the background.

Labels are recomputed here from Debian's raw IDX files (gunzip, drop the header): background
where the uint8 value is at most 25 (intensity <= 0.1), else the image's class + 1.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from boostprop.data import get_dataset, load_fashion_mnist, load_fashion_segmentation, segment

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def _raw(name: str) -> np.ndarray:
    data = gzip.decompress((DEBIAN_DIR / f"{name}.gz").read_bytes())
    if "images" in name:
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(-1, 28, 28)
    return np.frombuffer(data[8:], dtype=np.uint8)


def _labels(images: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """uint8 labels: 0 where the uint8 value is <= 25, else class + 1."""
    return (images > 25) * (classes.astype(np.uint8)[:, None, None] + 1)


def test_test_split_matches_raw_files() -> None:
    x, y = load_fashion_segmentation("test")
    images, classes = _raw("t10k-images-idx3-ubyte"), _raw("t10k-labels-idx1-ubyte")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10000, 28, 28) and y.dtype == torch.int64
    np.testing.assert_array_equal(y.numpy(), _labels(images, classes))
    np.testing.assert_array_equal((x[:, 0].numpy() * 255).round(), images)


def test_train_and_val_partition_the_training_file_and_pin_the_balance() -> None:
    counts = np.zeros(11, dtype=np.int64)
    for split, n in (("train", 54000), ("val", 6000)):
        x, y = load_fashion_segmentation(split)  # type: ignore[arg-type]
        assert y.shape == (n, 28, 28) and y.dtype == torch.int64
        # same images and split as Fashion-MNIST itself; labels recomputed from uint8 values
        xf, cf = load_fashion_mnist(split)  # type: ignore[arg-type]
        assert torch.equal(x, xf)
        raw = (xf[:, 0].numpy() * 255).round().astype(np.uint8)
        y8 = y.numpy().astype(np.uint8)
        np.testing.assert_array_equal(y8, _labels(raw, cf.numpy()))
        counts += np.bincount(y8.reshape(-1), minlength=11)
        if split == "train":
            # the documented class balance: 54.8% of training pixels are background, from 39.3%
            # of a pullover's image to 74.7% of a sandal's
            assert round(float((y8 == 0).mean()), 3) == 0.548
            per_class = [float((y8[cf.numpy() == c] == 0).mean()) for c in (2, 5)]
            assert [round(v, 3) for v in per_class] == [0.393, 0.747]
    # per-label pixel counts of train + val equal those of the whole raw training file
    want = _labels(_raw("train-images-idx3-ubyte"), _raw("train-labels-idx1-ubyte"))
    np.testing.assert_array_equal(counts, np.bincount(want.reshape(-1), minlength=11))


def test_segment_and_threshold() -> None:
    images = torch.tensor([[[[0.0, 0.1], [0.11, 1.0]]], [[[0.5, 0.0], [0.0, 0.0]]]])
    labels = torch.tensor([0, 9])
    assert segment(images, labels).tolist() == [[[0, 0], [1, 1]], [[10, 0], [0, 0]]]
    assert segment(images, labels, threshold=0).tolist() == [[[0, 1], [1, 1]], [[10, 0], [0, 0]]]
    assert segment(images, labels, threshold=0.6).tolist() == [[[0, 0], [0, 1]], [[0, 0], [0, 0]]]
    _, y = load_fashion_segmentation("val", threshold=0.0)
    assert round(float((y == 0).double().mean()), 2) == 0.50  # exact zeros only
    with pytest.raises(ValueError, match="threshold must be in"):
        segment(images, labels, threshold=1.0)
    with pytest.raises(TypeError, match="threshold must be a float"):
        load_fashion_segmentation("val", threshold="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"images must be a tensor of shape \(N, 1, H, W\)"):
        segment(images[:, 0], labels)
    with pytest.raises(ValueError, match=r"labels must be a tensor of shape \(2,\)"):
        segment(images, labels[:1])
    with pytest.raises(ValueError, match="int64"):
        segment(images, labels.float())
    with pytest.raises(ValueError, match="split"):
        load_fashion_segmentation("eval")  # type: ignore[arg-type]


def test_registry_entry_and_loss_layout() -> None:
    info = get_dataset("fashion_segmentation")
    assert (info.task, info.n_classes, info.input_shape) == ("segmentation", 11, (1, 28, 28))
    assert info.metadata["classes"][0] == "background" and len(info.metadata["classes"]) == 11
    assert info.is_available() and info.location() == get_dataset("fashion_mnist").location()
    _, y = info.load("val")
    logits = torch.zeros(8, info.n_classes, 28, 28)
    logits.scatter_(1, y[:8, None], 5.0)  # (N, C, H, W) logits against (N, H, W) targets
    loss = F.cross_entropy(logits, y[:8])
    assert float(loss) == pytest.approx(
        float(-torch.log_softmax(torch.tensor([5.0] + [0] * 10), 0)[0])
    )
