"""The PDF reader chain's fallbacks and the clean-up of PDFium's text.

The order of the chain was measured with bench/pdf_chain.py over this corpus, pdfminer.six's samples and pdf.js's
test PDFs (bench/pdf_chain_results.json): PDFium reads the most files, fastest; of the files it refuses, pdfminer.six
recovers text from more than pypdf does, so pdfminer.six comes second and pypdf last. pdfminer.six also lays out
vertical CJK text, which PDFium drops (see `text_runs`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

# PDFium marks a hyphen it removed at a line end (the word then runs on) with U+FFFE, and older builds with U+0002;
# U+00AD is a soft hyphen, invisible by definition. All three go, so the word reads whole.
_HYPHEN_MARKERS = re.compile("[\ufffe\x02\u00ad]")
# Other C0 controls are glyphs of fonts with no Unicode mapping (often CID 3, the space): a space keeps the
# neighbouring words apart. NUL separates the bytes of two-byte codes read as one-byte text: it goes.
_CONTROLS = re.compile("[\x01\x03-\x08\x0b\x0c\x0e-\x1f\x7f\uffff]")


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _CONTROLS.sub(" ", _HYPHEN_MARKERS.sub("", text))


def printable_count(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def text_runs(page: Any) -> tuple[int, int]:
    """(text objects on the page, those of them laid out vertically: much taller than wide).

    A text object draws at least one glyph. PDFium drops vertical CJK text from its text page, whole runs of it, and
    some fonts without a Unicode mapping as well: a page with fewer characters than text runs, or with vertical runs,
    is read again by the next reader. Each run costs one bounds call; its characters are never asked for (PDFium
    answers that per run by scanning the whole page).
    """
    import pypdfium2.raw as raw

    total = vertical = 0
    for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_TEXT], max_depth=15):
        total += 1
        left, bottom, right, top = obj.get_bounds()
        if top - bottom > 3 * max(right - left, 1.0):
            vertical += 1
    return total, vertical


def has_images(page: Any) -> bool:
    import pypdfium2.raw as raw

    return any(True for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=15))


def pdfminer_pages(stream: BinaryIO, page_numbers: list[int] | None = None) -> Iterator[str]:
    """The text of each page (or of the 0-based `page_numbers`), by pdfminer.six, vertical text included."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    stream.seek(0)
    params = LAParams(detect_vertical=True)
    for layout in extract_pages(cast(io.IOBase, stream), password="", page_numbers=page_numbers, laparams=params):
        yield "\n".join(element.get_text() for element in layout if isinstance(element, LTTextContainer))


def pdfminer_page(stream: BinaryIO, index: int) -> str:
    for text in pdfminer_pages(stream, [index]):
        return text
    return ""


def pypdf_pages(stream: BinaryIO) -> Iterator[str]:
    """The text of each page by pypdf, decrypting with the empty user password when the file is encrypted."""
    from pypdf import PdfReader

    stream.seek(0)
    reader = PdfReader(stream)
    if reader.is_encrypted and not reader.decrypt(""):
        raise PasswordNeeded("pypdf: the empty user password does not open the file")
    for page in reader.pages:
        yield page.extract_text() or ""


class PasswordNeeded(Exception):
    pass


def open_fallback(name: str, stream: BinaryIO) -> Iterator[str]:
    """Open with a fallback reader and read its first page now, so that a reader that cannot open the file fails
    here, before any page is written."""
    pages = pdfminer_pages(stream) if name == "pdfminer.six" else pypdf_pages(stream)
    first = next(pages, None)
    if first is None:
        return iter(())

    def chained() -> Iterator[str]:
        yield first
        yield from pages

    return chained()
