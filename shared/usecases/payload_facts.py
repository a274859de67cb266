"""What a parse records about the payload it wrote, so that later promises can be checked against it:
- the sha256 of every output, hashed as the bytes stream out (no second read): a `reference` record is verified
  against it, and a regenerated payload must hash to it;
- per-column statistics of a structured output (row count, nulls, min, max, distinct estimate), which a `summary`
  record keeps when it keeps no payload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, BinaryIO

from shared.logs import get_logger
from shared.ports import BlobStore

log = get_logger(__name__)

OpenOutput = Callable[[str, str], AbstractContextManager[BinaryIO]]


class _HashingStream:
    """Forwards writes to the stored object's stream and hashes them on the way."""

    def __init__(self, inner: BinaryIO, digest: Any) -> None:
        self._inner = inner
        self._digest = digest

    def write(self, data: Any) -> int:
        self._digest.update(data)
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def hashing_outputs(open_output: OpenOutput) -> tuple[OpenOutput, dict[str, str]]:
    """`open_output` that also records each output's sha256 (hex) by name once it is closed."""
    digests: dict[str, str] = {}

    @contextmanager
    def opened(name: str, content_type: str) -> Iterator[BinaryIO]:
        digest = hashlib.sha256()
        with open_output(name, content_type) as stream:
            yield _HashingStream(stream, digest)  # type: ignore[misc]
        digests[name] = digest.hexdigest()

    return opened, digests


def structured_statistics(blobs: BlobStore, bucket: str, name: str) -> dict[str, Any] | None:
    """Column statistics of a Parquet output, read back one row group at a time; None when it cannot be read."""
    from shared.parsing.column_stats import column_statistics

    try:
        with blobs.open_read(bucket, name) as stream:
            return column_statistics(stream)
    except Exception:  # statistics are a convenience: a parse never fails for want of them (logged)
        log.warning("column statistics unavailable", exc_info=True)
        return None
