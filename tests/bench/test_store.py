"""The JSONL results store survives a write cut short by a kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from boostprop.bench.store import ResultsStore


def test_append_and_read(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "sub" / "runs.jsonl")
    store.append({"key": "a", "x": 1.5})
    store.append({"key": "b", "x": float("nan")})
    recs = list(store.records())
    assert [r["key"] for r in recs] == ["a", "b"]
    assert store.keys() == {"a", "b"}
    with pytest.raises(ValueError, match="key"):
        store.append({"x": 1})


def test_partial_last_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"key": "a"}) + "\n" + '{"key": "b", "x": 1')  # killed mid-write
    store = ResultsStore(path)
    assert store.keys() == {"a"}
    store.append({"key": "c"})
    assert [r["key"] for r in store.records()] == ["a", "c"]
    assert path.read_text().count("\n") == 2


def test_corrupt_middle_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text('{"key": "a"}\n{not json\n{"key": "b"}\n')
    with pytest.warns(UserWarning, match="corrupt"):
        assert [r["key"] for r in ResultsStore(path).records()] == ["a", "b"]
