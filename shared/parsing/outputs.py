"""The outputs of a parse (a table, text chunks, and named JSON-lines record sets), opened through the caller's
`open_output` only when first needed."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from . import CHUNKS_CONTENT_TYPE, CHUNKS_NAME, STRUCTURED_CONTENT_TYPE, STRUCTURED_NAME
from .chunks import ChunkWriter, JsonLinesWriter
from .models import ParseOutput, SchemaField
from .streams import CountingSink

# A row group is written once this much Arrow data is buffered. 4 MiB keeps a parse's peak memory flat and under
# 64 MiB of growth at 100 MB and at 1 GB (16 MiB gave 83 MiB), at no cost in throughput (bench/parse).
ROW_GROUP_BYTES = 4 * 1024 * 1024
MIN_ROW_GROUP_BYTES = 1024 * 1024
ROW_GROUP_ROWS = 1_000_000
OUTPUT_BUFFER_BYTES = 1024 * 1024

OpenOutput = Callable[[str, str], AbstractContextManager[BinaryIO]]


class TableSink:
    """Writes record batches to Parquet incrementally.

    Batches are gathered into row groups of about ROW_GROUP_BYTES, and each row group is encoded and written on
    one background thread while the next one is being read: the two overlap, and at most two row groups are held.
    """

    def __init__(self, sink: CountingSink, schema: pa.Schema, row_group_bytes: int = ROW_GROUP_BYTES) -> None:
        self.sink = sink
        self.schema = schema
        self.row_group_bytes = row_group_bytes
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._pending_rows = 0
        # Dictionary encoding pays off for text; for numbers and timestamps it is mostly wasted work.
        dictionary = [field.name for field in schema if _dictionary_worthy(field.type)]
        # Buffered in Arrow's own stream: the writer's many small writes (page headers, pages) reach the Python sink
        # as one call per MiB instead of one each.
        self._out = pa.output_stream(sink, buffer_size=OUTPUT_BUFFER_BYTES)
        self._writer = pq.ParquetWriter(self._out, schema, compression="snappy", use_dictionary=dictionary or False)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer")
        self._in_flight: Future[None] | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if batch.schema != self.schema:
            batch = conform(batch, self.schema)
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_bytes >= self.row_group_bytes or self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        self._pending = []
        self._pending_bytes = self._pending_rows = 0
        self._wait()
        self._in_flight = self._executor.submit(self._writer.write_table, table)

    def _wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def close(self) -> None:
        try:
            self._flush()
            self._wait()
        finally:
            self._executor.shutdown(wait=True)
        self._writer.close()
        self._out.close()  # flushes the buffer into the sink (whose close only flushes: the caller owns the stream)

    def abandon(self) -> None:
        """Release the writer after a failure; its sink drops writes, so nothing more reaches the output."""
        self._pending = []
        self._executor.shutdown(wait=True)
        for close in (self._writer.close, self._out.close):
            try:
                close()
            except (pa.ArrowException, OSError, ValueError):
                pass


def row_group_bytes(input_bytes: int | None) -> int:
    """Each row group is encoded while the next is read, but the last only once the input is read: its encoding is
    the parse's tail. A small input gets groups of about a fifth of its size (at least 1 MiB) so that the tail stays
    short; from 20 MB on, every group is ROW_GROUP_BYTES."""
    if not input_bytes:
        return ROW_GROUP_BYTES
    return max(MIN_ROW_GROUP_BYTES, min(ROW_GROUP_BYTES, input_bytes // 5))


def _dictionary_worthy(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_dictionary(data_type)
    )


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch under the sink's column names, with any column of another type cast to the sink's type."""
    arrays = [column if column.type == field.type else column.cast(field.type) for column, field in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


RECORDS_CONTENT_TYPE = "application/x-ndjson"


class Outputs:
    """Opens outputs lazily inside `stack`, so that a failure passes through each opened context manager."""

    def __init__(self, open_output: OpenOutput, stack: ExitStack) -> None:
        self._open_output = open_output
        self._stack = stack
        self._table: TableSink | None = None
        self._table_sink: CountingSink | None = None
        self._chunks: ChunkWriter | None = None
        self._chunk_sink: CountingSink | None = None
        self._records: dict[str, tuple[JsonLinesWriter, CountingSink]] = {}

    def _open(self, name: str, content_type: str) -> CountingSink:
        stream = self._stack.enter_context(self._open_output(name, content_type))
        sink = CountingSink(stream)
        self._stack.push(self._abandon_on_failure)  # runs before the output's own exit
        return sink

    def _abandon_on_failure(self, exc_type: type[BaseException] | None, *_: object) -> bool:
        if exc_type is not None:
            for sink in (self._table_sink, self._chunk_sink, *(s for _, s in self._records.values())):
                if sink is not None:
                    sink.drop_writes()
            if self._table is not None:
                self._table.abandon()
        return False

    def table(self, schema: pa.Schema, input_bytes: int | None = None) -> TableSink:
        """The Parquet output; `input_bytes`, where known, sizes its row groups (row_group_bytes)."""
        if self._table is None:
            self._table_sink = self._open(STRUCTURED_NAME, STRUCTURED_CONTENT_TYPE)
            self._table = TableSink(self._table_sink, schema, row_group_bytes(input_bytes))
        elif not self._table.schema.equals(schema):
            raise ValueError("the structured output was opened with another schema")
        return self._table

    @property
    def has_table(self) -> bool:
        return self._table is not None

    def chunks(self) -> ChunkWriter:
        if self._chunks is None:
            self._chunk_sink = self._open(CHUNKS_NAME, CHUNKS_CONTENT_TYPE)
            self._chunks = ChunkWriter(self._chunk_sink)
        return self._chunks

    def records(self, name: str) -> JsonLinesWriter:
        """A named JSON-lines output (`name` ends in .jsonl), e.g. transactions.jsonl beside the segment table."""
        if name not in self._records:
            sink = self._open(name, RECORDS_CONTENT_TYPE)
            self._records[name] = (JsonLinesWriter(sink), sink)
        return self._records[name][0]

    def failure(self) -> BaseException | None:
        for sink in (self._table_sink, self._chunk_sink, *(s for _, s in self._records.values())):
            if sink is not None and sink.failure is not None:
                return sink.failure
        return None

    def finish(self) -> list[ParseOutput]:
        """Write the Parquet footer and the last chunks; the context managers then close the streams."""
        results = []
        if self._table is not None and self._table_sink is not None:
            self._table.close()
            self._table_sink.flush()
            results.append(
                ParseOutput(
                    name=STRUCTURED_NAME,
                    format="parquet",
                    content_type=STRUCTURED_CONTENT_TYPE,
                    record_count=self._table.rows,
                    bytes_written=self._table_sink.bytes_written,
                )
            )
        if self._chunks is not None and self._chunk_sink is not None:
            self._chunks.flush()
            self._chunk_sink.flush()
            results.append(
                ParseOutput(
                    name=CHUNKS_NAME,
                    format="jsonl",
                    content_type=CHUNKS_CONTENT_TYPE,
                    record_count=self._chunks.count,
                    bytes_written=self._chunk_sink.bytes_written,
                )
            )
        for name, (writer, sink) in self._records.items():
            writer.flush()
            sink.flush()
            results.append(ParseOutput(name=name, format="jsonl", content_type=RECORDS_CONTENT_TYPE,
                                       record_count=writer.count, bytes_written=sink.bytes_written))
        return results

    def schema_fields(self) -> list[SchemaField] | None:
        if self._table is None:
            return None
        return [SchemaField(name=field.name, type=str(field.type)) for field in self._table.schema]

    @property
    def record_count(self) -> int | None:
        return None if self._table is None else self._table.rows

    @property
    def chunk_count(self) -> int | None:
        return None if self._chunks is None else self._chunks.count
