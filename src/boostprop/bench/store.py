"""Append-only JSONL store of finished runs: the harness's single source of truth.

Every finished run is appended as one JSON line and flushed to disk at once (``fsync``), so a
sweep killed at any moment loses at most the runs in flight. A line cut short by a kill is
dropped (and truncated away before the next append), so the file always parses.

Example:
    >>> import tempfile, pathlib
    >>> store = ResultsStore(pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl")
    >>> store.append({"key": "a", "value": 1})
    >>> [r["key"] for r in store.records()]
    ['a']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ResultsStore:
    """JSONL file of run records, each with a unique ``"key"``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _repair_tail(self) -> None:
        """Cut a trailing partial line left by a process killed mid-write."""
        if not self.path.exists():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if not data or data.endswith(b"\n"):
                return
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record and flush it to disk before returning."""
        if "key" not in record:
            raise ValueError("record: expected a dict with a 'key' entry")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        line = json.dumps(record, sort_keys=True, allow_nan=True) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def records(self) -> Iterator[dict[str, Any]]:
        """Yield every complete record, in the order written (a partial last line is skipped)."""
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break  # cut short by a kill: not a finished run
                line = line.strip()
                if line:
                    yield json.loads(line)

    def keys(self) -> set[str]:
        """Keys of the runs already finished."""
        return {r["key"] for r in self.records()}
