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
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ResultsStore:
    """JSONL file of run records, each with a unique ``"key"``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _repair_tail(self) -> None:
        """Cut a trailing partial line left by a process killed mid-write (reads only the tail)."""
        if not self.path.exists():
            return
        with self.path.open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            pos = size
            while pos > 0:  # walk back to the last complete line
                step = min(4096, pos)
                pos -= step
                fh.seek(pos)
                chunk = fh.read(step)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    fh.truncate(pos + nl + 1)
                    return
            fh.truncate(0)

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
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}: skipping a corrupt line", stacklevel=2)

    def keys(self, *, skip_status: tuple[str, ...] = ()) -> set[str]:
        """Keys of the finished runs (leaving out records whose ``status`` is in ``skip_status``)."""
        return {r["key"] for r in self.records() if r.get("status") not in skip_status}


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename, so a kill never
    leaves a half-written file that would later be taken as finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
