"""PDF text, page by page, through a reader chain. Chunks never cross a page and carry its number (1-based).

PDFium (pypdfium2) reads first: about ten times pypdf's pages per second on the corpus (bench/parse.py). When it
refuses a file, pdfminer.six and then pypdf try, in the order bench/pdf_chain.py measured (see pdf_readers.py);
both open a file that has only an owner password with the empty user password. A page whose text runs PDFium cannot
read (vertical CJK text) is read again by pdfminer.six, and the artifact says so. A page with no text layer but an
image is a scan: with an OCR engine it is rendered at 300 dpi and read by OCR, and its chunks say `ocr: true`.

Each page and its text page are closed as soon as they are read, so memory stays flat however many pages there are.
The document's metadata is never read, so an unreadable Info dictionary loses nothing. Table extraction from PDF is
not attempted.
"""

from __future__ import annotations

from typing import Any

from .chunks import ChunkWriter, TextSplitter
from .context import ParseContext, describe
from .errors import ParseError
from .ocr import OcrSession, render_scale
from .pdf_readers import clean_text, has_images, open_fallback, pdfminer_page, printable_count, text_runs

PAGE_SEPARATOR = "\n\n"
FALLBACKS = ("pdfminer.six", "pypdf")
# A page is read again by pdfminer.six when it has at least this many text runs and fewer characters than runs, or
# when this share of its runs (and at least 3) is vertical: a figure's rotated axis labels are not enough.
SUSPECT_RUNS = 10
SUSPECT_VERTICAL_SHARE = 0.2
MAX_REREAD_PAGES = 20  # pages re-read by pdfminer.six per file; each costs a parse of the file's structure


def parse_pdf(ctx: ParseContext) -> None:
    import pypdfium2 as pdfium

    if ctx.profile == "hybrid":
        ctx.warn("Tables are not extracted from PDF: the hybrid profile yields the text chunks only.")
    try:
        document = pdfium.PdfDocument(ctx.stream)
    except pdfium.PdfiumError as exc:
        if ctx.source.failure is not None:
            raise ctx.source.failure from exc
        _fallback(ctx, exc)
        return
    try:
        _PdfiumPages(ctx, document).run()
    finally:
        document.close()


def _fallback(ctx: ParseContext, refusal: Exception) -> None:
    """PDFium refused the file: the next readers of the chain try, each from the start."""
    password = "password" in str(refusal).lower()
    reasons = [f"PDFium: {describe(refusal, 120)}"]
    for name in FALLBACKS:
        try:
            pages = open_fallback(name, ctx.stream)
            _write_pages(ctx, name, pages)
        except ParseError:
            raise
        except Exception as exc:
            if ctx.source.failure is not None:
                raise ctx.source.failure from exc
            reasons.append(f"{name}: {describe(exc, 120)}")
            continue
        ctx.descriptor["pdf"] = {"reader": name, "refused_by": ["pypdfium2"]}
        ctx.warn(f"PDFium could not open the PDF ({describe(refusal, 120)}); its text was read with {name}.")
        return
    if password:
        raise ParseError("UNSUPPORTED_FORMAT", "The PDF is password-protected (the empty user password does not "
                         "open it). Upload a copy saved without a password.")
    ctx.fail("CORRUPT_FILE", "The PDF could not be read by PDFium, pdfminer.six or pypdf (" + "; ".join(reasons)
             + "). It may be truncated or damaged: export it again.", refusal)


def _write_pages(ctx: ParseContext, reader: str, pages: Any) -> None:
    writer = ctx.outputs.chunks()
    offset = count = 0
    for count, raw_text in enumerate(pages, start=1):
        offset = write_page(ctx, writer, count, clean_text(raw_text), offset, {})
    if count == 0:
        raise ParseError("CORRUPT_FILE", "The PDF holds no pages.")
    ctx.page_count = count
    if writer.count == 0:
        ctx.warn(f"The PDF holds no extractable text ({reader} read it); scanned pages are read by OCR only when "
                 "PDFium can open the file.")


def write_page(ctx: ParseContext, writer: ChunkWriter, number: int, text: str, offset: int,
                refs: dict[str, Any]) -> int:
    splitter = TextSplitter(ctx.options.chunk_size, ctx.options.chunk_overlap, base=offset)
    for span in (*splitter.feed(text), *splitter.finish()):
        writer.write(span, {"page": number, **refs})
    return offset + len(text) + len(PAGE_SEPARATOR)


class _PdfiumPages:
    def __init__(self, ctx: ParseContext, document: Any) -> None:
        self.ctx = ctx
        self.document = document
        self.reread: list[int] = []  # pages whose text pdfminer.six read in PDFium's place
        self.short: list[int] = []  # pages whose text may be incomplete
        self.scans_unread: list[int] = []  # image-only pages left unread (no OCR engine)
        self.scans_read: list[int] = []  # image-only pages read by OCR

    def run(self) -> None:
        ctx = self.ctx
        page_count = len(self.document)
        if page_count == 0:
            raise ParseError("CORRUPT_FILE", "The PDF holds no pages.")
        ctx.page_count = page_count
        writer = ctx.outputs.chunks()
        offset = 0
        unreadable: list[int] = []
        for number in range(1, page_count + 1):
            refs: dict[str, Any] = {}
            try:
                text, refs = self._page(number)
            except ParseError:
                raise
            except Exception as exc:
                if ctx.source.failure is not None:
                    raise ctx.source.failure from exc
                unreadable.append(number)
                ctx.warn(f"The text of page {number} could not be extracted ({describe(exc, 120)}).")
                text = ""
            if ctx.source.failure is not None:
                # PDFium reads through a callback that swallows exceptions: a failed read must not pass for a blank page.
                raise ctx.source.failure
            offset = write_page(ctx, writer, number, text, offset, refs)
        if len(unreadable) == page_count:
            ctx.fail("CORRUPT_FILE", "No page of the PDF could be read: it is damaged. Export it again.")
        self._report(writer.count)

    def _page(self, number: int) -> tuple[str, dict[str, Any]]:
        page = self.document[number - 1]
        try:
            textpage = page.get_textpage()
            try:
                text = clean_text(textpage.get_text_range())
            finally:
                textpage.close()
            total, vertical = text_runs(page)
            if (total >= SUSPECT_RUNS and printable_count(text) < total) or vertical >= max(3, SUSPECT_VERTICAL_SHARE * total):
                text = self._reread(number, text, vertical, total)
            if not text.strip() and has_images(page):
                return self._scan(number, page)
            return text, {}
        finally:
            page.close()

    def _reread(self, number: int, text: str, vertical: int, total: int) -> str:
        """PDFium's text may miss runs (vertical or unmapped text): pdfminer.six reads the page, and the fuller wins."""
        ctx = self.ctx
        ours = printable_count(text)
        other = None
        if len(self.reread) < MAX_REREAD_PAGES:
            try:
                other = clean_text(pdfminer_page(ctx.stream, number - 1))
            except Exception as exc:
                if ctx.source.failure is not None:
                    raise ctx.source.failure from exc
        if other is not None and printable_count(other) > 1.1 * ours + 5:
            self.reread.append(number)
            ctx.warn(f"Page {number}: PDFium found {ours} characters, much fewer than its {total} text runs "
                     f"({vertical} vertical) suggest; pdfminer.six read the page: {printable_count(other)} characters.")
            return other
        if other is None:
            self.short.append(number)
            ctx.warn(f"Page {number}: PDFium found {ours} characters in {total} text runs ({vertical} vertical), "
                     "and no other reader could check them: the page's text may be incomplete.")
        return text

    def _scan(self, number: int, page: Any) -> tuple[str, dict[str, Any]]:
        """A page with no text layer and an image: read by OCR when an engine is configured."""
        session: OcrSession | None = self.ctx.ocr
        if session is None:
            self.scans_unread.append(number)
            return "", {}
        width, height = page.get_size()
        bitmap = page.render(scale=render_scale(width, height), grayscale=True)
        try:
            image = bitmap.to_pil()
            result = session.read(image, f"page {number}")
        finally:
            bitmap.close()
        self.scans_read.append(number)
        return clean_text(result.text), session.refs(result)

    def _report(self, chunks: int) -> None:
        ctx = self.ctx
        ctx.descriptor["pdf"] = {"reader": "pypdfium2", "pages_read_by_pdfminer": self.reread,
                                 "pages_possibly_incomplete": self.short, "pages_read_by_ocr": self.scans_read}
        if self.scans_unread:
            pages = ", ".join(str(number) for number in self.scans_unread[:20])
            ctx.warn(f"{len(self.scans_unread)} pages are scanned images with no text layer (pages {pages}); OCR "
                     "is not configured for this parse, so their text is missing.")
        elif chunks == 0 and self.scans_read:
            ctx.warn(f"OCR found no text in the PDF's {len(self.scans_read)} scanned pages.")
        elif chunks == 0:
            ctx.warn("The PDF holds no extractable text and no scanned page to read by OCR.")
