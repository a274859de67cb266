"""DOCX with python-docx: body paragraphs and tables in document order.

Chunks group consecutive paragraphs and carry `paragraph` (1-based, counting every body paragraph, empty ones
too) and `paragraph_end`. Under hybrid, tables go to the structured output only; under unstructured, their rows
are chunked as tab-separated text with `table` and `row` references. Merged cells repeat their text.
"""

from __future__ import annotations

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from .chunks import UnitChunker
from .context import ParseContext, describe
from .tables import DocumentTables


def parse_docx(ctx: ParseContext) -> None:
    try:
        document = docx.Document(ctx.stream)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail("CORRUPT_FILE", f"The Word document could not be opened: {describe(exc)}.", exc)
    tables = DocumentTables(ctx) if ctx.want_table else None
    chunker = None
    if ctx.want_text:
        chunker = UnitChunker(ctx.outputs.chunks(), ctx.options.chunk_size, ctx.options.chunk_overlap)
    paragraphs = 0
    table_count = 0
    try:
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                paragraphs += 1
                if chunker is not None:
                    chunker.add(block.text, {"paragraph": paragraphs})
                continue
            if not isinstance(block, Table):
                continue
            table_count += 1
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            if tables is not None:
                tables.add_table(rows)
            if chunker is not None:
                chunker.flush()
                if tables is None:
                    for number, cells in enumerate(rows, start=1):
                        chunker.add("\t".join(cells), {"table": table_count, "row": number})
                    chunker.flush()
    except Exception as exc:  # noqa: BLE001 - as above
        ctx.fail("CORRUPT_FILE", f"The Word document's body could not be read: {describe(exc)}.", exc)
    if tables is not None:
        tables.flush()
        if table_count == 0:
            ctx.warn("The Word document holds no table: only text chunks were produced.")
    if chunker is not None:
        chunker.flush()
