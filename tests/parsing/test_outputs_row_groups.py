"""Row groups sized to the input: a small input's last group, encoded after the whole input is read, stays short."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow.parquet as pq

from shared.parsing import parse, sniff_stream
from shared.parsing.outputs import MIN_ROW_GROUP_BYTES, ROW_GROUP_BYTES, row_group_bytes


def test_row_groups_are_a_fifth_of_a_small_input_and_capped_for_a_large_one() -> None:
    assert row_group_bytes(None) == ROW_GROUP_BYTES
    assert row_group_bytes(10_000_000) == 2_000_000
    assert row_group_bytes(100_000) == MIN_ROW_GROUP_BYTES
    assert row_group_bytes(1_000_000_000) == ROW_GROUP_BYTES


def _csv(rows: int) -> bytes:
    return b"id,name,amount\n" + b"".join(b"%d,name-%d,%d.25\n" % (i, i, i) for i in range(rows))


def _row_groups(data: bytes) -> tuple[int, int]:
    written: dict[str, io.BytesIO] = {}

    @contextmanager
    def open_output(name: str, content_type: str) -> Iterator[io.BytesIO]:
        written[name] = io.BytesIO()
        yield written[name]

    source = io.BytesIO(data)
    result = parse(source, sniff_stream(source, "rows.csv"), "structured", {}, open_output)  # type: ignore[arg-type]
    meta = pq.read_metadata(io.BytesIO(written["structured.parquet"].getvalue()))
    return meta.num_row_groups, result.record_count


def test_a_small_csv_is_written_in_several_row_groups_with_every_row() -> None:
    data = _csv(300_000)  # about 7 MB: groups of about 1.4 MB of Arrow data
    groups, rows = _row_groups(data)
    assert rows == 300_000
    assert 3 <= groups <= 12, groups
