"""The HTML report, opened in a real (headless Chromium) browser: every plot decodes and the
verdict table is there. Fails, rather than skips, without Chromium: run `make browser`."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest
from _browser import find_chromium, render_report

from boostprop.bench.claims import get_claim

_IMG_DATA = re.compile(r'src="data:image/png;base64,([^"]+)"')


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, read independently of any browser."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def report(smoke: Path) -> Path:
    """The report of the smoke-size reproduction of every claim (conftest.py)."""
    return smoke / "report.html"


def test_report_renders_in_chromium(report: Path) -> None:
    figures = sorted((report.parent / "figures").glob("*.png"))
    plan = json.loads((report.parent / "plan.json").read_text())
    page = report.read_text()
    expected_sizes = [_png_size(base64.b64decode(d)) for d in _IMG_DATA.findall(page)]

    seen = render_report(report)

    assert seen["errors"] == []
    assert len(figures) > 0
    assert seen["n_images"] == len(figures) == len(expected_sizes)
    assert seen["n_loaded"] == seen["n_images"]
    for img in seen["images"]:
        assert img["loaded"] and img["natural_width"] > 0 and img["natural_height"] > 0
    # the browser decoded each image at the size its PNG header states
    assert [(i["natural_width"], i["natural_height"]) for i in seen["images"]] == expected_sizes
    assert sorted(expected_sizes) == sorted(_png_size(f.read_bytes()) for f in figures)
    # the performance profiles: one across the report, one per claim with shared recipes
    profiles = [i for i in seen["images"] if "performance profile" in i["alt"]]
    assert profiles and all(i["loaded"] for i in profiles)
    assert profiles[0]["alt"].startswith("every comparison of the report")
    n_profile_files = sum(
        f.name.endswith("profile.png") or f.name == "profile__all.png" for f in figures
    )
    assert len(profiles) == n_profile_files

    assert seen["verdicts_heading"] and seen["verdict_table"]
    assert seen["verdict_header"][-2:] == [
        "verdict (tuned baselines)",
        "verdict (paper's protocol)",
    ]
    assert len(seen["verdict_rows"]) == len(plan["claims"])
    statuses = {"holds", "partly holds", "not reproduced", "inconclusive"}
    assert len(seen["verdict_cells"]) == len(plan["claims"])
    assert set(seen["verdict_cells"]) <= statuses
    assert {row[-1] for row in seen["verdict_rows"]} <= statuses | {"–", "not run in this preset"}
    papers = [get_claim(e["name"]).paper for e in plan["claims"]]
    assert [row[0] for row in seen["verdict_rows"]] == papers


def test_broken_images_and_empty_verdict_table_are_detected(report: Path, tmp_path: Path) -> None:
    page = report.read_text()
    data = _IMG_DATA.findall(page)
    assert len(data) >= 3 and data[0].startswith("iVBORw0KGgo")  # the PNG signature
    # image 0: valid base64 but no PNG signature; image 1: invalid base64; the rest intact
    broken = page.replace(data[0], "AAAAAAAAAAA" + data[0][11:], 1)
    broken = broken.replace(data[1], data[1][:40] + "!!!!" + data[1][44:], 1)
    # keep the heading and the table, drop the table's body rows
    head, rest = broken.split('id="verdicts"', 1)
    rest = re.sub(r"<tbody>.*?</tbody>", "<tbody></tbody>", rest, count=1, flags=re.DOTALL)
    copy = tmp_path / "broken.html"
    copy.write_text(head + 'id="verdicts"' + rest)

    seen = render_report(copy)

    assert [i["loaded"] for i in seen["images"]] == [False, False] + [True] * (len(data) - 2)
    assert seen["n_loaded"] == len(data) - 2
    assert seen["images"][0]["natural_width"] == 0 and seen["images"][1]["natural_width"] == 0
    assert seen["verdicts_heading"] and not seen["verdict_table"]
    assert seen["verdict_rows"] == []
    assert seen["verdict_header"][-1] == "verdict (paper's protocol)"


def test_missing_chromium_is_an_error_naming_make_browser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BOOSTPROP_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="make browser"):
        find_chromium()
    monkeypatch.setenv("BOOSTPROP_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(RuntimeError, match="BOOSTPROP_CHROMIUM"):
        find_chromium()
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BOOSTPROP_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    with pytest.raises(FileNotFoundError, match="html_path"):
        render_report(tmp_path / "missing.html")
