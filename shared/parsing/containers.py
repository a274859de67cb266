"""Compressed uploads: a gzip file, or a zip archive that is not an Office document, holding one file to parse.

The member is decompressed as a stream into a spooled temporary file (in memory while small), under two budgets
against decompression bombs: at most MAX_INFLATED_BYTES in all, and at most MAX_RATIO times the compressed size
(past a first allowance, since small files compress well).
"""

from __future__ import annotations

import gzip
import tempfile
import zipfile
import zlib
from typing import IO, BinaryIO, Protocol

from .errors import ParseError

MAX_INFLATED_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 200
RATIO_ALLOWANCE = 16 * 1024 * 1024
SPOOL_BYTES = 32 * 1024 * 1024
_READ = 1024 * 1024


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _bomb(size: int, compressed: int) -> ParseError:
    return ParseError(
        "TOO_LARGE",
        f"The compressed file expands past {size:,} bytes from {compressed:,} (a budget of "
        f"{MAX_INFLATED_BYTES >> 20} MiB and {MAX_RATIO}:1 guards against decompression bombs). Upload it "
        "uncompressed, or split it.",
    )


def _copy(reader: _Readable, compressed: int) -> IO[bytes]:
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    limit = min(MAX_INFLATED_BYTES, max(RATIO_ALLOWANCE, compressed * MAX_RATIO))
    while block := reader.read(_READ):
        size += len(block)
        if size > limit:
            out.close()
            raise _bomb(size, compressed)
        out.write(block)
    out.seek(0)
    return out


def gunzip(source: BinaryIO, compressed: int, filename: str | None) -> tuple[IO[bytes], str | None]:
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as reader:
            inner = _copy(reader, compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise ParseError("CORRUPT_FILE", f"The gzip file could not be decompressed ({exc}). It may be truncated.") from None
    name = filename[:-3] if filename and filename.lower().endswith(".gz") else None
    if filename and filename.lower().endswith(".tgz"):
        name = filename[:-4] + ".tar"
    return inner, name


def unzip(source: BinaryIO, compressed: int) -> tuple[IO[bytes], str]:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ParseError("CORRUPT_FILE", f"The zip archive could not be opened ({exc}).") from None
    with archive:
        members = [info for info in archive.infolist()
                   if not info.is_dir() and not info.filename.startswith(("__MACOSX/", ".")) and "/." not in info.filename]
        if len(members) != 1:
            names = ", ".join(info.filename for info in members[:10]) or "nothing"
            raise ParseError(
                "UNSUPPORTED_FORMAT",
                f"A zip archive is parsed when it holds exactly one file; this one holds {len(members)} ({names}). "
                "Upload the files one by one.",
            )
        member = members[0]
        if member.flag_bits & 0x1:
            raise ParseError("UNSUPPORTED_FORMAT", "The zip archive is password-protected. Upload the file itself.")
        if member.file_size > MAX_INFLATED_BYTES:
            raise _bomb(member.file_size, member.compress_size)
        try:
            with archive.open(member) as reader:
                inner = _copy(reader, max(member.compress_size, 1))
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
            raise ParseError("CORRUPT_FILE", f"{member.filename!r} could not be extracted from the zip archive ({exc}).") from None
    return inner, member.filename.rsplit("/", 1)[-1]
