"""Tests of the strict IDX reader (boostprop.data.idx) on the real files and on damaged copies."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from boostprop.data import IdxFormatError, read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    """Build an IDX file by hand with struct (independent of the reader)."""
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(CODES[code]).tobytes()


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("train-images-idx3-ubyte.gz", (60000, 28, 28)),
        ("train-labels-idx1-ubyte.gz", (60000,)),
        ("t10k-images-idx3-ubyte.gz", (10000, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", (10000,)),
    ],
)
def test_real_debian_files(name: str, shape: tuple[int, ...]) -> None:
    arr = read_idx(DEBIAN_DIR / name)
    assert arr.shape == shape
    assert arr.dtype == np.uint8
    # independent decoding: gunzip, skip the header, take the bytes as they are
    raw = gzip.decompress((DEBIAN_DIR / name).read_bytes())
    header = 4 + 4 * len(shape)
    assert struct.unpack(">BBBB", raw[:4]) == (0, 0, 0x08, len(shape))
    np.testing.assert_array_equal(arr.ravel(), np.frombuffer(raw[header:], dtype=np.uint8))
    if len(shape) == 1:
        assert arr.min() == 0 and arr.max() == 9
        np.testing.assert_array_equal(np.bincount(arr), np.full(10, shape[0] // 10))


def test_uncompressed_copy_reads_the_same(tmp_path: Path) -> None:
    src = DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(src.read_bytes()))
    np.testing.assert_array_equal(read_idx(plain), read_idx(src))
    # the reader goes by the gzip magic bytes, not by the file name
    misnamed = tmp_path / "labels.gz"
    misnamed.write_bytes(plain.read_bytes())
    np.testing.assert_array_equal(read_idx(misnamed), read_idx(src))


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("compress", [False, True])
def test_hand_built_files_round_trip(
    tmp_path: Path, code: int, shape: tuple[int, ...], compress: bool
) -> None:
    rng = np.random.default_rng(code * 100 + len(shape))
    if code == 0x08:
        arr = rng.integers(0, 256, shape).astype(np.uint8)
    elif code in (0x09, 0x0B, 0x0C):
        info = np.iinfo(CODES[code])
        arr = rng.integers(info.min, info.max, shape, endpoint=True).astype(CODES[code])
    else:
        arr = rng.standard_normal(shape).astype(CODES[code])
    data = idx_bytes(arr, code)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path)
    assert out.shape == shape
    assert out.dtype == np.dtype(CODES[code]).newbyteorder("=")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_known_values_by_hand(tmp_path: Path) -> None:
    # 2x2 int16 matrix written byte by byte: [[1, -2], [258, 0]]
    data = bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE, 1, 2, 0, 0])
    (tmp_path / "m").write_bytes(data)
    np.testing.assert_array_equal(read_idx(tmp_path / "m"), [[1, -2], [258, 0]])


def _plain_labels() -> bytes:
    return gzip.decompress((DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:6], "truncated"),
        (lambda b: b"", "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b"\x01" + b[1:], "magic"),
        (lambda b: b[:1] + b"\x08" + b[2:], "magic"),
        (lambda b: b[:2] + b"\x0a" + b[3:], "type code"),
        (lambda b: b[:2] + b"\x07" + b[3:], "type code"),
        (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
        (lambda b: b[:3] + b"\x02" + b[4:], "shape"),  # ndim 2: dims swallow payload
        (lambda b: b[:4] + struct.pack(">I", 10001) + b[8:], "truncated"),
    ],
)
def test_corrupt_plain_file_names_the_file(tmp_path: Path, mutate: object, message: str) -> None:
    path = tmp_path / "broken-labels-idx1-ubyte"
    path.write_bytes(mutate(_plain_labels()))  # type: ignore[operator]
    with pytest.raises(IdxFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda gz: gz[: len(gz) // 2], "truncated"),  # stream cut mid-way
        (lambda gz: gz[:-4], "truncated"),  # trailer (length) cut
        (lambda gz: gz[:-8] + bytes(8), "gzip"),  # CRC and length wrong
        (lambda gz: gz[:10] + bytes(len(gz) - 10), "gzip"),  # deflate data zeroed
        (lambda gz: gz + b"junk", "gzip"),  # garbage after the member
    ],
)
def test_corrupt_gzip_names_the_file(tmp_path: Path, mutate: object, message: str) -> None:
    gz = (DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(mutate(gz))  # type: ignore[operator]
    with pytest.raises(IdxFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_with_extra_payload_bytes(tmp_path: Path) -> None:
    path = tmp_path / "extra.gz"
    path.write_bytes(gzip.compress(_plain_labels() + b"\x01\x02"))
    with pytest.raises(IdxFormatError, match="trailing") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_declaring_impossible_size(tmp_path: Path) -> None:
    data = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">3I", 60000, 60000, 60000)
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(data + bytes(100)))
    with pytest.raises(IdxFormatError, match="impossible") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_and_bad_argument(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")
    with pytest.raises(TypeError, match="path"):
        read_idx(3)  # type: ignore[arg-type]
