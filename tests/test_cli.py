"""The command line: help a new user understands, clear errors, the listing commands."""

from __future__ import annotations

import pytest

from boostprop.cli import main


def test_help_mentions_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("reproduce", "bench", "report", "datasets", "recipes"):
        assert cmd in out


def test_listings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "mnist1d" in out and "fashion_mnist" in out
    assert main(["recipes"]) == 0
    assert "softmax-ce+adam" in capsys.readouterr().out
    assert main(["claims"]) == 0
    assert "baselines" in capsys.readouterr().out


def test_clear_errors(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "plan.json" in capsys.readouterr().err
    assert main(["reproduce", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "claim" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--jobs", "0"])
    assert "positive integer" in capsys.readouterr().err
