"""HTML: the text a reader sees (no scripts, styles or hidden elements), and its tables.

An HTML tree is built whole, so the input is capped at HTML_MAX_BYTES.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from .chunks import TextSplitter
from .context import ParseContext, describe
from .errors import ParseError
from .tables import DocumentTables

HTML_MAX_BYTES = 32 * 1024 * 1024

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "meta", "link")
# Blocks a browser separates with space (a blank line here), and blocks that only start a new line.
_PARAGRAPHS = (
    "address", "article", "aside", "blockquote", "details", "dl", "fieldset", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre", "section", "table", "title", "ul",
)  # fmt: skip
_LINES = ("caption", "dd", "div", "dt", "figcaption", "li", "summary", "tbody", "tfoot", "thead", "tr")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Markers for the breaks the layout makes, distinct from whitespace in the source, which collapses.
_PARAGRAPH = "\x1d"
_LINE = "\x1e"
_CELL = "\x1f"
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
_CELL_GAP = re.compile(r" ?\x1f ?")


def parse_html(ctx: ParseContext) -> None:
    data = ctx.source.read(HTML_MAX_BYTES + 1)
    if len(data) > HTML_MAX_BYTES:
        raise ParseError(
            "TOO_LARGE",
            f"HTML is parsed as a whole document, and this one is larger than {HTML_MAX_BYTES // (1024 * 1024)} MiB.",
        )
    try:
        # The encoding detected from the bytes, which checked any <meta charset> against them (a page that declares
        # UTF-8 over windows-1256 bytes would otherwise become U+FFFD throughout).
        soup = BeautifulSoup(data, "lxml", from_encoding=ctx.options.encoding or ctx.detected.encoding)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail("CORRUPT_FILE", f"The HTML could not be parsed: {describe(exc)}.", exc)
    title = soup.title.get_text(" ", strip=True) if soup.title is not None else ""
    _remove_invisible(soup)
    tables = [table for table in soup.find_all("table") if isinstance(table, Tag)]
    if ctx.want_table:
        found = DocumentTables(ctx)
        for table in tables:
            found.add_table(_table_rows(table))
        found.flush()
        if not tables:
            ctx.warn("The HTML holds no table: only text chunks were produced.")
    if not ctx.want_text:
        return
    if ctx.want_table:
        # Under hybrid, table content lives in the structured output only.
        for table in tables:
            if table.find_parent("table") is None:
                table.decompose()
    text = _visible_text(soup)
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}" if text else title
    writer = ctx.outputs.chunks()
    splitter = TextSplitter(ctx.options.chunk_size, ctx.options.chunk_overlap)
    for span in (*splitter.feed(text), *splitter.finish()):
        writer.write(span)


def _remove_invisible(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_INVISIBLE):
        if isinstance(tag, Tag):
            tag.decompose()
    for tag in soup.find_all(True):
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        attrs = tag.attrs or {}
        hidden = (
            "hidden" in attrs
            or str(attrs.get("aria-hidden", "")).lower() == "true"
            or bool(_HIDDEN_STYLE.search(str(attrs.get("style", ""))))
            or (tag.name == "input" and str(attrs.get("type", "")).lower() == "hidden")
        )
        if hidden:
            tag.decompose()


def _table_rows(table: Tag) -> list[list[str]]:
    rows = []
    for row in table.find_all("tr"):
        if not isinstance(row, Tag) or row.find_parent("table") is not table:
            continue
        cells = [
            cell.get_text(" ", strip=True) for cell in row.find_all(("td", "th")) if isinstance(cell, Tag) and cell.find_parent("tr") is row
        ]
        rows.append(cells)
    return rows


def _visible_text(soup: BeautifulSoup) -> str:
    """Text as a browser lays it out: whitespace collapses, blocks and line breaks start new lines."""
    for pre in soup.find_all("pre"):
        if isinstance(pre, Tag):
            for string in list(pre.find_all(string=True)):
                string.replace_with(string.replace("\n", _LINE))
    for tag in soup.find_all("br"):
        tag.replace_with(_LINE)
    for tag in soup.find_all(("td", "th")):
        if isinstance(tag, Tag):
            tag.insert_after(_CELL)
    for names, marker in ((_PARAGRAPHS, _PARAGRAPH), (_LINES, _LINE)):
        for tag in soup.find_all(names):
            if isinstance(tag, Tag):
                tag.insert_before(marker)
                tag.insert_after(marker)
    collapsed = _SPACES.sub(" ", soup.get_text())
    paragraphs = []
    for block in collapsed.split(_PARAGRAPH):
        lines = [_CELL_GAP.sub("\t", raw).strip(" \t") for raw in block.split(_LINE)]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)
