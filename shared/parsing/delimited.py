"""CSV and TSV to Parquet with pyarrow's streaming reader: memory stays at a few blocks whatever the file size."""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from shared.detection import HEAD_BYTES, detect_delimiter, detect_encoding

from .context import ParseContext, Reread, describe
from .errors import ParseError
from .streams import READ_SIZE

MAX_REREADS = 3
_CONVERSION = re.compile(r"In CSV column #(\d+): .*?CSV conversion error to (\w+)")
_PYARROW_UTF8 = frozenset({"utf-8", "utf-8-sig", "ascii"})


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


def csv_encoding(ctx: ParseContext, head: bytes) -> str:
    encoding = ctx.options.encoding or ctx.detected.encoding or detect_encoding(head, truncated=len(head) >= HEAD_BYTES)
    if encoding is None:
        raise ParseError(
            "ENCODING_ERROR",
            "The text encoding of the file could not be determined. Save it as UTF-8, or name its encoding in parse_options.encoding.",
        )
    return encoding


def _delimiter(ctx: ParseContext, text: str, truncated: bool) -> str:
    if ctx.options.delimiter is not None:
        return ctx.options.delimiter
    if ctx.detected.format == "tsv":
        ctx.guess("delimiter", "\t", "high", "tab-separated columns on the sampled rows", "delimiter")
        return "\t"
    found = detect_delimiter(text, truncated=truncated)
    delimiter = found[0] if found is not None and found[0] != "\t" else ","
    how = "the same field count on every sampled row" if found is not None and found[1] else "the most regular field count"
    ctx.guess("delimiter", delimiter, "high" if found is not None and found[1] else "low",
              how if found is not None else "no delimiter stood out: comma assumed", "delimiter")
    return delimiter


_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_LEADING_ZERO = re.compile(r"[+-]?0\d")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def _skip_rows(ctx: ParseContext, lines: list[str]) -> int:
    """Lines before the header: the option, else leading '#' comment lines (a guess, recorded). The last of them
    is the header when it has the columns of the line after it and that line holds data (VCF's '#CHROM' line)."""
    if ctx.options.skip_rows is not None:
        return ctx.options.skip_rows
    count = 0
    for line in lines:
        if not line.startswith("#"):
            break
        count += 1
    if not count or count >= len(lines):
        return 0
    if _is_header_line(lines[count - 1], lines[count]):
        ctx.guess("header", lines[count - 1][:80], "medium", "the last leading '#' line has the columns of the rows "
                  "below it", "skip_rows")
        count -= 1
        if not count:
            return 0
    ctx.guess("skip_rows", count, "medium", "leading lines starting with '#' read as comments", "skip_rows")
    ctx.warn(f"The first {count} lines start with '#' and were skipped as comments (set parse_options.skip_rows "
             "to change this).")
    return count


def _is_header_line(candidate: str, following: str) -> bool:
    found = detect_delimiter(f"{candidate}\n{following}\n", truncated=False)
    if found is None:
        return False
    delimiter = found[0]
    names, values = next(csv.reader([candidate], delimiter=delimiter)), next(csv.reader([following], delimiter=delimiter))
    # Two lines of names are ambiguous: the '#' one stays a comment, as before, unless the next holds a number.
    return len(names) == len(values) >= 2 and any(_NUMBER.fullmatch(value.strip()) for value in values)


def _sample_rows(text: str, delimiter: str, quoting: bool, skip: int, truncated: bool) -> list[list[str]]:
    if truncated and "\n" in text:
        text = text[: text.rfind("\n")]
    lines = text.splitlines()[skip:]
    reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
    try:
        return [row for row, _ in zip(reader, range(5000), strict=False)]
    except csv.Error:
        return []


def _text_columns(ctx: ParseContext, rows: list[list[str]]) -> list[str]:
    """Columns whose sampled values keep leading zeros (ZIP codes, ids): read as text so that no zero is lost."""
    if len(rows) < 2 or not ctx.options.has_header:
        return []
    names = _unique_names(rows[0])
    found = []
    for index, name in enumerate(names):
        if any(index < len(row) and _LEADING_ZERO.match(row[index].strip()) for row in rows[1:]):
            found.append(name)
    if found:
        ctx.guess("text_columns", found, "high", "values with leading zeros in the sampled rows", "column_types")
    return found


def _tsv_quoted(rows_text: str) -> bool:
    """Whether a tab-separated file quotes its fields as Excel's export does ("a\tb" in a cell)."""
    return re.search(r'(?:^|\t)"[^"\t\n]*(?:""[^"\t\n]*)*"(?:\t|$)', rows_text[:HEAD_BYTES], re.M) is not None


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for index, raw in enumerate(names):
        name = raw.strip() or f"column_{index + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 1)
        result.append(name)
    return result


def _target_schema(schema: pa.Schema) -> pa.Schema:
    names = _unique_names(schema.names)
    return pa.schema(pa.field(name, pa.string() if pa.types.is_null(f.type) else f.type) for name, f in zip(names, schema, strict=True))


@dataclass(frozen=True)
class _Setup:
    encoding: str
    delimiter: str
    text_columns: tuple[str, ...]
    quoting: bool = True
    skip_rows: int = 0

    def open(self, ctx: ParseContext, handler: Any, use_threads: bool, source: Any = None) -> pacsv.CSVStreamingReader:
        options = ctx.options
        read_options = pacsv.ReadOptions(
            block_size=options.block_size,
            encoding="utf8" if codecs.lookup(self.encoding).name in _PYARROW_UTF8 else self.encoding,
            autogenerate_column_names=not options.has_header,
            use_threads=use_threads,
            skip_rows=self.skip_rows,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.delimiter,
            # TSV has no quoting (IANA) unless its fields show Excel's quotes; a CSV value may hold line breaks.
            quote_char='"' if self.quoting else False,
            newlines_in_values=self.quoting,
            invalid_row_handler=handler,
        )
        # Only an empty field is null: "NA", "null" or "N/A" are values a person typed, and are kept as text.
        types: dict[str, pa.DataType] = dict.fromkeys(self.text_columns, pa.string())
        types.update({name: _ARROW_TYPES[kind] for name, kind in (options.column_types or {}).items()})
        convert_options = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False)
        return pacsv.open_csv(
            ctx.source,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )


def parse_delimited(ctx: ParseContext) -> None:
    head = ctx.source.read(HEAD_BYTES)
    ctx.rewind()
    encoding = csv_encoding(ctx, head)
    truncated = len(head) >= HEAD_BYTES
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False).lstrip("\ufeff")
    skip = _skip_rows(ctx, text.splitlines()[:1000])
    body = "\n".join(text.splitlines()[skip:])
    delimiter = _delimiter(ctx, body, truncated)
    quoting = delimiter != "\t" or _tsv_quoted(body)
    if delimiter == "\t" and quoting:
        ctx.guess("quoting", '"', "medium", "quoted fields as Excel writes them in tab-separated exports")
    columns = [*_text_columns(ctx, _sample_rows(text, delimiter, quoting, skip, truncated)),
               *ctx.hints.get("csv_text_columns", ())]
    setup = _Setup(encoding, delimiter, tuple(dict.fromkeys(columns)), quoting, skip)
    invalid = _InvalidRows(ctx.options.on_invalid_row)
    reader = None
    try:
        reader = setup.open(ctx, invalid, use_threads=True)
        sink = ctx.outputs.table(_target_schema(reader.schema))
        # The last batch is held back: it may end in a value whose quote never closed.
        held: pa.RecordBatch | None = None
        for batch in reader:
            if setup.quoting:
                _check_swallowed_rows(ctx, batch, setup, sink.rows + (held.num_rows if held is not None else 0))
            if held is not None:
                sink.write(held)
            held = batch
        if held is not None:
            if setup.quoting and _ends_in_open_quote(held) and _odd_quotes(ctx, encoding):
                held = _drop_open_quote_row(ctx, held, invalid, sink.rows)
            sink.write(held)
    except pa.ArrowException as exc:
        _fail(ctx, exc, invalid, reader.schema if reader is not None else None, setup)
    except UnicodeDecodeError as exc:
        ctx.fail(
            "ENCODING_ERROR",
            f"The file is not valid {encoding} text ({describe(exc)}). Save it as UTF-8, or name its encoding in parse_options.encoding.",
            exc,
        )
    if invalid.skipped:
        ctx.warn(
            f"Skipped {invalid.skipped} malformed rows whose field count did not match the header "
            f"(on_invalid_row=skip); first: {', '.join(invalid.samples)}."
        )


SWALLOWED_LINES = 3


def _check_swallowed_rows(ctx: ParseContext, batch: pa.RecordBatch, setup: _Setup, before: int) -> None:
    """A stray quote makes the reader take the following lines as one value. A quoted value whose lines look
    like rows of their own (as many delimiters as the header) is reported with its row number, never kept silently."""
    import pyarrow.compute as pc

    width = batch.num_columns
    if width < 2:
        return
    for column in batch.columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
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


def _fail(ctx: ParseContext, exc: pa.ArrowException, invalid: _InvalidRows, schema: pa.Schema | None, setup: _Setup) -> None:
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


def _locate_invalid_row(ctx: ParseContext, setup: _Setup) -> int | None:
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
