"""A tiny document model rendered both to Markdown and to one self-contained HTML page.

The report is built once as a list of blocks; the Markdown page links its PNG plots, the HTML
page inlines them as base64 data URIs so it can be mailed or archived as a single file.

Example:
    >>> doc = [Heading("Title", 1), Paragraph("Hello."), Table(["a"], [["1"]])]
    >>> print(to_markdown(doc).splitlines()[0])
    # Title
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    """A heading of ``level`` 1–6, with an optional ``anchor`` to link to."""

    text: str
    level: int = 2
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text."""

    text: str  # may contain **bold**, `code` and [links](#anchor)


@dataclass(frozen=True)
class Table:
    """A table: a header row and rows of cells (strings)."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Image:
    """A PNG plot with its caption (linked from Markdown, inlined in HTML)."""

    path: Path  # a PNG file
    caption: str


@dataclass(frozen=True)
class Code:
    """A preformatted block (a command, a listing)."""

    text: str


Block = Heading | Paragraph | Table | Image | Code


def slug(text: str) -> str:
    """An anchor name from a heading text."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_markdown(blocks: Sequence[Block], *, relative_to: Path | None = None) -> str:
    """The blocks as Markdown; image paths are written relative to ``relative_to`` when given.

    Example:
        >>> print(to_markdown([Heading("T", 2), Table(["a", "b"], [["1", "x"]])]))
        ## T
        <BLANKLINE>
        | a | b |
        |---|---|
        | 1 | x |
        <BLANKLINE>
    """
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            if b.anchor:
                out.append(f'<a id="{b.anchor}"></a>\n')
            out.append(f"{'#' * b.level} {b.text}\n")
        elif isinstance(b, Paragraph):
            out.append(b.text + "\n")
        elif isinstance(b, Table):
            out.append("| " + " | ".join(b.header) + " |")
            out.append("|" + "---|" * len(b.header))
            out.extend(
                "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in b.rows
            )
            out.append("")
        elif isinstance(b, Image):
            p = b.path.relative_to(relative_to) if relative_to else b.path
            out.append(f"![{b.caption}]({p.as_posix()})\n\n*{b.caption}*\n")
        elif isinstance(b, Code):
            out.append("```\n" + b.text.rstrip() + "\n```\n")
    return "\n".join(out)


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"\[(.+?)\]\((#[^)]+)\)", r'<a href="\2">\1</a>', t)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1b1f24;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa} figure{margin:1em 0} img{max-width:100%;border:1px solid #eee}
figcaption{color:#57606a;font-size:.9em} code,pre{background:#f6f8fa;border-radius:4px}
pre{padding:.6em;overflow-x:auto} h1{border-bottom:2px solid #d0d7de}
"""


def to_html(blocks: Sequence[Block], *, title: str) -> str:
    """The blocks as one self-contained HTML page (images inlined as base64 data URIs).

    Example:
        >>> page = to_html([Heading("Title", 1), Paragraph("**Hi** `x`")], title="Doc")
        >>> print(page.split("<body>")[1].strip())
        <h1>Title</h1>
        <p><strong>Hi</strong> <code>x</code></p>
        </body></html>
    """
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            anchor = f' id="{b.anchor}"' if b.anchor else ""
            body.append(f"<h{b.level}{anchor}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            body.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Image):
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(b.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            body.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
