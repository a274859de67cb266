"""How a CSV or TSV file is read: its encoding, delimiter, quoting, the lines before its header, and which columns
are read as text to be typed over the whole column (column_types)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from shared.detection import HEAD_BYTES, detect_delimiter, detect_encoding

from .column_types import numeric_candidates
from .context import ParseContext
from .errors import ParseError

_PYARROW_UTF8 = frozenset({"utf-8", "utf-8-sig", "ascii"})


def csv_encoding(ctx: ParseContext, head: bytes) -> str:
    encoding = ctx.options.encoding or ctx.detected.encoding or detect_encoding(head, truncated=len(head) >= HEAD_BYTES)
    if encoding is None:
        raise ParseError(
            "ENCODING_ERROR",
            "The text encoding of the file could not be determined. Save it as UTF-8, or name its encoding in parse_options.encoding.",
        )
    return encoding


def choose_delimiter(ctx: ParseContext, text: str, truncated: bool) -> str:
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
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def skip_rows(ctx: ParseContext, lines: list[str]) -> int:
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


def tsv_quoted(rows_text: str) -> bool:
    """Whether a tab-separated file quotes its fields as Excel's export does ("a\tb" in a cell)."""
    return re.search(r'(?:^|\t)"[^"\t\n]*(?:""[^"\t\n]*)*"(?:\t|$)', rows_text[:HEAD_BYTES], re.M) is not None


def unique_names(names: list[str]) -> list[str]:
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


def target_schema(schema: pa.Schema) -> pa.Schema:
    names = unique_names(schema.names)
    return pa.schema(pa.field(name, pa.string() if pa.types.is_null(f.type) else f.type) for name, f in zip(names, schema, strict=True))


@dataclass(frozen=True)
class Setup:
    encoding: str
    delimiter: str
    text_columns: tuple[str, ...]
    quoting: bool = True
    skip_rows: int = 0
    checked: dict[int, pa.DataType] = field(default_factory=dict)  # read as text, converted by column_types
    as_string: tuple[str, ...] = ()  # header names of the columns pyarrow must leave as text

    def read_options(self, ctx: ParseContext, use_threads: bool) -> pacsv.ReadOptions:
        return pacsv.ReadOptions(
            block_size=ctx.options.block_size,
            encoding="utf8" if codecs.lookup(self.encoding).name in _PYARROW_UTF8 else self.encoding,
            autogenerate_column_names=not ctx.options.has_header,
            use_threads=use_threads,
            skip_rows=self.skip_rows,
        )

    def parse_options(self, handler: Any) -> pacsv.ParseOptions:
        return pacsv.ParseOptions(
            delimiter=self.delimiter,
            # TSV has no quoting (IANA) unless its fields show Excel's quotes; a CSV value may hold line breaks.
            quote_char='"' if self.quoting else False,
            newlines_in_values=self.quoting,
            invalid_row_handler=handler,
        )

    def fixed_types(self, ctx: ParseContext) -> dict[str, pa.DataType]:
        types: dict[str, pa.DataType] = dict.fromkeys(self.text_columns, pa.string())
        types.update({name: _ARROW_TYPES[kind] for name, kind in (ctx.options.column_types or {}).items()})
        return types

    def open(self, ctx: ParseContext, handler: Any, use_threads: bool, source: Any = None) -> pacsv.CSVStreamingReader:
        types = {**dict.fromkeys(self.as_string, pa.string()), **self.fixed_types(ctx)}
        # Only an empty field is null: "NA", "null" or "N/A" are values a person typed, and are kept as text. Text
        # columns may hold nulls here so that checked number columns can; column_types gives them back "".
        convert_options = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
        return pacsv.open_csv(
            ctx.source,
            read_options=self.read_options(ctx, use_threads),
            parse_options=self.parse_options(handler),
            convert_options=convert_options,
        )


def _whole_lines(head: bytes, encoding: str) -> bytes:
    if len(head) < HEAD_BYTES:
        return head
    width = len("\n".encode(encoding.replace("-sig", "")))
    end = head.rfind("\n".encode(encoding.replace("-sig", "")))
    return head[: end + width] if end >= 0 else b""


def checked_setup(ctx: ParseContext, setup: Setup, head: bytes) -> Setup:
    """Which columns are read as text and typed here over the whole column (see column_types)."""
    text = set(ctx.hints.get("csv_text_indices", ()))
    floats = set(ctx.hints.get("csv_float_indices", ()))
    zeros, numeric, header = numeric_candidates(_whole_lines(head, setup.encoding), setup.read_options(ctx, False),
                                                setup.parse_options(None), setup.fixed_types(ctx))
    if (text or floats) and not header:
        header = _header(ctx, head, setup)
    if zeros and ctx.options.has_header:
        names = unique_names(header)
        ctx.guess("text_columns", [names[index] for index in zeros], "high",
                  "values with leading zeros in the first rows", "column_types")
    text.update(zeros)
    checked = {index: pa.float64() if index in floats else kind for index, kind in numeric.items() if index not in text}
    checked.update({index: pa.float64() for index in floats if index not in text})
    as_string = [header[index] for index in [*text, *checked] if index < len(header)]
    return replace_setup(setup, checked=checked, as_string=tuple(as_string))


def replace_setup(setup: Setup, **changes: Any) -> Setup:
    return replace(setup, **changes)


def _header(ctx: ParseContext, head: bytes, setup: Setup) -> list[str]:
    """The header's names as pyarrow reads them (its own names when the file has no header)."""
    options = setup.read_options(ctx, False)
    try:
        reader = pacsv.open_csv(io.BytesIO(_whole_lines(head, setup.encoding)), read_options=options,
                                parse_options=setup.parse_options(lambda _: "skip"),
                                convert_options=pacsv.ConvertOptions(column_types=setup.fixed_types(ctx)))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return []
    return list(reader.schema.names)
