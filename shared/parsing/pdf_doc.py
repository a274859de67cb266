"""PDF text with pypdfium2 (PDFium), page by page. Chunks never cross a page and carry its number (1-based).

PDFium was chosen over pypdf by measurement on the corpus PDFs (bench/parse.py): about ten times the pages per
second, with the same words found on all but two rotated-text files, where the two readers each miss about a third
of the other's words. Each page and its text page are closed as soon as they are read, so memory stays flat however
many pages there are. The document's metadata is never read, so an unreadable Info dictionary loses nothing. Table
extraction from PDF is not attempted.
"""

from __future__ import annotations

from .chunks import TextSplitter
from .context import ParseContext, describe
from .errors import ParseError

PAGE_SEPARATOR = "\n\n"


def parse_pdf(ctx: ParseContext) -> None:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(ctx.stream)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ParseError("UNSUPPORTED_FORMAT", "The PDF is password-protected. Upload a copy saved without a "
                             "password.") from None
        ctx.fail("CORRUPT_FILE", f"The PDF could not be read ({describe(exc)}). It may be truncated or damaged: "
                 "export it again.", exc)
    try:
        _pages(ctx, document)
    finally:
        document.close()


def _pages(ctx: ParseContext, document: object) -> None:
    page_count = len(document)  # type: ignore[arg-type]
    if page_count == 0:
        raise ParseError("CORRUPT_FILE", "The PDF holds no pages.")
    ctx.page_count = page_count
    if ctx.profile == "hybrid":
        ctx.warn("Tables are not extracted from PDF: the hybrid profile yields the text chunks only.")
    writer = ctx.outputs.chunks()
    offset = 0
    unreadable: list[int] = []
    for number in range(1, page_count + 1):
        try:
            page = document[number - 1]  # type: ignore[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            finally:
                page.close()
        except Exception as exc:
            if ctx.source.failure is not None:
                raise ctx.source.failure from exc
            unreadable.append(number)
            ctx.warn(f"The text of page {number} could not be extracted ({describe(exc, 120)}).")
            text = ""
        if ctx.source.failure is not None:
            # PDFium reads through a callback that swallows exceptions: a failed read must not pass for a blank page.
            raise ctx.source.failure
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        splitter = TextSplitter(ctx.options.chunk_size, ctx.options.chunk_overlap, base=offset)
        for span in (*splitter.feed(text), *splitter.finish()):
            writer.write(span, {"page": number})
        offset += len(text) + len(PAGE_SEPARATOR)
    if len(unreadable) == page_count:
        ctx.fail("CORRUPT_FILE", "No page of the PDF could be read: it is damaged. Export it again.")
    if writer.count == 0:
        ctx.warn("The PDF holds no extractable text; scanned pages would need OCR, which is not performed.")
