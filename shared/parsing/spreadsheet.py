"""Workbooks. XLSX streams with openpyxl in read-only mode; XLS, XLSB, ODS and Strict OOXML workbooks (which
openpyxl does not read) go through python-calamine, which loads one sheet at a time. The first non-empty row of a
sheet is its header; a sheet with a header and no rows still yields its columns.

Budgets keep a pathological workbook from running for minutes: openpyxl is told to ignore the sheet's declared
extent (a sheet may declare A1:XFD1048576 and hold two rows), and a sheet past MAX_CELLS cells is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from openpyxl.utils import get_column_letter

from .chunks import UnitChunker
from .context import ParseContext, describe
from .errors import ParseError
from .rows import RowBatcher, RowSchema, as_text

SHEET_COLUMN = "_sheet"
MAX_CELLS = 50_000_000
_NAMES = {"xlsx": "XLSX workbook", "xls": "XLS workbook", "xlsb": "XLSB workbook", "ods": "ODS spreadsheet"}


@dataclass
class _Sheet:
    title: str
    rows: Callable[[], Iterator[tuple[Any, ...]]]


@dataclass
class _Book:
    sheets: list[_Sheet]
    close: Callable[[], None]


@dataclass
class _Header:
    names: list[str]
    first: int
    last: int


def parse_xlsx(ctx: ParseContext) -> None:
    _parse_book(ctx)


def parse_calamine(ctx: ParseContext) -> None:
    _parse_book(ctx)


def _parse_book(ctx: ParseContext) -> None:
    fixed: RowSchema | None = None
    if ctx.want_table and ctx.hints.get("prescan"):
        fixed = RowSchema()
        if ctx.options.sheets == "all":
            fixed.kinds[SHEET_COLUMN] = "string"
        book = _open(ctx)
        try:
            for _sheet, _number, row, _text in _sheet_rows(ctx, book, with_text=False, headers=[]):
                if row is not None:
                    fixed.observe(row)
        finally:
            book.close()
        ctx.rewind()
    batcher = None
    if ctx.want_table:
        leading = [(SHEET_COLUMN, "string")] if ctx.options.sheets == "all" else []
        batcher = RowBatcher(ctx.outputs.table, fixed, leading=leading)  # type: ignore[arg-type]
    chunker = None
    if ctx.want_text:
        chunker = UnitChunker(ctx.outputs.chunks(), ctx.options.chunk_size, ctx.options.chunk_overlap)
    headers: list[list[str]] = []
    book = _open(ctx)
    try:
        current = None
        for sheet, number, row, line in _sheet_rows(ctx, book, with_text=chunker is not None, headers=headers):
            if chunker is not None:
                if sheet != current:
                    chunker.flush()
                    current = sheet
                chunker.add(line, {"sheet": sheet, "row": number})
            if batcher is not None and row is not None:
                batcher.add(row)
    finally:
        book.close()
    if batcher is not None:
        if batcher.rows_written == 0 and batcher.rows_buffered == 0 and headers:
            # Only a header: the columns are still the answer, with no rows.
            sheet_column = [SHEET_COLUMN] if ctx.options.sheets == "all" else []
            ctx.outputs.table(pa.schema([pa.field(name, pa.string()) for name in [*sheet_column, *headers[0]]]))
            ctx.warn("The sheet holds a header and no rows: its columns were kept, with no rows.")
        else:
            batcher.flush()
    if chunker is not None:
        chunker.flush()


def _open(ctx: ParseContext) -> _Book:
    fmt = ctx.detected.format
    if fmt == "xlsx":
        book = _open_openpyxl(ctx)
        if book is not None:
            return book
        ctx.rewind()  # a Strict OOXML workbook: openpyxl finds no worksheet in it
        ctx.guess("reader", "python-calamine", "high", "openpyxl found no worksheet (a Strict OOXML workbook)")
    return _open_calamine(ctx)


def _open_openpyxl(ctx: ParseContext) -> _Book | None:
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    try:
        workbook = load_workbook(ctx.stream, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged file raises anything; ctx.fail re-raises I/O failures
        ctx.fail("CORRUPT_FILE", f"The XLSX workbook could not be opened: {describe(exc)}.", exc)
    worksheets = [sheet for sheet in workbook.worksheets if isinstance(sheet, ReadOnlyWorksheet)]
    if not worksheets:
        workbook.close()
        return None

    def rows_of(sheet: ReadOnlyWorksheet) -> Callable[[], Iterator[tuple[Any, ...]]]:
        def rows() -> Iterator[tuple[Any, ...]]:
            # The declared extent is not trusted: rows and cells come only from what the sheet XML holds.
            sheet.reset_dimensions()
            yield from sheet.iter_rows(values_only=True)

        return rows

    return _Book([_Sheet(sheet.title, rows_of(sheet)) for sheet in worksheets], workbook.close)


def _open_calamine(ctx: ParseContext) -> _Book:
    from python_calamine import CalamineWorkbook

    what = _NAMES.get(ctx.detected.format, "workbook")
    try:
        workbook = CalamineWorkbook.from_filelike(ctx.stream)
    except Exception as exc:  # noqa: BLE001 - as above
        message = describe(exc)
        if "password" in message.lower() or "encrypt" in message.lower():
            raise ParseError("UNSUPPORTED_FORMAT", f"The {what} is password-protected. Upload a copy saved without a "
                             "password.") from None
        ctx.fail("CORRUPT_FILE", f"The {what} could not be opened: {message}.", exc)

    def rows_of(name: str) -> Callable[[], Iterator[tuple[Any, ...]]]:
        def rows() -> Iterator[tuple[Any, ...]]:
            sheet = workbook.get_sheet_by_name(name)
            if sheet.height * sheet.width > MAX_CELLS:
                raise ParseError(
                    "TOO_LARGE",
                    f"Sheet {name!r} spans {sheet.height:,} rows by {sheet.width:,} columns, more than "
                    f"{MAX_CELLS:,} cells. Delete the unused rows and columns, or save it as CSV.",
                )
            for values in sheet.iter_rows():
                yield tuple(_cell(value) for value in values)

        return rows

    close = getattr(workbook, "close", lambda: None)
    return _Book([_Sheet(name, rows_of(name)) for name in workbook.sheet_names], close)


def _cell(value: Any) -> Any:
    """calamine gives every number of an XLS or ODS as a float; a whole number is shown, and stored, as one."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _sheets(ctx: ParseContext, book: _Book) -> list[_Sheet]:
    sheets = book.sheets
    what = _NAMES.get(ctx.detected.format, "workbook")
    if not sheets:
        raise ParseError("CORRUPT_FILE", f"The {what} has no worksheet.")
    wanted = ctx.options.sheet
    if wanted is not None:
        for sheet in sheets:
            if sheet.title == wanted:
                return [sheet]
        titles = ", ".join(repr(sheet.title) for sheet in sheets)
        raise ParseError("INVALID_OPTIONS", f"The workbook has no sheet named {wanted!r}; its sheets are {titles}.")
    return sheets if ctx.options.sheets == "all" else sheets[:1]


def _sheet_rows(ctx: ParseContext, book: _Book, with_text: bool, headers: list[list[str]]) -> Iterator[Any]:
    """Yield (sheet, row number, row dict or None for the header, text line) over the selected sheets."""
    all_sheets = ctx.options.sheets == "all"
    for sheet in _sheets(ctx, book):
        header: _Header | None = None
        cells = 0
        try:
            for number, values in enumerate(sheet.rows(), start=1):
                cells += len(values)
                if cells > MAX_CELLS:
                    raise ParseError(
                        "TOO_LARGE",
                        f"Sheet {sheet.title!r} holds more than {MAX_CELLS:,} cells. Split it, or save it as CSV.",
                    )
                if all(_blank(value) for value in values):
                    continue
                line = _line(values) if with_text else ""
                if header is None:
                    header = _header(values)
                    headers.append(header.names)
                    yield sheet.title, number, None, line
                    continue
                row: dict[str, Any] = {SHEET_COLUMN: sheet.title} if all_sheets else {}
                for index, value in enumerate(values):
                    if header.first <= index <= header.last:
                        row[header.names[index - header.first]] = value
                    elif value is not None:
                        row[f"column_{get_column_letter(index + 1)}"] = value
                yield sheet.title, number, row, line
        except ParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - as above
            ctx.fail("CORRUPT_FILE", f"Sheet {sheet.title!r} could not be read: {describe(exc)}.", exc)


def _header(values: tuple[Any, ...]) -> _Header:
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
    return _Header(names, first, last)


def _line(values: tuple[Any, ...]) -> str:
    return "\t".join("" if value is None else as_text(value) for value in values).rstrip("\t")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
