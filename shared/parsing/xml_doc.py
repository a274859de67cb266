"""Generic XML. The rows are the elements that repeat most under one parent (invoice lines, orders, items); each
row flattens its element: child paths become columns, attributes `@name`. UBL and cXML documents are recognised
by their root and their line elements are the rows. Text chunks hold the text of the elements in order.

The document is read whole (up to MAX_XML_BYTES) with a parser that resolves no entity and fetches nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .chunks import UnitChunker
from .context import ParseContext, describe
from .errors import ParseError
from .rows import RowBatcher, RowSchema

MAX_XML_BYTES = 64 * 1024 * 1024
_UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
_CXML_ROWS = ("ItemOut", "ItemIn", "InvoiceDetailItem", "ShipNoticeItem")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_xml(ctx: ParseContext) -> None:
    from lxml import etree

    data = ctx.source.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise ParseError("TOO_LARGE", f"An XML document is read whole, and this one is larger than "
                                      f"{MAX_XML_BYTES >> 20} MiB. Split it, or send its records as JSON Lines.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError("CORRUPT_FILE", f"The XML document is not well-formed: {describe(exc)}.") from None
    if ctx.want_table:
        _rows(ctx, root)
    if ctx.want_text:
        chunker = UnitChunker(ctx.outputs.chunks(), ctx.options.chunk_size, ctx.options.chunk_overlap)
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            for text in (element.text, element.tail if element is not root else None):
                if text and text.strip():
                    chunker.add(text.strip(), {"line": element.sourceline or 0})
        chunker.flush()


def _rows(ctx: ParseContext, root: Any) -> None:
    kind, records = _records(root)
    ctx.guess("xml_records", _local(records[0].tag) if records else _local(root.tag), "high" if kind else "medium",
              f"{kind} document" if kind else "the element that repeats most under one parent")
    rows = []
    schema = RowSchema()  # the document is in memory already: one pass fixes the schema of every row
    for record in records:
        row: dict[str, Any] = {}
        _flatten(record, "", row)
        schema.observe(row)
        rows.append(row)
    batcher = RowBatcher(ctx.outputs.table, schema)
    for row in rows:
        batcher.add(row)
    batcher.flush()


def _records(root: Any) -> tuple[str, list[Any]]:
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    name = _local(root.tag)
    if namespace.startswith(_UBL):
        lines = [el for el in root if _local(el.tag) == f"{name}Line" or _local(el.tag).endswith("Line")]
        if lines:
            return f"UBL {name}", lines
    if name == "cXML":
        items = [el for el in root.iter() if _local(el.tag) in _CXML_ROWS]
        if items:
            return "cXML", items
    counts: Counter[tuple[Any, str]] = Counter()
    for element in root.iter():
        parent = element.getparent()
        if parent is not None and isinstance(element.tag, str):
            counts[(parent, element.tag)] += 1
    repeated = [(count, key) for key, count in counts.items() if count >= 2]
    if not repeated:
        return "", [root]
    _count, (parent, tag) = max(repeated, key=lambda item: item[0])
    return "", [child for child in parent if child.tag == tag]


def _flatten(element: Any, prefix: str, row: dict[str, Any]) -> None:
    for key, value in element.attrib.items():
        _put(row, f"{prefix}@{_local(key)}", value)
    children = [child for child in element if isinstance(child.tag, str)]
    text = (element.text or "").strip()
    if text or not children:
        _put(row, prefix.rstrip("/") or "value", text or None)
    for child in children:
        _flatten(child, f"{prefix}{_local(child.tag)}/", row)


def _put(row: dict[str, Any], key: str, value: Any) -> None:
    key = key.rstrip("/") or "value"
    if key in row:
        number = 2
        while f"{key}_{number}" in row:
            number += 1
        key = f"{key}_{number}"
    row[key] = value
