"""A strict reader for the IDX format of LeCun's MNIST, also used by Fashion-MNIST.

Format (LeCun, Cortes and Burges, "The MNIST database", http://yann.lecun.com/exdb/mnist/; Xiao,
Rasul and Vollgraf 2017, arXiv:1708.07747): a 4-byte magic number ``00 00 <dtype code> <ndim>``,
then ``ndim`` big-endian uint32 dimensions, then the row-major payload in big-endian order. The
reader checks every part of that layout and the exact byte length, for plain and gzip files.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["IDX_DTYPES", "IdxFormatError", "read_idx"]

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
# deflate cannot expand data by more than about 1032:1; a header declaring more than this is corrupt.
_MAX_DEFLATE_RATIO = 1100


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (truncated, corrupt, oversized or wrong header)."""


def _read_exact(fh: _Readable, n: int, path: Path, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise IdxFormatError(
            f"{path}: truncated IDX file: expected {n} bytes of {what}, found only {len(data)}"
        )
    return data


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a numpy array in native byte order.

    Raises :class:`IdxFormatError` (a ``ValueError``) naming the file and the problem when the
    magic number, the type code, the dimensions or the exact byte length are wrong, or when the
    gzip stream is corrupt or truncated. Gzip is recognised by its magic bytes, not the name.

    Example:
        >>> x = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        >>> x.shape, x.dtype
        ((10000,), dtype('uint8'))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"IDX file not found: {p}")
    size = p.stat().st_size
    with open(p, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
    try:
        if compressed:
            with gzip.open(p, "rb") as gz:
                return _parse(gz, p, size, compressed)
        with open(p, "rb") as fh:
            return _parse(fh, p, size, compressed)
    except IdxFormatError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise IdxFormatError(f"{p}: corrupt or truncated gzip stream ({exc})") from exc


def _parse(fh: _Readable, p: Path, size: int, compressed: bool) -> np.ndarray:
    magic = _read_exact(fh, 4, p, "magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise IdxFormatError(
            f"{p}: bad IDX magic number 0x{magic.hex()}: the first two bytes must be 0x00 0x00"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IdxFormatError(f"{p}: unknown IDX type code 0x{code:02X} (valid: {valid})")
    if ndim == 0:
        raise IdxFormatError(f"{p}: IDX header declares 0 dimensions")
    dims = tuple(
        int(d) for d in np.frombuffer(_read_exact(fh, 4 * ndim, p, "dimensions"), dtype=">u4")
    )
    dtype = IDX_DTYPES[code]
    n_bytes = math.prod(dims) * dtype.itemsize
    header = 4 + 4 * ndim
    if not compressed and header + n_bytes != size:
        raise IdxFormatError(
            f"{p}: header declares shape {dims} of {dtype.name} ({header + n_bytes} bytes in "
            f"total) but the file has {size} bytes "
            + ("(truncated)" if size < header + n_bytes else "(extra trailing bytes)")
        )
    if compressed and n_bytes > _MAX_DEFLATE_RATIO * size + 1024:
        raise IdxFormatError(
            f"{p}: header declares shape {dims} ({n_bytes} bytes), impossible for a "
            f"{size}-byte gzip file (corrupt header)"
        )
    payload = _read_exact(fh, n_bytes, p, f"data for shape {dims}")
    if fh.read(1):
        raise IdxFormatError(
            f"{p}: extra trailing bytes after the {n_bytes}-byte payload of shape {dims}"
        )
    return (
        np.frombuffer(payload, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(dims)
    )
