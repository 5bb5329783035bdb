"""Fixtures shared by the boostprop.data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from boostprop.data import fashion_mnist


@pytest.fixture
def no_local_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hide every Fashion-MNIST location: fresh HOME, no env vars, no system directory.

    Returns the fake HOME.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("BOOSTPROP_DATA_DIR", raising=False)
    monkeypatch.delenv("BOOSTPROP_OFFLINE", raising=False)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (tmp_path / "no-debian-here",))
    return home
