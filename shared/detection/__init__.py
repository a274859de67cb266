"""Content detection: the real type of a file from its bytes. Light enough for every function (no parser libraries)."""

from shared.detection.encoding import EncodingGuess, guess_encoding
from shared.detection.sniff import (
    HEAD_BYTES,
    MIME_TYPES,
    detect_delimiter,
    detect_encoding,
    sniff,
    sniff_stream,
)
from shared.detection.types import Confidence, DetectedType, Format

__all__ = ["HEAD_BYTES", "MIME_TYPES", "Confidence", "DetectedType", "EncodingGuess", "Format", "detect_delimiter",
           "detect_encoding", "guess_encoding", "sniff", "sniff_stream"]
