"""Wrappers around the caller's streams.

They record a failure of the underlying read or write, so that a library error caused by I/O (a dropped ranged
read, a failed upload) is re-raised as itself, to be retried, and is never reported as a corrupt file.
"""

from __future__ import annotations

import codecs
import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from .errors import ParseError

READ_SIZE = 1024 * 1024


class GuardedSource(io.RawIOBase):
    """A read-only, seekable view of the source that remembers the first exception its stream raised."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.failure: BaseException | None = None
        self.lock = threading.Lock()  # a cursor's seek and read go together (see SourceCursor)

    def cursor(self) -> SourceCursor:
        """A view of this source with a position of its own (one per parse attempt)."""
        return SourceCursor(self)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._stream.read(-1 if size is None else size)
        except Exception as exc:
            self.failure = exc
            raise

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._stream.seek(offset, whence)
        except Exception as exc:
            self.failure = exc
            raise

    def tell(self) -> int:
        try:
            return self._stream.tell()
        except Exception as exc:
            self.failure = exc
            raise

    def close(self) -> None:
        # The caller owns the stream; libraries that close what they read must not close it.
        super().close()

    @property
    def closed(self) -> bool:
        return False


class SourceCursor(io.RawIOBase):
    """A position of its own over a GuardedSource: each read seeks there and reads under the source's lock. A parse
    attempt that is given up may leave a library's read-ahead thread reading (pyarrow's CSV reader does); with a
    cursor each, its reads cannot move the next attempt's position, as they did through one shared stream."""

    def __init__(self, source: GuardedSource) -> None:
        super().__init__()
        self._source = source
        self._pos = 0

    @property
    def failure(self) -> BaseException | None:
        return self._source.failure

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with self._source.lock:
            self._source.seek(self._pos)
            data = self._source.read(size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            with self._source.lock:
                self._pos = self._source.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        super().close()  # the source stays open: it is the caller's

    @property
    def closed(self) -> bool:
        return False


class CountingSink(io.RawIOBase):
    """A write-only view of an output stream that counts bytes and remembers the first exception it raised."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.bytes_written = 0
        self.failure: BaseException | None = None
        self.dropped = False

    def drop_writes(self) -> None:
        """Drop any later write: the parse failed and the caller is aborting this output."""
        self.dropped = True

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.dropped:
            return len(data)
        try:
            self._stream.write(data)
        except Exception as exc:
            self.failure = exc
            raise
        size = len(data)
        self.bytes_written += size
        return size

    def tell(self) -> int:
        return self.bytes_written

    def flush(self) -> None:
        if self.dropped:
            return
        try:
            self._stream.flush()
        except Exception as exc:
            self.failure = exc
            raise

    def close(self) -> None:
        # Closing (finalising an upload) belongs to the caller's context manager.
        self.flush()

    @property
    def closed(self) -> bool:
        return False


def iter_text(source: BinaryIO, encoding: str, read_size: int = READ_SIZE) -> Iterator[str]:
    """Decode the source incrementally. An undecodable byte raises ENCODING_ERROR naming its offset."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    while True:
        block = source.read(read_size)
        final = not block
        pending = len(decoder.getstate()[0])  # bytes held back from the previous block
        try:
            text = decoder.decode(block, final=final)
        except UnicodeDecodeError as exc:
            offset = consumed - pending + max(exc.start, 0)
            raise ParseError(
                "ENCODING_ERROR",
                f"The file is not valid {encoding} text: the byte at offset {offset} cannot be decoded. "
                "Save it as UTF-8, or name its encoding in parse_options.encoding.",
            ) from None
        consumed += len(block)
        if text:
            yield text
        if final:
            return


def text_encoding(encoding: str | None) -> str:
    """The codec to decode with: a UTF-8 BOM is dropped rather than counted as text."""
    if encoding is None:
        return "utf-8-sig"
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name
