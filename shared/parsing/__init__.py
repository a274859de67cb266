"""The parsing engine: type detection from content, and streaming parsers to Parquet rows and JSONL text chunks.

Pure domain: it reads and writes file-like objects only, and knows nothing of where they live. Importing the
package, or `shared.detection`, loads no parser library: `parse` loads them on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.detection import HEAD_BYTES, DetectedType, sniff, sniff_stream

from .errors import ParseError
from .models import ParseOutput, ParseResult, SchemaField

if TYPE_CHECKING:
    from .engine import parse

__all__ = [
    "CHUNKS_CONTENT_TYPE",
    "CHUNKS_NAME",
    "HEAD_BYTES",
    "STRUCTURED_CONTENT_TYPE",
    "STRUCTURED_NAME",
    "DetectedType",
    "ParseError",
    "ParseOutput",
    "ParseResult",
    "SchemaField",
    "parse",
    "sniff",
    "sniff_stream",
]

STRUCTURED_NAME = "structured.parquet"
STRUCTURED_CONTENT_TYPE = "application/vnd.apache.parquet"
CHUNKS_NAME = "chunks.jsonl"
CHUNKS_CONTENT_TYPE = "application/x-ndjson"


def __getattr__(name: str) -> Any:
    if name == "parse":
        from .engine import parse

        return parse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
