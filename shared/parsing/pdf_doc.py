"""PDF with pypdf, page by page. Chunks never cross a page and carry its number (1-based).

pypdf caches every object it resolves; the cache is trimmed after each page so that memory stays flat however
many pages there are. Table extraction from PDF is not attempted.
"""

from __future__ import annotations

from pypdf import PdfReader

from .chunks import TextSplitter
from .context import ParseContext, describe
from .errors import ParseError

PAGE_SEPARATOR = "\n\n"


def parse_pdf(ctx: ParseContext) -> None:
    try:
        reader = PdfReader(ctx.stream, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("UNSUPPORTED_FORMAT", "The PDF is password-protected. Upload a copy saved without a password.")
        page_count = len(reader.pages)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail(
            "CORRUPT_FILE",
            f"The PDF could not be read ({describe(exc)}). It may be truncated or damaged: export it again.",
            exc,
        )
    if page_count == 0:
        raise ParseError("CORRUPT_FILE", "The PDF holds no pages.")
    ctx.page_count = page_count
    if ctx.profile == "hybrid":
        ctx.warn("Tables are not extracted from PDF: the hybrid profile yields the text chunks only.")
    writer = ctx.outputs.chunks()
    keep = set(reader.resolved_objects)
    offset = 0
    unreadable: list[int] = []
    for number in range(1, page_count + 1):
        try:
            text = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:  # one damaged page must not lose the others
            if ctx.source.failure is not None:
                raise ctx.source.failure from exc
            unreadable.append(number)
            ctx.warn(f"The text of page {number} could not be extracted ({describe(exc, 120)}).")
            text = ""
        splitter = TextSplitter(ctx.options.chunk_size, ctx.options.chunk_overlap, base=offset)
        for span in (*splitter.feed(text), *splitter.finish()):
            writer.write(span, {"page": number})
        offset += len(text) + len(PAGE_SEPARATOR)
        for key in [key for key in reader.resolved_objects if key not in keep]:
            del reader.resolved_objects[key]
    if len(unreadable) == page_count:
        ctx.fail("CORRUPT_FILE", "No page of the PDF could be read: it is damaged. Export it again.")
    if writer.count == 0:
        ctx.warn("The PDF holds no extractable text; scanned pages would need OCR, which is not performed.")
