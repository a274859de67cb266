"""Text chunking that streams.

Every chunk's `text` is exactly `extracted_text[char_start:char_end]`, where the extracted text is the decoded file
for text formats, and the units (pages, paragraphs, rows) joined by their separator for documents. Chunks break at
the best boundary inside the size limit: a heading, a blank line, a line end, a sentence end, a space.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TEXT_BOUNDARIES: tuple[tuple[str, int], ...] = (("\n\n", 2), ("\n", 1), (". ", 2), ("? ", 2), ("! ", 2), (" ", 1))
MARKDOWN_BOUNDARIES: tuple[tuple[str, int], ...] = (("\n#", 1), *TEXT_BOUNDARIES)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


class TextSplitter:
    """Cuts a stream of text, fed piece by piece, into spans of at most `size` characters."""

    def __init__(
        self,
        size: int,
        overlap: int = 0,
        boundaries: tuple[tuple[str, int], ...] = TEXT_BOUNDARIES,
        base: int = 0,
    ) -> None:
        self._size = size
        self._overlap = overlap
        self._boundaries = boundaries
        self._buffer = ""
        self._pos = 0  # index in _buffer of the next unread character
        self._base = base  # absolute offset of _buffer[0]

    def feed(self, piece: str) -> Iterator[Span]:
        if self._pos > len(self._buffer) // 2:
            self._base += self._pos
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        self._buffer += piece
        while len(self._buffer) - self._pos > self._size:
            yield from self._cut(final=False)

    def finish(self) -> Iterator[Span]:
        while self._pos < len(self._buffer):
            yield from self._cut(final=True)

    def _cut(self, final: bool) -> Iterator[Span]:
        remaining = len(self._buffer) - self._pos
        if final and remaining <= self._size:
            cut = remaining
        else:
            cut = self._best_cut()
        start = self._pos
        span = _trimmed(self._buffer[start : start + cut], self._base + start)
        if span is not None:
            yield span
        if start + cut >= len(self._buffer):
            self._pos = len(self._buffer)
            return
        self._pos = start + self._resume(cut)

    def _best_cut(self) -> int:
        window = self._buffer[self._pos : self._pos + self._size]
        floor = self._size // 2
        for separator, keep in self._boundaries:
            found = window.rfind(separator, floor)
            if found >= 0:
                return found + keep
        return len(window)

    def _resume(self, cut: int) -> int:
        if self._overlap <= 0:
            return cut
        back = max(cut - self._overlap, 1)
        tail = self._buffer[self._pos + back : self._pos + cut]
        # Start the overlap on a word boundary.
        for index, char in enumerate(tail):
            if char.isspace():
                return back + index + 1 if back + index + 1 < cut else cut
        return back


def _trimmed(text: str, start: int) -> Span | None:
    stripped_left = text.lstrip()
    left = len(text) - len(stripped_left)
    core = stripped_left.rstrip()
    if not core:
        return None
    return Span(start + left, start + left + len(core), core)


class JsonLinesWriter:
    """One JSON object per line on a binary stream, buffering small writes."""

    FLUSH_BYTES = 256 * 1024

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self.count = 0

    def write_record(self, record: dict[str, Any]) -> None:
        self._buffer += json.dumps(record, ensure_ascii=False).encode("utf-8")
        self._buffer += b"\n"
        self.count += 1
        if len(self._buffer) >= self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._stream.write(bytes(self._buffer))
            self._buffer.clear()


class ChunkWriter(JsonLinesWriter):
    """Serialises text chunks as JSON lines, numbered in order."""

    def write(self, span: Span, refs: Mapping[str, object] | None = None) -> None:
        record: dict[str, Any] = {"chunk_index": self.count, "text": span.text}
        if refs:
            record.update(refs)
        record["char_start"] = span.start
        record["char_end"] = span.end
        self.write_record(record)


class UnitChunker:
    """Chunks a document made of units (paragraphs, table rows, sheet rows) joined by `joiner`.

    Consecutive short units share a chunk; a unit longer than the size is split on its own. Chunks carry the
    references of their first unit, and `<ref>_end` of their last unit when it differs. Call `flush` before a unit
    that must start a new chunk (a new page or sheet), and at the end.
    """

    def __init__(self, writer: ChunkWriter, size: int, overlap: int = 0, joiner: str = "\n") -> None:
        self._writer = writer
        self._size = size
        self._overlap = overlap
        self._joiner = joiner
        self.offset = 0  # absolute offset where the next unit starts
        self._group: list[str] = []
        self._group_start = 0
        self._first: dict[str, int | str] | None = None
        self._last: dict[str, int | str] | None = None

    def add(self, text: str, refs: dict[str, int | str]) -> None:
        if not text.strip():
            if self._group:
                self._group.append(text)
            self.offset += len(text) + len(self._joiner)
            return
        if len(text) > self._size:
            self.flush()
            splitter = TextSplitter(self._size, self._overlap, base=self.offset)
            for span in (*splitter.feed(text), *splitter.finish()):
                self._writer.write(span, refs)
        else:
            projected = sum(len(part) + len(self._joiner) for part in self._group) + len(text)
            if self._group and projected > self._size:
                self.flush()
            if not self._group:
                self._group_start = self.offset
                self._first = refs
            self._group.append(text)
            self._last = refs
        self.offset += len(text) + len(self._joiner)

    def flush(self) -> None:
        if not self._group or self._first is None or self._last is None:
            self._group = []
            return
        span = _trimmed(self._joiner.join(self._group), self._group_start)
        if span is not None:
            refs = dict(self._first)
            for key, value in self._last.items():
                if self._first.get(key) != value:
                    refs[f"{key}_end"] = value
            self._writer.write(span, refs)
        self._group = []
        self._first = self._last = None

    def skip(self, length: int) -> None:
        """Advance the offset over text that belongs to the extracted text but to no chunk (a separator)."""
        self.flush()
        self.offset += length
