"""XLSX with openpyxl in read-only mode: rows stream from the sheet XML. The first non-empty row is the header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from .chunks import UnitChunker
from .context import ParseContext, describe
from .errors import ParseError
from .rows import RowBatcher, RowSchema, as_text

SHEET_COLUMN = "_sheet"


def parse_xlsx(ctx: ParseContext) -> None:
    fixed: RowSchema | None = None
    if ctx.want_table and ctx.hints.get("prescan"):
        fixed = RowSchema()
        if ctx.options.sheets == "all":
            fixed.kinds[SHEET_COLUMN] = "string"
        workbook = _open(ctx)
        try:
            for _sheet, _number, row, _text in _sheet_rows(ctx, workbook, with_text=False):
                if row is not None:
                    fixed.observe(row)
        finally:
            workbook.close()
        ctx.rewind()
    batcher = None
    if ctx.want_table:
        leading = [(SHEET_COLUMN, "string")] if ctx.options.sheets == "all" else []
        batcher = RowBatcher(ctx.outputs.table, fixed, leading=leading)  # type: ignore[arg-type]
    chunker = None
    if ctx.want_text:
        chunker = UnitChunker(ctx.outputs.chunks(), ctx.options.chunk_size, ctx.options.chunk_overlap)
    workbook = _open(ctx)
    try:
        current = None
        for sheet, number, row, line in _sheet_rows(ctx, workbook, with_text=chunker is not None):
            if chunker is not None:
                if sheet != current:
                    chunker.flush()
                    current = sheet
                chunker.add(line, {"sheet": sheet, "row": number})
            if batcher is not None and row is not None:
                batcher.add(row)
    finally:
        workbook.close()
    if batcher is not None:
        batcher.flush()
    if chunker is not None:
        chunker.flush()


def _open(ctx: ParseContext) -> Workbook:
    try:
        return load_workbook(ctx.stream, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail("CORRUPT_FILE", f"The XLSX workbook could not be opened: {describe(exc)}.", exc)


def _sheets(ctx: ParseContext, workbook: Workbook) -> list[ReadOnlyWorksheet]:
    sheets = [sheet for sheet in workbook.worksheets if isinstance(sheet, ReadOnlyWorksheet)]
    if not sheets:
        raise ParseError("CORRUPT_FILE", "The XLSX workbook has no worksheet.")
    wanted = ctx.options.sheet
    if wanted is not None:
        for sheet in sheets:
            if sheet.title == wanted:
                return [sheet]
        titles = ", ".join(repr(sheet.title) for sheet in sheets)
        raise ParseError("INVALID_OPTIONS", f"The workbook has no sheet named {wanted!r}; its sheets are {titles}.")
    return sheets if ctx.options.sheets == "all" else sheets[:1]


def _sheet_rows(ctx: ParseContext, workbook: Workbook, with_text: bool) -> Iterator[Any]:
    """Yield (sheet, row number, row dict or None for the header, text line) over the selected sheets."""
    all_sheets = ctx.options.sheets == "all"
    for sheet in _sheets(ctx, workbook):
        names: list[str] | None = None
        first = last = 0
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if all(_blank(value) for value in values):
                    continue
                line = _line(values) if with_text else ""
                if names is None:
                    names, first, last = _header(values)
                    yield sheet.title, number, None, line
                    continue
                row: dict[str, Any] = {SHEET_COLUMN: sheet.title} if all_sheets else {}
                for index, value in enumerate(values):
                    if first <= index <= last:
                        row[names[index - first]] = value
                    elif value is not None:
                        row[f"column_{get_column_letter(index + 1)}"] = value
                yield sheet.title, number, row, line
        except ParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - as above
            ctx.fail("CORRUPT_FILE", f"Sheet {sheet.title!r} could not be read: {describe(exc)}.", exc)


def _header(values: tuple[Any, ...]) -> tuple[list[str], int, int]:
    filled = [index for index, value in enumerate(values) if not _blank(value)]
    first, last = filled[0], filled[-1]
    names: list[str] = []
    seen: dict[str, int] = {}
    for index in range(first, last + 1):
        value = values[index]
        name = as_text(value).strip() if value is not None else ""
        name = name or f"column_{get_column_letter(index + 1)}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 1)
        names.append(name)
    return names, first, last


def _line(values: tuple[Any, ...]) -> str:
    return "\t".join("" if value is None else as_text(value) for value in values).rstrip("\t")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
