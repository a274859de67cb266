"""Fixtures for the parsing engine tests: a real file sink, and builders that make real documents with their libraries."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow.parquet as pq
import pytest

from shared.parsing import DetectedType, ParseResult, parse, sniff_stream


class FileOutputs:
    """`open_output` writing each output to a file in a folder, as the worker does with Cloud Storage objects.

    It records every opening, and whether the parse left it with an exception (an aborted upload).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.opened: list[tuple[str, str]] = []
        self.aborted: list[str] = []
        self.closed_by_parse: list[str] = []

    @contextlib.contextmanager
    def __call__(self, name: str, content_type: str) -> Iterator[BinaryIO]:
        self.opened.append((name, content_type))
        path = self.folder / name
        with path.open("wb") as handle:
            try:
                yield handle
            except BaseException:
                self.aborted.append(name)
                raise
            if handle.closed:
                self.closed_by_parse.append(name)

    def rows(self) -> list[dict[str, Any]]:
        return pq.read_table(self.folder / "structured.parquet").to_pylist()

    def parquet(self) -> pq.ParquetFile:
        return pq.ParquetFile(self.folder / "structured.parquet")

    def chunks(self) -> list[dict[str, Any]]:
        return self.records("chunks.jsonl")

    def records(self, name: str) -> list[dict[str, Any]]:
        text = (self.folder / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def outputs(tmp_path: Path) -> FileOutputs:
    folder = tmp_path / "outputs"
    folder.mkdir()
    return FileOutputs(folder)


@pytest.fixture
def run_parse(tmp_path: Path, outputs: FileOutputs) -> Any:
    """Write `data` to a file named `filename`, detect its type from a read of the file, and parse it."""

    def run(data: bytes, filename: str, profile: str, options: dict[str, Any] | None = None) -> tuple[DetectedType, ParseResult]:
        path = tmp_path / filename
        path.write_bytes(data)
        with path.open("rb") as source:
            detected = sniff_stream(source, filename)
            result = parse(source, detected, profile, options or {}, outputs)  # type: ignore[arg-type]
        return detected, result

    return run
