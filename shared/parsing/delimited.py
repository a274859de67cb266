"""CSV and TSV to Parquet with pyarrow's streaming reader: memory stays at a few blocks whatever the file size."""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from shared.detection import HEAD_BYTES

from .column_types import ColumnBroken, convert, holds_bytes, typed_schema
from .context import ParseContext, Reread, describe
from .csv_setup import (
    Setup,
    checked_setup,
    choose_delimiter,
    csv_encoding,
    replace_setup,
    skip_rows,
    target_schema,
    tsv_quoted,
)
from .streams import READ_SIZE

MAX_REREADS = 3
_CONVERSION = re.compile(r"In CSV column #(\d+): .*?CSV conversion error to (\w+)")


@dataclass
class _InvalidRows:
    mode: str
    first: Any = None
    skipped: int = 0
    samples: list[str] = field(default_factory=list)

    def __call__(self, row: Any) -> str:
        if self.mode == "skip":
            self.skipped += 1
            if len(self.samples) < 3:
                self.samples.append(_row_label(row))
            return "skip"
        if self.first is None:
            self.first = row
        return "error"


def _row_label(row: Any) -> str:
    text = " ⏎ ".join(row.text.splitlines())
    snippet = text if len(text) <= 80 else text[:79] + "…"
    where = f"row {row.number}: " if row.number is not None else ""
    return f"{where}{snippet!r}"


def parse_delimited(ctx: ParseContext) -> None:
    head = ctx.source.read(HEAD_BYTES)
    input_bytes = _input_bytes(ctx)
    ctx.rewind()
    encoding = csv_encoding(ctx, head)
    truncated = len(head) >= HEAD_BYTES
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False).lstrip("\ufeff")
    skip = skip_rows(ctx, text.splitlines()[:1000])
    body = "\n".join(text.splitlines()[skip:])
    delimiter = choose_delimiter(ctx, body, truncated)
    quoting = delimiter != "\t" or tsv_quoted(body)
    if delimiter == "\t" and quoting:
        ctx.guess("quoting", '"', "medium", "quoted fields as Excel writes them in tab-separated exports")
    setup = Setup(encoding, delimiter, tuple(dict.fromkeys(ctx.hints.get("csv_text_columns", ()))), quoting, skip)
    setup = checked_setup(ctx, setup, head)
    invalid = _InvalidRows(ctx.options.on_invalid_row)
    reader = None
    try:
        reader = setup.open(ctx, invalid, use_threads=True)
        unchecked = [index for index, kind in enumerate(reader.schema.types)
                     if index not in setup.checked and (pa.types.is_integer(kind) or pa.types.is_floating(kind))
                     and reader.schema.names[index] not in setup.fixed_types(ctx)]
        if unchecked:
            # Numbers first seen past the head: they too are checked over the whole column.
            reader.close()
            ctx.rewind()
            checked = {**setup.checked, **{index: reader.schema.types[index] for index in unchecked}}
            names = [*setup.as_string, *(reader.schema.names[index] for index in unchecked)]
            setup = replace_setup(setup, checked=checked, as_string=tuple(names))
            reader = setup.open(ctx, invalid, use_threads=True)
        schema = target_schema(typed_schema(reader.schema, setup.checked))
        sink = ctx.outputs.table(schema, input_bytes)
        # The last batch is held back: it may end in a value whose quote never closed.
        held: pa.RecordBatch | None = None
        for raw in reader:
            batch = convert(raw, setup.checked, schema)
            if setup.quoting:
                _check_swallowed_rows(ctx, batch, setup, sink.rows + (held.num_rows if held is not None else 0))
            if held is not None:
                sink.write(held)
            held = batch
        if held is not None:
            if setup.quoting and _ends_in_open_quote(held) and _odd_quotes(ctx, encoding):
                held = _drop_open_quote_row(ctx, held, invalid, sink.rows)
            sink.write(held)
    except ColumnBroken as broken:
        _reread_column(ctx, broken, setup)
    except pa.ArrowException as exc:
        _fail(ctx, exc, invalid, reader.schema if reader is not None else None, setup)
    except UnicodeDecodeError as exc:
        ctx.fail(
            "ENCODING_ERROR",
            f"The file is not valid {encoding} text ({describe(exc)}). Save it as UTF-8, or name its encoding in parse_options.encoding.",
            exc,
        )
    finally:
        if reader is not None:
            reader.close()  # stops its read-ahead, on every way out (a re-read, a refusal)
    if invalid.skipped:
        ctx.warn(
            f"Skipped {invalid.skipped} malformed rows whose field count did not match the header "
            f"(on_invalid_row=skip); first: {', '.join(invalid.samples)}."
        )


def _input_bytes(ctx: ParseContext) -> int | None:
    try:
        return ctx.source.seek(0, io.SEEK_END)
    except (OSError, ValueError):  # a stream that cannot seek from its end: the row groups keep their default size
        return None


def _reread_column(ctx: ParseContext, broken: ColumnBroken, setup: Setup) -> None:
    rereads: list[str] = ctx.hints.get("csv_rereads", [])
    text = list(ctx.hints.get("csv_text_indices", []))
    floats = list(ctx.hints.get("csv_float_indices", []))
    if len(rereads) >= MAX_REREADS:
        text, floats = [*text, *setup.checked], []
        reason = "columns kept changing type after the first rows, so every number column is stored as text"
    elif broken.kind == "float64":
        floats.append(broken.index)
        reason = broken.reason
    else:
        text.append(broken.index)
        reason = broken.reason
    raise Reread({"csv_text_indices": text, "csv_float_indices": floats, "csv_rereads": [*rereads, reason]}, reason)


SWALLOWED_LINES = 3


def _check_swallowed_rows(ctx: ParseContext, batch: pa.RecordBatch, setup: Setup, before: int) -> None:
    """A stray quote makes the reader take the following lines as one value. A quoted value whose lines look
    like rows of their own (as many delimiters as the header) is reported with its row number, never kept silently."""
    import pyarrow.compute as pc

    width = batch.num_columns
    if width < 2:
        return
    for column in batch.columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        if not holds_bytes(column, b"\n"):
            continue  # one search of the column's bytes rules out most columns at once
        multiline = pc.match_substring(column, "\n")
        if not pc.any(multiline).as_py():
            continue
        for index in pc.indices_nonzero(multiline).to_pylist():
            value = column[index].as_py()
            rows = [line for line in value.split("\n") if line.count(setup.delimiter) >= width - 1]
            if len(rows) >= SWALLOWED_LINES:
                number = before + index + 1 + (1 if ctx.options.has_header else 0) + setup.skip_rows
                snippet = value.split("\n", 1)[0][:80]
                ctx.fail(
                    "CORRUPT_FILE",
                    f"Row {number} (counting the header as row 1) has a quoted value that runs over "
                    f"{value.count(chr(10)) + 1} lines, {len(rows)} of which look like rows of their own: a stray "
                    f"quote, probably near {snippet!r}. Fix the quoting (a literal quote inside a quoted value is "
                    "written twice) and upload the file again.",
                )


def _odd_quotes(ctx: ParseContext, encoding: str) -> bool:
    """Whether the file holds an odd number of quotes, i.e. one never closed. A second read, done only when the
    last row ends in a multi-line value: that is the only trace pyarrow leaves of an unclosed quote."""
    if not _ascii_compatible(encoding):
        return False
    position = ctx.source.tell()
    ctx.rewind()
    quotes = 0
    while block := ctx.source.read(READ_SIZE):
        quotes += block.count(b'"')
    ctx.source.seek(position)
    return quotes % 2 == 1


def _ascii_compatible(encoding: str) -> bool:
    return not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _ends_in_open_quote(batch: pa.RecordBatch) -> bool:
    """pyarrow closes an unclosed quote at the end of the file: the last value then swallowed the lines after it."""
    last = batch.slice(batch.num_rows - 1, 1)
    for column in last.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            value = column[0].as_py()
            if value is not None and "\n" in value:
                return True
    return False


def _drop_open_quote_row(ctx: ParseContext, held: pa.RecordBatch, invalid: _InvalidRows, written: int) -> pa.RecordBatch:
    number = written + held.num_rows + (1 if ctx.options.has_header else 0)
    last = held.slice(held.num_rows - 1, 1).to_pylist()[0]
    snippet = ",".join("" if value is None else str(value) for value in last.values())
    snippet = " ⏎ ".join(snippet.splitlines())
    snippet = snippet if len(snippet) <= 120 else snippet[:119] + "…"
    if ctx.options.on_invalid_row == "error":
        ctx.fail(
            "CORRUPT_FILE",
            f"Row {number} (counting the header as row 1) opens a quote that is never closed, so it runs to the "
            f"end of the file: {snippet!r}. Fix the quoting, or set parse_options.on_invalid_row to 'skip' to drop "
            "that row.",
        )
    invalid.skipped += 1
    if len(invalid.samples) < 3:
        invalid.samples.append(f"row {number}: {snippet!r} (unclosed quote)")
    return held.slice(0, held.num_rows - 1)


def _fail(ctx: ParseContext, exc: pa.ArrowException, invalid: _InvalidRows, schema: pa.Schema | None, setup: Setup) -> None:
    message = str(exc)
    if invalid.first is not None:
        row = invalid.first
        number = row.number if row.number is not None else _locate_invalid_row(ctx, setup)
        where = f"Row {number} (counting the header as row 1)" if number is not None else "A row"
        snippet = " ⏎ ".join(row.text.splitlines())
        snippet = snippet if len(snippet) <= 120 else snippet[:119] + "…"
        ctx.fail(
            "CORRUPT_FILE",
            f"{where} has {row.actual_columns} fields where the header has {row.expected_columns}: {snippet!r}. "
            "This is usually an unclosed or stray quote. Fix the file, or set parse_options.on_invalid_row to "
            "'skip' to drop such rows.",
            exc,
        )
    if "invalid UTF8" in message:
        ctx.fail(
            "ENCODING_ERROR",
            f"The file is not valid {setup.encoding} text past its first block. Save it as UTF-8, or name its "
            "encoding in parse_options.encoding.",
            exc,
        )
    conversion = _CONVERSION.search(message)
    if conversion is not None and schema is not None:
        rereads: list[str] = ctx.hints.get("csv_rereads", [])
        index = int(conversion.group(1))
        if len(rereads) >= MAX_REREADS or index >= len(schema):
            columns = list(schema.names)
            reason = "columns kept changing type after the first rows, so every column is stored as text"
        else:
            columns = [*setup.text_columns, schema.names[index]]
            reason = (
                f"column {schema.names[index]!r} held values that are not {conversion.group(2)} after the first "
                "rows, so it is stored as text"
            )
        raise Reread({"csv_text_columns": columns, "csv_rereads": [*rereads, reason]}, reason)
    if "Empty CSV file" in message:
        ctx.fail("EMPTY_FILE", "The CSV file holds no header and no rows.", exc)
    ctx.fail("CORRUPT_FILE", f"The CSV file could not be read: {describe(exc)}.", exc)


def _locate_invalid_row(ctx: ParseContext, setup: Setup) -> int | None:
    """The number of the first malformed row, from a single-threaded read: only that mode numbers rows."""
    found: list[Any] = []

    def capture(row: Any) -> str:
        found.append(row)
        return "error"

    ctx.rewind()
    try:
        for _ in setup.open(ctx, capture, use_threads=False):
            pass
    except (pa.ArrowException, UnicodeDecodeError):
        pass
    return found[0].number if found else None
