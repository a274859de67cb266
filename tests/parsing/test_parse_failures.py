"""Permanent failures are clear ParseErrors; failures of the streams themselves are not disguised as them."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from shared.parsing import DetectedType, ParseError, parse, sniff


def test_empty_file_is_rejected(run_parse, outputs) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"", "empty.csv", "structured")
    assert caught.value.code == "EMPTY_FILE"
    assert "empty" in caught.value.message
    assert outputs.opened == []


def test_whitespace_only_file_is_rejected(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"  \n\n\t \n", "blank.txt", "unstructured")
    assert caught.value.code == "EMPTY_FILE"


def test_unknown_binary_is_unsupported_in_every_profile(run_parse) -> None:
    for profile in ("structured", "unstructured", "hybrid"):
        with pytest.raises(ParseError) as caught:
            run_parse(bytes(range(256)) * 40, "blob.bin", profile)
        assert caught.value.code == "UNSUPPORTED_FORMAT"


def test_legacy_excel_file_gets_an_actionable_message(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000, "old.xls", "structured")
    assert caught.value.code == "UNSUPPORTED_FORMAT"
    assert ".xlsx" in caught.value.message


def test_parquet_under_the_unstructured_profile_is_a_profile_mismatch(run_parse) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), buffer)
    with pytest.raises(ParseError) as caught:
        run_parse(buffer.getvalue(), "t.parquet", "unstructured")
    assert caught.value.code == "PROFILE_MISMATCH"


def test_unknown_profile_is_rejected(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"a,b\n1,2\n", "x.csv", "everything")
    assert caught.value.code == "PROFILE_MISMATCH"


def test_unknown_or_invalid_options_are_rejected_with_their_names(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"a,b\n1,2\n", "x.csv", "structured", {"on_invalid_rows": "skip", "chunk_size": 5})
    assert caught.value.code == "INVALID_OPTIONS"
    assert "on_invalid_rows" in caught.value.message
    assert "chunk_size" in caught.value.message
    with pytest.raises(ParseError) as caught:
        run_parse(b"a,b\n1,2\n", "x.csv", "structured", {"encoding": "klingon-8"})
    assert "klingon-8" in caught.value.message


class _FailingSource(io.BytesIO):
    """A source whose reads fail past a point, as a dropped ranged read from storage would."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        super().__init__(data)
        self._fail_after = fail_after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self._fail_after:
            raise ConnectionResetError("connection reset while reading the source")
        return super().read(size)


def _sink() -> tuple[list[str], object]:
    aborted: list[str] = []

    @contextlib.contextmanager
    def open_output(name: str, content_type: str) -> Iterator[BinaryIO]:
        try:
            yield io.BytesIO()
        except BaseException:
            aborted.append(name)
            raise

    return aborted, open_output


def test_source_read_failure_is_not_reported_as_corrupt_file() -> None:
    data = b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(1_000_000))
    detected = sniff(data[:65536], "x.csv")
    aborted, open_output = _sink()
    with pytest.raises(ConnectionResetError):
        parse(_FailingSource(data, len(data) // 2), detected, "structured", {"block_size": 65536}, open_output)  # type: ignore[arg-type]
    assert aborted == ["structured.parquet"]


def test_pdf_source_read_failure_propagates_as_itself(tmp_path) -> None:
    from parsing_builders import make_pdf

    data = make_pdf([f"page {n} " + "text " * 50 for n in range(40)])
    detected = DetectedType(format="pdf", mime_type="application/pdf", encoding=None, confidence="high")
    _, open_output = _sink()
    with pytest.raises(ConnectionResetError):
        parse(_FailingSource(data, len(data) // 2), detected, "unstructured", {}, open_output)  # type: ignore[arg-type]


def test_output_write_failure_propagates_as_itself() -> None:
    class BrokenUpload(io.BytesIO):
        def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
            raise TimeoutError("upload timed out")

    @contextlib.contextmanager
    def open_output(name: str, content_type: str) -> Iterator[BinaryIO]:
        yield BrokenUpload()

    data = b"a,b\n" + b"1,2\n" * 10
    with pytest.raises(TimeoutError):
        parse(io.BytesIO(data), sniff(data, "x.csv"), "structured", {}, open_output)


def test_parse_leaves_closing_to_the_output_context_manager(run_parse, outputs) -> None:
    run_parse(b"a,b\n1,2\n", "x.csv", "hybrid")
    assert outputs.closed_by_parse == []
    assert outputs.aborted == []


def test_a_failed_parse_aborts_every_output_it_opened(run_parse, outputs) -> None:
    data = b"id,name\n" + b"".join(b"%d,ok\n" % i for i in range(30_000)) + b'30000,"broken\n30001,x\n'
    with pytest.raises(ParseError):
        run_parse(data, "x.csv", "structured", {"block_size": 65536})
    assert outputs.aborted == ["structured.parquet"]


def test_source_is_read_through_seekable_file_objects_only(tmp_path, outputs) -> None:
    data = b"a,b\n1,2\n"
    source = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    result = parse(source, sniff(data, "x.csv"), "structured", None, outputs)
    assert result.record_count == 1
    assert not source.closed
