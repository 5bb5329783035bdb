"""Tests of boostprop.data.load_fashion_mnist: splits, search order, not-found error, downloads."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from boostprop.data import ChecksumError, IdxFormatError, fashion_mnist, load_fashion_mnist

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


_HASH_W = np.random.default_rng(0).integers(1, 2**40, size=784)


def _rows(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sorted (row hash, label) pairs: a multiset fingerprint of a set of labelled images."""
    h = images.reshape(len(images), -1).astype(np.int64) @ _HASH_W  # exact, no overflow
    pairs = np.stack([h, labels.astype(np.int64)], axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def _as_uint8(x: torch.Tensor) -> np.ndarray:
    u = (x.numpy() * 255).round()
    np.testing.assert_array_equal(u.astype(np.float32) / 255, x.numpy())  # exactly k/255
    return u.astype(np.uint8)


def _raw(name: str) -> np.ndarray:
    """Independent decoding of a Debian file: gunzip and drop the header."""
    data = gzip.decompress((DEBIAN_DIR / f"{name}.gz").read_bytes())
    if "images" in name:
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(-1, 28, 28)
    return np.frombuffer(data[8:], dtype=np.uint8)


def test_split_sizes_types_and_partition() -> None:
    xtr, ytr = load_fashion_mnist("train")
    xva, yva = load_fashion_mnist("val")
    xte, yte = load_fashion_mnist("test")
    assert xtr.shape == (54000, 1, 28, 28) and ytr.shape == (54000,)
    assert xva.shape == (6000, 1, 28, 28) and yva.shape == (6000,)
    assert xte.shape == (10000, 1, 28, 28) and yte.shape == (10000,)
    for x, y in ((xtr, ytr), (xva, yva), (xte, yte)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        assert int(y.min()) == 0 and int(y.max()) == 9
    # train + val is exactly the 60k training file as a multiset of (image, label) rows,
    # so the two are disjoint (by row) and lose nothing
    full = _rows(_raw("train-images-idx3-ubyte"), _raw("train-labels-idx1-ubyte"))
    both = _rows(
        np.concatenate([_as_uint8(xtr[:, 0]), _as_uint8(xva[:, 0])]),
        np.concatenate([ytr.numpy(), yva.numpy()]),
    )
    np.testing.assert_array_equal(both, full)
    # test is the test file, in order
    np.testing.assert_array_equal(_as_uint8(xte[:, 0]), _raw("t10k-images-idx3-ubyte"))
    np.testing.assert_array_equal(yte.numpy(), _raw("t10k-labels-idx1-ubyte"))


VAL_LABELS_SHA256 = "68b96e6053b88ff0eb9a3c58109cef52bb69c85bf42864beaaae5942cb10925c"


def test_val_carve_out_is_pinned() -> None:
    # Regression pin: the fixed permutation must never change between versions or machines.
    _, yva = load_fashion_mnist("val")
    assert np.bincount(yva.numpy(), minlength=10).sum() == 6000
    digest = hashlib.sha256(yva.numpy().astype("<i8").tobytes()).hexdigest()
    assert digest == VAL_LABELS_SHA256


def test_flatten_determinism_and_fresh_tensors() -> None:
    x1, y1 = load_fashion_mnist("val", flatten=True)
    x2, y2 = load_fashion_mnist("val")
    assert x1.shape == (6000, 784)
    assert torch.equal(x1, x2.reshape(6000, 784)) and torch.equal(y1, y2)
    x1.zero_()
    y1.fill_(-1)
    x3, y3 = load_fashion_mnist("val", flatten=True)
    assert torch.equal(x3, x2.reshape(6000, 784)) and torch.equal(y3, y2)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"split.*'train', 'val', 'test'"):
        load_fashion_mnist("validation")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="download"):
        load_fashion_mnist("test", download="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flatten"):
        load_fashion_mnist("test", flatten=1)  # type: ignore[arg-type]


def test_missing_data_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data_dir must be an existing directory"):
        load_fashion_mnist("test", data_dir=tmp_path / "typo", download=False)


def _write_subset(folder: Path, n: int, *, compress: bool) -> None:
    """A valid, smaller test set (first n rows) written as IDX by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    images = _raw("t10k-images-idx3-ubyte")[:n]
    labels = _raw("t10k-labels-idx1-ubyte")[:n]
    img = bytes([0, 0, 8, 3]) + np.array([n, 28, 28], ">u4").tobytes() + images.tobytes()
    lab = bytes([0, 0, 8, 1]) + np.array([n], ">u4").tobytes() + labels.tobytes()
    for name, data in (("t10k-images-idx3-ubyte", img), ("t10k-labels-idx1-ubyte", lab)):
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("compress", [False, True])
def test_data_dir_comes_first(tmp_path: Path, compress: bool) -> None:
    _write_subset(tmp_path, 50, compress=compress)
    x, y = load_fashion_mnist("test", data_dir=tmp_path, download=False)
    assert x.shape == (50, 1, 28, 28)
    np.testing.assert_array_equal(y.numpy(), _raw("t10k-labels-idx1-ubyte")[:50])


def test_env_dir_and_its_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_subset(tmp_path / "fashion-mnist", 30, compress=False)
    monkeypatch.setenv("BOOSTPROP_DATA_DIR", str(tmp_path))
    x, _ = load_fashion_mnist("test", download=False)
    assert x.shape == (30, 1, 28, 28)
    # an explicit data_dir still wins over the variable
    _write_subset(tmp_path / "mine", 20, compress=True)
    x, _ = load_fashion_mnist("test", data_dir=tmp_path / "mine", download=False)
    assert x.shape == (20, 1, 28, 28)


def test_corrupt_local_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    _write_subset(tmp_path, 40, compress=False)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(IdxFormatError, match="truncated") as info:
        load_fashion_mnist("test", data_dir=tmp_path, download=False)
    assert str(bad) in str(info.value)


def test_not_found_message(tmp_path: Path, no_local_data: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("train", data_dir=empty, download=False)
    msg = str(info.value)
    assert "dataset-fashion-mnist" in msg
    assert "BOOSTPROP_DATA_DIR" in msg
    assert str(empty) in msg
    assert str(no_local_data / ".cache" / "boostprop" / "fashion-mnist") in msg
    assert str(tmp_path / "no-debian-here") in msg


def test_offline_variable_blocks_download(
    no_local_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(url: str, dest: Path) -> None:
        raise AssertionError("must not download")

    monkeypatch.setattr(fashion_mnist, "_fetch", fail)
    monkeypatch.setenv("BOOSTPROP_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="BOOSTPROP_OFFLINE"):
        load_fashion_mnist("test")
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_fashion_mnist("test", download=False)


def test_download_is_verified_and_cached(
    no_local_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_fetch(url: str, dest: Path) -> None:  # the "network": Debian's copy of the file
        calls.append(url)
        shutil.copyfile(DEBIAN_DIR / url.rsplit("/", 1)[1], dest)

    monkeypatch.setattr(fashion_mnist, "_fetch", fake_fetch)
    x, y = load_fashion_mnist("test")  # download=None: allowed
    assert calls == [
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
        + name
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    ]
    cache = no_local_data / ".cache" / "boostprop" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    np.testing.assert_array_equal(_as_uint8(x[:, 0]), _raw("t10k-images-idx3-ubyte"))
    np.testing.assert_array_equal(y.numpy(), _raw("t10k-labels-idx1-ubyte"))
    # second call finds the cached files without fetching
    load_fashion_mnist("test", download=False)
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["flip_payload_byte", "not_gzip", "truncated"])
def test_corrupt_download_is_rejected(
    no_local_data: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    def fake_fetch(url: str, dest: Path) -> None:
        good = (DEBIAN_DIR / url.rsplit("/", 1)[1]).read_bytes()
        if damage == "flip_payload_byte":  # a valid gzip of a valid-looking but altered IDX
            raw = bytearray(gzip.decompress(good))
            raw[-1] ^= 0xFF
            dest.write_bytes(gzip.compress(bytes(raw), compresslevel=1))
        elif damage == "not_gzip":
            dest.write_bytes(b"<html>404 not found</html>")
        else:
            dest.write_bytes(good[:-100])

    monkeypatch.setattr(fashion_mnist, "_fetch", fake_fetch)
    with pytest.raises(ChecksumError, match=r"t10k-images-idx3-ubyte\.gz.*SHA-256"):
        load_fashion_mnist("test", download=True)
    cache = no_local_data / ".cache" / "boostprop" / "fashion-mnist"
    assert list(cache.iterdir()) == []  # nothing half-written is left behind


def test_network_failure_message(no_local_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline_fetch(url: str, dest: Path) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(fashion_mnist, "_fetch", offline_fetch)
    with pytest.raises(OSError, match="dataset-fashion-mnist") as info:
        load_fashion_mnist("train", download=True)
    assert "no route to host" in str(info.value)
    assert "BOOSTPROP_DATA_DIR" in str(info.value)


def test_payload_hashes_match_debian_files() -> None:
    # the hard-coded payload SHA-256s are those of Debian's decompressed files, whose MD5s equal
    # the published uncompressed MD5s (e.g. f4a8712d... for the training images)
    published_md5 = {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    }
    for name, _gz_sha, raw_sha in fashion_mnist.FILES.values():
        raw = gzip.decompress((DEBIAN_DIR / f"{name}.gz").read_bytes())
        assert hashlib.md5(raw).hexdigest() == published_md5[name]
        assert hashlib.sha256(raw).hexdigest() == raw_sha


def test_bad_mirror_falls_back_to_the_next(
    no_local_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_fetch(url: str, dest: Path) -> None:
        calls.append(url)
        if url.startswith(fashion_mnist.MIRRORS[0]):
            dest.write_bytes(b"tampered")
        else:
            shutil.copyfile(DEBIAN_DIR / url.rsplit("/", 1)[1], dest)

    monkeypatch.setattr(fashion_mnist, "_fetch", fake_fetch)
    _, y = load_fashion_mnist("test", download=True)
    np.testing.assert_array_equal(y.numpy(), _raw("t10k-labels-idx1-ubyte"))
    assert [c.startswith(fashion_mnist.MIRRORS[1]) for c in calls] == [False, True, False, True]
