"""The one error a parse raises for a permanent failure: retrying the same bytes cannot succeed."""

from __future__ import annotations

from typing import Literal

ParseErrorCode = Literal[
    "EMPTY_FILE",
    "CORRUPT_FILE",
    "UNSUPPORTED_FORMAT",
    "ENCODING_ERROR",
    "PROFILE_MISMATCH",
    "INVALID_OPTIONS",
    "TOO_LARGE",
]


class ParseError(Exception):
    """A permanent parse failure, with a stable `code` and a `message` a person can act on.

    Failures to read the source or write an output are never turned into a ParseError: they propagate
    unchanged so that the caller can retry them.
    """

    def __init__(self, code: ParseErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
