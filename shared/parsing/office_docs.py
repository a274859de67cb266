"""Documents other than DOCX: PPTX (python-pptx), ODT (its content.xml read with lxml) and email (the standard
library's `email` package). Each yields text chunks; tables found in a PPTX or ODT go to the structured output
under hybrid, as with DOCX.
"""

from __future__ import annotations

import zipfile
from typing import Any

from .chunks import UnitChunker
from .context import ParseContext, describe
from .errors import ParseError
from .tables import DocumentTables

MAX_EMAIL_BYTES = 64 * 1024 * 1024
_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODF_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"


def _chunker(ctx: ParseContext) -> UnitChunker:
    return UnitChunker(ctx.outputs.chunks(), ctx.options.chunk_size, ctx.options.chunk_overlap)


def parse_pptx(ctx: ParseContext) -> None:
    from pptx import Presentation

    try:
        presentation = Presentation(ctx.stream)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail("CORRUPT_FILE", f"The PowerPoint presentation could not be opened: {describe(exc)}.", exc)
    tables = DocumentTables(ctx) if ctx.want_table else None
    chunker = _chunker(ctx)
    try:
        for number, slide in enumerate(presentation.slides, start=1):
            chunker.flush()  # chunks never cross a slide
            for shape in _shapes(slide.shapes):
                if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                    for paragraph in shape.text_frame.paragraphs:
                        # python-pptx writes a line break inside a paragraph as a vertical tab.
                        chunker.add(paragraph.text.replace("\v", "\n"), {"slide": number})
                if getattr(shape, "has_table", False) and shape.has_table:
                    rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                    if tables is not None:
                        tables.add_table(rows)
                    for cells in rows:
                        chunker.add("\t".join(cells), {"slide": number})
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = slide.notes_slide.notes_text_frame.text
                if notes.strip():
                    chunker.add(notes, {"slide": number, "notes": 1})
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above
        ctx.fail("CORRUPT_FILE", f"The presentation's slides could not be read: {describe(exc)}.", exc)
    ctx.page_count = len(presentation.slides)
    chunker.flush()
    if tables is not None:
        tables.flush()


def _shapes(shapes: Any) -> Any:
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            yield from _shapes(shape.shapes)  # a group
        else:
            yield shape


def parse_odt(ctx: ParseContext) -> None:
    from lxml import etree

    try:
        with zipfile.ZipFile(ctx.stream) as archive:
            content = archive.read("content.xml")
            styles = archive.read("styles.xml") if "styles.xml" in archive.namelist() else b""
    except Exception as exc:  # noqa: BLE001 - as above
        ctx.fail("CORRUPT_FILE", f"The OpenDocument text could not be opened: {describe(exc)}.", exc)
    if b"<!ENTITY" in content or b"<!ENTITY" in styles:
        raise ParseError("UNSUPPORTED_FORMAT", "The OpenDocument text declares XML entities (possibly pointing at "
                         "other files), which are never expanded. Save it again from a word processor.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
        style_root = etree.fromstring(styles, parser) if styles else None
    except etree.XMLSyntaxError as exc:
        raise ParseError("CORRUPT_FILE", f"The OpenDocument text is damaged: {describe(exc)}.") from None
    body = root.find(f"{{{_ODF_OFFICE}}}body")
    if body is None:
        raise ParseError("CORRUPT_FILE", "The OpenDocument text has no body.")
    tables = DocumentTables(ctx) if ctx.want_table else None
    chunker = _chunker(ctx)
    paragraph = 0
    for element in body.iter(f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h", f"{{{_ODF_TABLE}}}table"):
        if element.tag == f"{{{_ODF_TABLE}}}table":
            if tables is not None:
                rows = [[_odf_text(cell) for cell in row.iter(f"{{{_ODF_TABLE}}}table-cell")]
                        for row in element.iter(f"{{{_ODF_TABLE}}}table-row")]
                tables.add_table(rows)
            continue
        paragraph += 1
        chunker.add(_odf_text(element), {"paragraph": paragraph})
    chunker.flush()
    if style_root is not None:
        # Page headers and footers live with the page styles, not in the body.
        for kind in ("header", "footer"):
            for region in style_root.iter(f"{{{_ODF_STYLE}}}{kind}"):
                for element in region.iter(f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"):
                    chunker.add(_odf_text(element), {"part": kind})
                chunker.flush()
    if tables is not None:
        tables.flush()


def _odf_text(element: Any) -> str:
    """The text of an ODF paragraph, with its spaces (text:s), tabs and line breaks spelled out."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == f"{{{_ODF_TEXT}}}s":
                parts.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1")))
            elif tag == f"{{{_ODF_TEXT}}}tab":
                parts.append("\t")
            elif tag == f"{{{_ODF_TEXT}}}line-break":
                parts.append("\n")
            elif tag != f"{{{_ODF_TEXT}}}note":
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return "".join(parts)


def parse_eml(ctx: ParseContext) -> None:
    import email
    from email import policy
    from email.message import EmailMessage

    data = ctx.source.read(MAX_EMAIL_BYTES + 1)
    if len(data) > MAX_EMAIL_BYTES:
        raise ParseError("TOO_LARGE", f"An email is read whole, and this one is larger than {MAX_EMAIL_BYTES >> 20} MiB.")
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage):
        raise ParseError("CORRUPT_FILE", "The email could not be read.")
    chunker = _chunker(ctx)
    headers = [f"{name}: {message[name]}" for name in ("From", "To", "Cc", "Date", "Subject") if message[name]]
    chunker.add("\n".join(headers), {"part": 0})
    chunker.flush()
    attachments: list[str] = []
    for number, part in enumerate(message.walk(), start=1):
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment" or part.get_content_maintype() != "text":
            attachments.append(filename or part.get_content_type())
            continue
        text = _part_text(ctx, part)
        if part.get_content_subtype() == "html":
            from bs4 import BeautifulSoup

            text = BeautifulSoup(text, "lxml").get_text("\n")
        chunker.add(text, {"part": number})
        chunker.flush()
    if attachments:
        shown = ", ".join(attachments[:10])
        ctx.warn(f"The email has {len(attachments)} attachments or non-text parts that were not parsed: {shown}.")


def _part_text(ctx: ParseContext, part: Any) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        ctx.warn(f"A text part declared as {charset!r} is not valid in that charset; it was read as Latin-1.")
        return payload.decode("latin-1")
