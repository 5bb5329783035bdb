"""Render a report page in headless Chromium and report what the browser actually saw.

The page is copied with a small script injected before ``</body>``; on the window ``load`` event
the script inspects the DOM (images, whether they decoded, the verdict table) and writes the
result as JSON into ``<pre id="browser-check">``. Chromium's ``--dump-dom`` then prints the
final DOM, from which :func:`render_report` parses that JSON.

Example:
    >>> # render_report(Path("reports/quick/report.html"))["n_loaded"]
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ENV_VAR = "BOOSTPROP_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHECK_ID = "browser-check"
TIMEOUT_SECONDS = 60.0

_CHECK_SCRIPT = """
<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message || e.type)); });
  window.addEventListener("load", function () {
    var out = {errors: errors};
    try {
      var imgs = Array.prototype.slice.call(document.querySelectorAll("img"));
      out.n_images = imgs.length;
      out.images = imgs.map(function (im) {
        return {complete: im.complete, loaded: im.complete && im.naturalWidth > 0,
                natural_width: im.naturalWidth, natural_height: im.naturalHeight,
                alt: im.getAttribute("alt") || ""};
      });
      out.n_loaded = out.images.filter(function (i) { return i.loaded; }).length;
      var anchor = document.getElementById("verdicts");
      out.verdicts_heading = anchor !== null;
      out.verdict_table = false;
      out.verdict_header = [];
      out.verdict_rows = [];
      out.verdict_cells = [];
      var el = anchor ? anchor.nextElementSibling : null;
      while (el && !/^H[1-6]$/.test(el.tagName) && el.tagName !== "TABLE") {
        el = el.nextElementSibling;
      }
      if (el && el.tagName === "TABLE") {
        out.verdict_header = Array.prototype.map.call(el.querySelectorAll("thead th"),
          function (th) { return th.textContent.trim(); });
        var col = -1;  // the first verdict column (tuned baselines)
        out.verdict_header.forEach(function (h, i) {
          if (col < 0 && h.toLowerCase().indexOf("verdict") === 0) { col = i; }
        });
        var rows = el.tBodies.length ? el.tBodies[0].rows : [];
        out.verdict_rows = Array.prototype.map.call(rows, function (tr) {
          return Array.prototype.map.call(tr.cells, function (td) {
            return td.textContent.trim();
          });
        });
        out.verdict_cells = out.verdict_rows.map(function (r) {
          return col >= 0 ? r[col] : r[r.length - 1];
        });
        out.verdict_table = out.verdict_rows.length > 0;
      }
    } catch (e) {
      out.errors.push("check script: " + e);
    }
    var pre = document.createElement("pre");
    pre.id = "__CHECK_ID__";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>
""".replace("__CHECK_ID__", CHECK_ID)


def find_chromium() -> str:
    """Path of a Chromium/Chrome binary: ``$BOOSTPROP_CHROMIUM`` if set, else the first of
    ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH``.

    Raises:
        RuntimeError: no browser found (the message says to run ``make browser``), or
            ``$BOOSTPROP_CHROMIUM`` names something that is not an executable.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        found = shutil.which(override)
        if found is None:
            raise RuntimeError(
                f"{ENV_VAR}={override!r} is not an executable file or a command on PATH; "
                "point it at a Chromium binary, or unset it and run `make browser`"
            )
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise RuntimeError(
        f"no Chromium found (looked for {', '.join(CANDIDATES)} on PATH and ${ENV_VAR}); "
        "run `make browser` to install Debian's chromium package, or set "
        f"{ENV_VAR} to a Chromium/Chrome binary"
    )


def inject_check(page: str) -> str:
    """``page`` with the DOM-inspecting script inserted before its last ``</body>``."""
    i = page.lower().rfind("</body>")
    if i < 0:
        return page + _CHECK_SCRIPT
    return page[:i] + _CHECK_SCRIPT + page[i:]


def parse_check(dom: str) -> dict[str, Any]:
    """The JSON the injected script wrote into ``<pre id="browser-check">`` of a dumped DOM."""
    m = re.search(rf'<pre id="{CHECK_ID}">(.*?)</pre>', dom, flags=re.DOTALL)
    if m is None:
        raise ValueError(f'dom: no <pre id="{CHECK_ID}"> element (the load event never ran?)')
    result: dict[str, Any] = json.loads(html.unescape(m.group(1)))
    return result


def render_report(html_path: Path, *, timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Load ``html_path`` in headless Chromium and return what the injected check script saw.

    Keys: ``n_images``, ``n_loaded``, ``images`` (per ``<img>``: ``loaded``, ``complete``,
    ``natural_width``, ``natural_height``, ``alt``), ``verdicts_heading`` (an element with id
    ``verdicts`` exists), ``verdict_table`` (a ``<table>`` follows it, before the next heading,
    with at least one body row), ``verdict_header``, ``verdict_rows`` (cell texts),
    ``verdict_cells`` (the text of each row's "verdict" column) and ``errors`` (script errors).

    Raises:
        FileNotFoundError: ``html_path`` does not exist.
        RuntimeError: no Chromium (see :func:`find_chromium`), Chromium failed or timed out, or
            its DOM lacks the check's result; the message includes Chromium's stderr.
    """
    html_path = Path(html_path)
    if not html_path.is_file():
        raise FileNotFoundError(f"html_path: {html_path} is not a file")
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="boostprop-browser-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(inject_check(html_path.read_text(encoding="utf-8")), encoding="utf-8")
        profile = Path(tmp) / "profile"
        cmd = [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            raise RuntimeError(
                f"chromium timed out after {timeout:g} s on {html_path}; stderr:\n{stderr}"
            ) from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"chromium exited with {proc.returncode} on {html_path}; stderr:\n{proc.stderr}"
            )
        try:
            return parse_check(proc.stdout)
        except ValueError as exc:
            raise RuntimeError(
                f"chromium rendered {html_path} but {exc}; stdout starts "
                f"{proc.stdout[:300]!r}; stderr:\n{proc.stderr}"
            ) from exc
