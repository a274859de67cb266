"""Rows of Python values (JSON objects, spreadsheet rows) turned into Arrow batches with an inferred schema.

The schema is guessed from the first batch so that the output can stream. When a later row does not fit (a new
key, or a value of an incompatible type), the handler asks for a second read: a full pass infers the schema of the
whole file first, and the rows are then written under it. Nested values are stored as JSON text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa

from .context import Reread

Kind = Literal["null", "bool", "int", "float", "string", "timestamp", "date", "time", "duration", "json"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BATCH_ROWS = 10_000

_ARROW: dict[str, pa.DataType] = {
    "null": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "duration": pa.duration("us"),
    "json": pa.string(),
}


def kind_of(value: Any) -> Kind:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if INT64_MIN <= value <= INT64_MAX else "string"
    if isinstance(value, float | Decimal):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.timedelta):
        return "duration"
    if isinstance(value, dict | list | tuple):
        return "json"
    return "string"


def merge(a: Kind, b: Kind) -> Kind:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    pair = {a, b}
    if pair == {"int", "float"}:
        return "float"
    if pair == {"timestamp", "date"}:
        return "timestamp"
    if "json" in pair:
        return "json"
    return "string"


def as_text(value: Any) -> str:
    """A value as a person would read it in a text column."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def convert(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind in ("string", "null"):
        return as_text(value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, default=str)
    if kind == "float":
        return float(value)
    if kind == "timestamp" and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


class RowSchema:
    """Column kinds in first-seen order."""

    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}

    def observe(self, row: dict[str, Any]) -> None:
        kinds = self.kinds
        for name, value in row.items():
            kind = kind_of(value)
            known = kinds.get(name)
            kinds[name] = kind if known is None else merge(known, kind)

    def arrow(self) -> pa.Schema:
        fields = []
        for name, kind in self.kinds.items():
            metadata = {b"content": b"json"} if kind == "json" else None
            fields.append(pa.field(name, _ARROW[kind], metadata=metadata))
        return pa.schema(fields)

    def misfit(self, row: dict[str, Any]) -> str | None:
        """Why the row does not fit this schema, or None."""
        kinds = self.kinds
        for name, value in row.items():
            known = kinds.get(name)
            if known is None:
                return f"key {name!r} first appears"
            kind = kind_of(value)
            if merge(known, kind) != known:
                return f"column {name!r} holds {kind} values where earlier rows held {known}"
        return None


class RowBatcher:
    """Buffers rows and writes them as Arrow batches through `open_table(schema)`.

    With `fixed` (from a full pass) every row fits. Without it, the first batch fixes the schema, and a later row
    that does not fit raises `Reread({"prescan": True})`. Columns with no value in the first batch become text.
    """

    def __init__(
        self,
        open_table: Callable[[pa.Schema], Any],
        fixed: RowSchema | None = None,
        batch_rows: int = BATCH_ROWS,
        leading: Iterable[tuple[str, Kind]] = (),
    ) -> None:
        self._open_table = open_table
        self._schema = fixed
        self._check = fixed is None
        self._leading = list(leading)
        self._batch_rows = batch_rows
        self._rows: list[dict[str, Any]] = []
        self._written = 0
        self._table: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        rows = self._rows
        if self._schema is None:
            schema = RowSchema()
            schema.kinds.update(self._leading)
            for row in rows:
                schema.observe(row)
            for name, kind in schema.kinds.items():
                if kind == "null":
                    schema.kinds[name] = "string"
            self._schema = schema
        elif self._check and self._table is not None:
            for offset, row in enumerate(rows):
                reason = self._schema.misfit(row)
                if reason is not None:
                    raise Reread({"prescan": True}, f"{reason} at row {self._written + offset + 1}")
        if self._table is None:
            self._table = self._open_table(self._schema.arrow())
        if rows:
            self._table.write(self._batch(rows))
        self._written += len(rows)
        self._rows = []

    def _batch(self, rows: list[dict[str, Any]]) -> pa.RecordBatch:
        assert self._schema is not None
        schema = self._schema.arrow()
        arrays = []
        for field in schema:
            kind = self._schema.kinds[field.name]
            arrays.append(pa.array([convert(row.get(field.name), kind) for row in rows], type=field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    @property
    def rows_written(self) -> int:
        return self._written

    @property
    def rows_buffered(self) -> int:
        return len(self._rows)
