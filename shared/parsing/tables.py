"""Tables found inside documents (DOCX, HTML): one row per table row, whatever the shape of each table."""

from __future__ import annotations

import pyarrow as pa

from .context import ParseContext

BATCH_ROWS = 10_000

TABLE_SCHEMA = pa.schema(
    [
        pa.field("table_index", pa.int32(), nullable=False),
        pa.field("row_index", pa.int32(), nullable=False),
        pa.field("cells", pa.list_(pa.string())),
    ]
)


class DocumentTables:
    """Collects table rows and writes them in batches; the output is opened only if a table exists."""

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._columns: dict[str, list[object]] = {name: [] for name in TABLE_SCHEMA.names}
        self.tables = 0

    def add_table(self, rows: list[list[str]]) -> None:
        index = self.tables
        self.tables += 1
        for row_index, cells in enumerate(rows):
            self._columns["table_index"].append(index)
            self._columns["row_index"].append(row_index)
            self._columns["cells"].append(cells)
        if len(self._columns["cells"]) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.tables == 0:
            return
        sink = self._ctx.outputs.table(TABLE_SCHEMA)
        if self._columns["cells"]:
            sink.write(pa.RecordBatch.from_pydict(self._columns, schema=TABLE_SCHEMA))
            self._columns = {name: [] for name in TABLE_SCHEMA.names}
