"""Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, arXiv:1708.07747) from local IDX files or a
checksum-verified download.

Files are looked up, in order, in the ``data_dir`` argument, ``$BOOSTPROP_DATA_DIR``,
``~/.cache/boostprop/fashion-mnist/``, ``~/.cache/boostprop/`` and ``/usr/share/datasets/fashion-mnist/``
(Debian's ``dataset-fashion-mnist`` package); each directory may hold the ``.gz`` or the
uncompressed files (a ``fashion-mnist/`` subfolder of the first two is searched too). Failing that,
the canonical Zalando files are downloaded into ``~/.cache/boostprop/fashion-mnist/`` when allowed.

Integrity: a download is accepted when the SHA-256 of the ``.gz`` equals the canonical one (published
with the official MD5s, e.g. ``8d4fb7e6c68d591d4c3dfef9ec88bf0d`` for the training images) or when the
SHA-256 of its decompressed payload equals the canonical payload's (so a re-gzipped mirror such as
Debian's passes; the payload hashes were computed from Debian's files, whose decompressed MD5s match the
published uncompressed MD5s, e.g. ``f4a8712d7a061bf5bd6d2ca38dc4d50a`` for the training images).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_split
from .idx import IdxFormatError, read_idx

__all__ = [
    "DEBIAN_PACKAGE",
    "ENV_DATA_DIR",
    "ENV_OFFLINE",
    "FILES",
    "MIRRORS",
    "ChecksumError",
    "cache_dir",
    "find_fashion_mnist",
    "load_fashion_mnist",
    "search_dirs",
]

ENV_DATA_DIR = "BOOSTPROP_DATA_DIR"
ENV_OFFLINE = "BOOSTPROP_OFFLINE"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
#: System-wide directories searched after the user's ones (Debian's package installs here).
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets/fashion-mnist"),)
#: Canonical download locations, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)

# kind -> (base file name, SHA-256 of the canonical .gz, SHA-256 of the decompressed payload)
FILES: dict[str, tuple[str, str, str]] = {
    "train_images": (
        "train-images-idx3-ubyte",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train_labels": (
        "train-labels-idx1-ubyte",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "test_images": (
        "t10k-images-idx3-ubyte",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

# Seed of the fixed permutation that carves "val" out of the training file (the Fashion-MNIST
# release date); independent of any global RNG state.
_VAL_SEED = 20170825
_VAL_FRACTION = 10  # one tenth


class ChecksumError(ValueError):
    """A downloaded file does not have the expected SHA-256."""


def cache_dir() -> Path:
    """Directory that downloads go to: ``~/.cache/boostprop/fashion-mnist``.

    Example:
        >>> cache_dir().name
        'fashion-mnist'
    """
    return Path.home() / ".cache" / "boostprop" / "fashion-mnist"


def search_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The directories searched for the IDX files, in order.

    Example:
        >>> search_dirs("/data")[:2]
        [PosixPath('/data'), PosixPath('/data/fashion-mnist')]
    """
    dirs: list[Path] = []
    for root in (data_dir, os.environ.get(ENV_DATA_DIR) or None):
        if root is not None:
            dirs += [Path(root), Path(root) / "fashion-mnist"]
    dirs += [cache_dir(), cache_dir().parent, *SYSTEM_DIRS]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _find_file(name: str, dirs: Sequence[Path]) -> Path | None:
    for d in dirs:
        for candidate in (d / f"{name}.gz", d / name):
            if candidate.is_file():
                return candidate
    return None


def find_fashion_mnist(
    split: Split, data_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, Path] | None:
    """Locate the (images, labels) files for ``split`` without downloading; None if absent.

    Both files come from the same directory.

    Example:
        >>> found = find_fashion_mnist("test")
        >>> found is None or found[0].name.startswith("t10k-images-idx3-ubyte")
        True
    """
    prefix = "test" if check_split(split) == "test" else "train"
    for d in search_dirs(data_dir):
        images = _find_file(FILES[f"{prefix}_images"][0], [d])
        labels = _find_file(FILES[f"{prefix}_labels"][0], [d])
        if images is not None and labels is not None:
            return images, labels
    return None


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` (replaced in tests to avoid the network)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out)


def _sha256(path: Path, *, decompress: bool = False) -> str:
    digest = hashlib.sha256()
    with gzip.open(path, "rb") if decompress else open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, kind: str, url: str) -> None:
    name, gz_sha, raw_sha = FILES[kind]
    got = _sha256(path)
    if got == gz_sha:
        return
    try:
        got_raw = _sha256(path, decompress=True)
    except (OSError, EOFError) as exc:
        got_raw = f"<not a valid gzip file: {exc}>"
    if got_raw != raw_sha:
        raise ChecksumError(
            f"download of {name}.gz from {url} failed verification: SHA-256 {got} (expected "
            f"{gz_sha}); decompressed SHA-256 {got_raw} (expected {raw_sha})"
        )


def _download(kind: str) -> Path:
    name = FILES[kind][0]
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{name}.gz"
    errors: list[str] = []
    bad_checksums = 0
    for base in MIRRORS:
        url = base + f"{name}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _fetch(url, tmp)
            _verify(tmp, kind, url)
            os.replace(tmp, target)
            return target
        except ChecksumError as exc:
            bad_checksums += 1
            errors.append(str(exc))
        except (OSError, urllib.error.URLError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    if bad_checksums == len(MIRRORS):
        raise ChecksumError("; ".join(errors))
    raise OSError(
        f"could not download Fashion-MNIST file {name}.gz: " + "; ".join(errors) + f". {_hint()}"
    )


def _hint() -> str:
    return (
        f"Install Debian's `{DEBIAN_PACKAGE}` package (apt-get install {DEBIAN_PACKAGE}), or set "
        f"{ENV_DATA_DIR} to a directory holding the four IDX files (.gz or uncompressed), or allow "
        f"downloading (download=True, and {ENV_OFFLINE} unset)."
    )


@functools.lru_cache(maxsize=4)
def _read_pair(images: str, labels: str, stamp: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check an (images, labels) pair; cached, returned arrays are read-only."""
    x = read_idx(images)
    y = read_idx(labels)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise IdxFormatError(
            f"{images}: expected uint8 images of shape (N, 28, 28), got {x.dtype} {x.shape}"
        )
    if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
        raise IdxFormatError(
            f"{labels}: expected {len(x)} uint8 labels matching {images}, got {y.dtype} {y.shape}"
        )
    if len(y) and int(y.max()) > 9:
        raise IdxFormatError(f"{labels}: labels must be in 0..9, found {int(y.max())}")
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@functools.lru_cache(maxsize=4)
def _val_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row indices of an n-row training file: a fixed permutation, 10% to val."""
    perm = np.random.default_rng(_VAL_SEED).permutation(n)
    n_val = n // _VAL_FRACTION
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    val.flags.writeable = False
    train.flags.writeable = False
    return train, val


def load_fashion_mnist(
    split: Split,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
    flatten: bool = False,
) -> tuple[Tensor, Tensor]:
    """Load a Fashion-MNIST split as (images, labels).

    ``"train"`` is 54,000 images of the 60k training file, ``"val"`` the other 6,000 (a fixed
    permutation, the same on every machine), ``"test"`` the 10k test file. Images are float32 in
    [0, 1] of shape (N, 1, 28, 28), or (N, 784) with ``flatten=True``; labels are int64 in 0..9.
    ``download=None`` downloads when the files are not found unless ``$BOOSTPROP_OFFLINE=1``;
    ``download=False`` never downloads. Parsed files are cached in-process; every call returns
    new tensors.

    Example:
        >>> x, y = load_fashion_mnist("val", download=False)
        >>> x.shape, y.dtype
        (torch.Size([6000, 1, 28, 28]), torch.int64)
    """
    check_split(split)
    if download is not None and not isinstance(download, bool):
        raise TypeError(f"download must be a bool or None, got {type(download).__name__}")
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be a bool, got {type(flatten).__name__}")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ValueError(f"data_dir must be an existing directory, got {str(data_dir)!r}")
    found = find_fashion_mnist(split, data_dir)
    if found is None:
        allowed = (not _offline()) if download is None else download
        prefix = "test" if split == "test" else "train"
        if not allowed:
            searched = ", ".join(str(d) for d in search_dirs(data_dir))
            why = "download=False" if download is False else f"{ENV_OFFLINE}=1"
            raise FileNotFoundError(
                f"Fashion-MNIST {prefix} files ({FILES[prefix + '_images'][0]}[.gz], "
                f"{FILES[prefix + '_labels'][0]}[.gz]) not found and downloading is disabled "
                f"({why}). Searched: {searched}. {_hint()}"
            )
        found = (_download(f"{prefix}_images"), _download(f"{prefix}_labels"))
    images, labels = found
    stamp = tuple(int(v) for p in found for v in (p.stat().st_mtime_ns, p.stat().st_size))
    x, y = _read_pair(str(images.resolve()), str(labels.resolve()), stamp)
    if split != "test":
        train_idx, val_idx = _val_indices(len(x))
        rows = train_idx if split == "train" else val_idx
        x, y = x[rows], y[rows]
    xt = torch.from_numpy(x.astype(np.float32)).div_(255.0)
    xt = xt.reshape(len(x), -1) if flatten else xt.unsqueeze(1)
    return xt, torch.from_numpy(y.astype(np.int64))
