"""Whole-column typing for CSV: a number type is a promise about every value of the column, not only the first ones.

pyarrow infers a column's type from the first block and then converts every later value to it, so "007" far down
an integer column silently becomes 7. Columns that look numeric are therefore read as text and converted here, batch
by batch, after checking every value: a leading zero anywhere (an id, a ZIP code, an ISTAT municipality code) or a
value that is not a number makes the parse start over with that column as text (or as float64 for an integer column
that turns out to hold decimals). Nothing is decided from a prefix.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# A zero followed by a digit (or x, b, o: a hex or binary literal), after an optional sign: a code, not a quantity
# ("0.5" and "0" are numbers).
LEADING_ZERO = r"^[+-]?0[0-9A-Za-z_]"
_NUMERIC = (pa.int64(), pa.float64())


class ColumnBroken(Exception):
    """A checked column holds a value its type cannot keep: read again with the column as `kind`."""

    def __init__(self, index: int, name: str, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.name, self.kind, self.reason = index, name, kind, reason


def numeric_candidates(head: bytes, read_options: pacsv.ReadOptions, parse_options: pacsv.ParseOptions,
                       fixed: dict[str, pa.DataType]) -> tuple[list[int], dict[int, pa.DataType], list[str]]:
    """From the head (whole lines): the numeric-looking columns that show leading zeros (text from the start), the
    other numeric-looking ones with their type, by position, and the header's names as pyarrow reads them. Two reads
    of at most 64 KiB, both in pyarrow."""
    options = pacsv.ReadOptions(encoding=read_options.encoding, skip_rows=read_options.skip_rows,
                                autogenerate_column_names=read_options.autogenerate_column_names, use_threads=False)
    parse = pacsv.ParseOptions(delimiter=parse_options.delimiter, quote_char=parse_options.quote_char,
                               newlines_in_values=parse_options.newlines_in_values, invalid_row_handler=lambda _: "skip")
    try:
        inferred = pacsv.read_csv(io.BytesIO(head), read_options=options, parse_options=parse,
                                  convert_options=pacsv.ConvertOptions(column_types=fixed, null_values=[""]))
        numeric = {index: field.type for index, field in enumerate(inferred.schema)
                   if field.name not in fixed and any(field.type.equals(kind) for kind in _NUMERIC)}
        header = list(inferred.schema.names)
        if not numeric:
            return [], {}, header
        names = {header[index] for index in numeric}
        raw = pacsv.read_csv(io.BytesIO(head), read_options=options, parse_options=parse,
                             convert_options=pacsv.ConvertOptions(column_types={**fixed, **dict.fromkeys(names, pa.string())},
                                                                  null_values=[""], strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return [], {}, []  # the head alone does not parse: the batches are checked all the same
    zeros = [index for index in numeric if has_leading_zero(raw.column(index))]
    return zeros, {index: kind for index, kind in numeric.items() if index not in zeros}, header


@functools.cache
def _searcher(needle: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(needle))


def _contains(data: pa.Buffer, needle: bytes) -> bool:
    """Whether a buffer holds `needle`. Its first byte is looked for with memchr (bytes.find on one byte, several
    times faster than a regular expression's scan); only when it is there is a longer needle searched for."""
    if memoryview(data).tobytes().find(needle[:1]) < 0:
        return False
    return len(needle) == 1 or _searcher(needle).search(data) is not None  # searches the buffer in place


def holds_bytes(column: Any, needle: bytes) -> bool:
    """Whether the values' bytes (a string array's data buffer) contain `needle`: a search of one buffer, far cheaper
    than a kernel over every value, that rules a column out. True when the buffers cannot be read that way."""
    if isinstance(column, pa.ChunkedArray):
        return any(holds_bytes(chunk, needle) for chunk in column.chunks)
    if not pa.types.is_string(column.type) or column.offset:
        return True
    data = column.buffers()[2]
    return data is not None and _contains(data, needle)


def has_leading_zero(column: Any) -> bool:
    """Whether any value is a number written with leading zeros ("007", "-01", "0x1F")."""
    if not holds_bytes(column, b"0"):
        return False
    starts = pc.starts_with(column, "0")
    if holds_bytes(column, b"-0") or holds_bytes(column, b"+0"):
        starts = pc.or_(starts, pc.or_(pc.starts_with(column, "-0"), pc.starts_with(column, "+0")))
    if not pc.any(starts).as_py():
        return False
    return bool(pc.any(pc.match_substring_regex(pc.filter(column, starts), LEADING_ZERO)).as_py())


def convert(batch: pa.RecordBatch, checked: dict[int, pa.DataType], schema: pa.Schema) -> pa.RecordBatch:
    """The batch under the output `schema`, each checked column converted to its type after every value was
    checked; other text columns keep an empty value as "" (only a number column has nulls). Raises ColumnBroken
    when a value breaks its column's type."""
    columns = list(batch.columns)
    for index, kind in checked.items():
        column = columns[index]
        name = batch.schema.names[index]
        if has_leading_zero(column):
            raise ColumnBroken(index, name, "string", f"column {name!r} holds values with leading zeros, so it is "
                               "stored as text")
        try:
            columns[index] = pc.cast(column, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if kind.equals(pa.int64()) and _casts(column, pa.float64()) and not _has_long_integers(column):
                raise ColumnBroken(index, name, "float64", f"column {name!r} holds decimal numbers after the "
                                   "first rows, so it is stored as float64") from None
            raise ColumnBroken(index, name, "string", f"column {name!r} holds values that are not numbers after "
                               "the first rows, so it is stored as text") from None
    for index, column in enumerate(columns):
        if index in checked:
            continue
        if pa.types.is_null(column.type):
            columns[index] = pc.cast(column, schema.field(index).type)
        if columns[index].null_count and pa.types.is_string(columns[index].type):
            columns[index] = pc.fill_null(columns[index], "")
    # Built under the output's own schema, the batch needs no conforming on the way out.
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _casts(column: Any, kind: pa.DataType) -> bool:
    try:
        pc.cast(column, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _has_long_integers(column: Any) -> bool:
    """Integers past 15 digits lose digits as float64: such a column is kept as text instead."""
    return bool(pc.any(pc.match_substring_regex(column, r"^\s*[+-]?\d{16,}\s*$")).as_py())


def typed_schema(schema: pa.Schema, checked: dict[int, pa.DataType]) -> pa.Schema:
    """The file's schema with each checked column given its type."""
    return pa.schema([field.with_type(checked[index]) if index in checked else field
                      for index, field in enumerate(schema)])
