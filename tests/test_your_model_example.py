"""``examples/your_model`` as ``docs/your_model.md`` runs it: your own model and data in the harness.

The documented example (``compare_wine.py``: three recipes on ``wine_model:load`` and
``wine_model:build``) runs for real at a small size — 2 epochs, 2 learning-rate factors, 2 seeds —
and must write a report labelled a descriptive comparison without any verdict, with one row per
recipe and finite test accuracies. The documented command line (``python -m boostprop.cli bench
--data wine_model:load --model wine_model:build ...`` with the example's folder on
``PYTHONPATH``, in a fresh process like a user's shell) must write the same plan and train the
same runs (the same keys) into a second folder. Re-running that command trains nothing new; the
same command with another ``--epochs`` is refused with a message naming what changed, and leaves
the folder as it was. The command line shown in ``docs/your_model.md`` is the one run here.

Cost: the command-line process (start-up, imports) runs while the Python call trains in this
process; the re-run and the refused run call :func:`boostprop.cli.main` in this process.
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from boostprop.bench import get_recipe
from boostprop.bench.plan import plan_content
from boostprop.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = ROOT / "examples" / "your_model"
RECIPES = ["softmax-ce+adam", "rooted-paper-k3+adam", "neuronboost"]
SMALL = ["--epochs", "2", "--seeds", "2", "--lr-factors", "0.5,2"]
# the CLI form of compare_wine.py's call (docs/your_model.md), at the small size
CLI = [
    "bench",
    "--data",
    "wine_model:load",
    "--model",
    "wine_model:build",
    "--model-kwargs",
    '{"width": 32, "depth": 2}',
    "--recipes",
    ",".join(RECIPES),
    "--batch-size",
    "16",
    "--target",
    "0.9",
    *SMALL,
    "--no-progress",
]
VERDICT_WORDS = ("holds", "not reproduced", "Verdict")
TIMEOUT = 120


def test_docs_show_the_tested_command() -> None:
    """docs/your_model.md's command line is the one tested below (up to the budget flags)."""
    doc = (ROOT / "docs" / "your_model.md").read_text()
    for flag in ("--data", "--model", "--model-kwargs", "--recipes", "--batch-size", "--target"):
        value = CLI[CLI.index(flag) + 1]
        shown = f"{flag} '{value}'" if value.startswith("{") else f"{flag} {value}"
        assert shown in doc, shown
    assert "python examples/your_model/compare_wine.py" in doc
    assert "PYTHONPATH=examples/your_model boostprop bench" in doc


def _keys(out: Path) -> list[str]:
    return [json.loads(line)["key"] for line in (out / "runs.jsonl").read_text().splitlines()]


def _plan(out: Path) -> dict[str, Any]:
    return plan_content(json.loads((out / "plan.json").read_text()))


def _with(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with the value after ``flag`` replaced by ``value``."""
    i = args.index(flag)
    return [*args[: i + 1], value, *args[i + 2 :]]


def test_your_model_example_python_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    py_out, cli_out = tmp_path / "python", tmp_path / "cli"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(EXAMPLE_DIR), os.environ.get("PYTHONPATH")) if p
        ),
        "OMP_NUM_THREADS": "1",
    }
    # the documented command line, in its own process, started first (it runs meanwhile)
    proc = subprocess.Popen(
        [sys.executable, "-m", "boostprop.cli", *CLI, "--out", str(cli_out)],
        cwd=tmp_path,  # not the repository: only PYTHONPATH makes wine_model importable
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the documented Python example, in this process
        monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
        example = importlib.import_module("compare_wine")
        assert doctest.testmod(importlib.import_module("wine_model")).failed == 0
        result = example.main(["--out", str(py_out), *SMALL, "--no-progress"])
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"CLI failed:\n{stdout}\n{stderr}"

    # the comparison as a table: one row per recipe, every seed finished, finite test accuracy
    assert [r["recipe"] for r in result.rows] == RECIPES
    for row in result.rows:
        assert row["runs_ok"] == row["runs"] == 2, row
        default_lr = get_recipe(row["recipe"]).lr
        assert row["tuned_lr"] in {default_lr * 0.5, default_lr * 2.0}, row
        assert isinstance(row["test_acc_mean"], float) and math.isfinite(row["test_acc_mean"])
        assert 0.0 <= row["test_acc_mean"] <= 1.0, row
    printed = capsys.readouterr().out
    assert all(f"| {r} |" in printed for r in RECIPES), printed
    assert f"report: {result.report}" in printed

    # the report: a descriptive comparison, no verdict, the recipes in its table
    assert result.report == py_out / "report.html"
    for page in (py_out / "report.html", py_out / "report.md"):
        text = page.read_text()
        assert "descriptive comparison" in text and "no paper verdict" in text, page
        assert "boostprop comparison report" in text, page
        for word in VERDICT_WORDS:
            assert word not in text, (page, word)
        for recipe in RECIPES:
            assert recipe in text, (page, recipe)
    assert "compare_wine.py" in (py_out / "report.md").read_text()  # the command that made it

    # the CLI wrote the same plan and trained the same runs into its own folder
    assert _plan(cli_out) == _plan(py_out)
    keys = _keys(cli_out)
    assert len(keys) == len(set(keys)) == 3 * 2 + 3 * 2  # tuning (3 recipes × 2 lrs) + seeds
    assert set(keys) == set(_keys(py_out))
    assert (cli_out / "report.html").is_file()
    assert all(f"| {r} |" in stdout for r in RECIPES), stdout

    # re-running the command resumes: nothing is trained again, the report is rebuilt
    before = (cli_out / "runs.jsonl").read_text()
    assert cli_main([*CLI, "--out", str(cli_out)]) == 0
    assert (cli_out / "runs.jsonl").read_text() == before
    capsys.readouterr()

    # another budget into the same folder is refused, naming what changed; nothing is touched
    plan_before = (cli_out / "plan.json").read_text()
    changed = _with(CLI, "--epochs", "3")
    assert cli_main([*changed, "--out", str(cli_out)]) == 2
    err = capsys.readouterr().err
    assert "already holds a different plan" in err and "epochs" in err, err
    assert "another --out" in err, err
    assert (cli_out / "runs.jsonl").read_text() == before
    assert (cli_out / "plan.json").read_text() == plan_before
