"""Expansion budgets for inputs that are compressed inside: Parquet column chunks and the zip packages of Office and
OpenDocument files. The sizes their own metadata declare are checked before anything is decompressed, so that a
few kilobytes that expand to gigabytes are refused at once, as archives are (containers.py).

A reader cannot inflate past what the metadata declares: pyarrow sizes each page from its header, and zip readers
stop at the member's declared size, so the declared sizes bound the work.
"""

from __future__ import annotations

import struct
import zipfile
from typing import Any, BinaryIO

from .containers import MAX_INFLATED_BYTES, MAX_RATIO, RATIO_ALLOWANCE
from .errors import ParseError

# Parquet is written to be read in pieces: its total may exceed an archive's budget, one column chunk may not.
MAX_PARQUET_BYTES = 16 * MAX_INFLATED_BYTES
MAX_COLUMN_CHUNK_BYTES = 512 * 1024 * 1024
MAX_PARQUET_CELLS = 2_000_000_000
# Sheet and document XML compresses well, and readers stream it: a package may expand further than an archive.
MAX_PACKAGE_BYTES = 4 * MAX_INFLATED_BYTES


def _limit(compressed: int, ceiling: int) -> int:
    return min(ceiling, max(RATIO_ALLOWANCE, compressed * MAX_RATIO))


def check_parquet(metadata: Any, size: int) -> None:
    """Refuse a Parquet file whose declared uncompressed sizes break the budget (`metadata`: pyarrow FileMetaData)."""
    total = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        for column in range(group.num_columns):
            chunk = group.column(column)
            inflated = max(chunk.total_uncompressed_size, 0)
            total += inflated
            if inflated > _limit(max(chunk.total_compressed_size, 1), MAX_COLUMN_CHUNK_BYTES):
                raise ParseError(
                    "TOO_LARGE",
                    f"Column {chunk.path_in_schema!r} of row group {index + 1} expands to {inflated:,} bytes from "
                    f"{chunk.total_compressed_size:,} (a budget of {MAX_COLUMN_CHUNK_BYTES >> 20} MiB per column "
                    f"chunk and {MAX_RATIO}:1 guards against decompression bombs). Write it with smaller row groups.",
                )
    if total > _limit(size, MAX_PARQUET_BYTES):
        raise ParseError(
            "TOO_LARGE",
            f"The Parquet file expands to {total:,} bytes from {size:,} (a budget of {MAX_PARQUET_BYTES >> 30} GiB "
            f"and {MAX_RATIO}:1 guards against decompression bombs). Split it into smaller files.",
        )
    cells = metadata.num_rows * max(metadata.num_columns, 1)
    if cells > MAX_PARQUET_CELLS:
        raise ParseError(
            "TOO_LARGE",
            f"The Parquet file declares {metadata.num_rows:,} rows of {metadata.num_columns} columns, past the "
            f"budget of {MAX_PARQUET_CELLS:,} cells. Split it into smaller files.",
        )


def _odf_encrypted(archive: zipfile.ZipFile) -> bool:
    """An OpenDocument file saved with a password lists how each encrypted member was encrypted in its manifest."""
    if "META-INF/manifest.xml" not in archive.namelist():
        return False
    with archive.open("META-INF/manifest.xml") as manifest:
        return b"encryption-data" in manifest.read(1024 * 1024)


def check_zip_package(source: BinaryIO, size: int, label: str) -> None:
    """Refuse an Office or OpenDocument package whose members declare more than the archive budget, or that is
    encrypted (OpenDocument; encrypted OOXML is an OLE file, found by detection)."""
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            encrypted = _odf_encrypted(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, KeyError):
        return  # a damaged directory: the format's reader says what is wrong with it
    finally:
        source.seek(0)
    if encrypted:
        raise ParseError(
            "UNSUPPORTED_FORMAT",
            f"{label} is password-protected: its content is encrypted. Save it without a password and upload it again.",
        )
    inflated = sum(max(info.file_size, 0) for info in members)
    if inflated > _limit(size, MAX_PACKAGE_BYTES):
        raise ParseError(
            "TOO_LARGE",
            f"{label} expands to {inflated:,} bytes from {size:,} (a budget of {MAX_PACKAGE_BYTES >> 30} GiB and "
            f"{MAX_RATIO}:1 guards against decompression bombs). Split it, or save it without embedded media.",
        )
