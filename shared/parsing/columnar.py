"""Parquet in, Parquet out: re-written batch by batch, so a large file never sits in memory."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .budgets import check_parquet
from .context import ParseContext, describe

BATCH_ROWS = 65_536


def parse_parquet(ctx: ParseContext) -> None:
    try:
        parquet = pq.ParquetFile(ctx.source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        ctx.fail("CORRUPT_FILE", f"The Parquet file could not be opened: {describe(exc)}.", exc)
    check_parquet(parquet.metadata, ctx.source.seek(0, 2))  # before a page is read: the footer declares the sizes
    sink = ctx.outputs.table(parquet.schema_arrow)
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            sink.write(batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        ctx.fail("CORRUPT_FILE", f"The Parquet file is damaged after row {sink.rows}: {describe(exc)}.", exc)
