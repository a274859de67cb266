"""Text-like files (plain text, Markdown, and CSV, JSON or EDI read as text) to chunks, streamed."""

from __future__ import annotations

from .chunks import MARKDOWN_BOUNDARIES, TEXT_BOUNDARIES, TextSplitter
from .context import ParseContext
from .errors import ParseError
from .streams import iter_text, text_encoding


def parse_text(ctx: ParseContext) -> None:
    encoding = text_encoding(ctx.options.encoding or ctx.detected.encoding)
    boundaries = MARKDOWN_BOUNDARIES if ctx.detected.format == "markdown" else TEXT_BOUNDARIES
    writer = ctx.outputs.chunks()
    splitter = TextSplitter(ctx.options.chunk_size, ctx.options.chunk_overlap, boundaries)
    for piece in iter_text(ctx.stream, encoding):
        for span in splitter.feed(piece):
            writer.write(span)
    for span in splitter.finish():
        writer.write(span)
    if writer.count == 0:
        raise ParseError("EMPTY_FILE", "The file holds only whitespace: there is no text to parse.")
