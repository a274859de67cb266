"""What every format handler receives, and the signal a handler uses to ask for a second read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, NoReturn, cast

from shared.detection import DetectedType

from .errors import ParseError, ParseErrorCode
from .models import Profile
from .ocr import OcrSession
from .options import ParseOptions
from .outputs import Outputs
from .streams import GuardedSource, SourceCursor

MAX_WARNINGS = 20


class Reread(Exception):
    """Raised by a handler whose first guess of the schema did not hold: the parse restarts with `hints`.

    The outputs opened so far are left with this exception, so the caller's writers abort their uploads.
    """

    def __init__(self, hints: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.hints = hints
        self.reason = reason


@dataclass
class ParseContext:
    source: GuardedSource | SourceCursor
    detected: DetectedType
    profile: Profile
    options: ParseOptions
    outputs: Outputs
    hints: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    page_count: int | None = None
    guesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    ocr: OcrSession | None = None  # reads scanned pages and images; None where no OCR engine is configured
    descriptor: dict[str, Any] = field(default_factory=dict)  # facts for the artifact's semantic_descriptor
    _dropped_warnings: int = 0

    def guess(self, name: str, value: Any, confidence: float | str, method: str, override: str | None = None) -> None:
        """Record a guess the parse made, so that the artifact says what was assumed and how to change it."""
        entry: dict[str, Any] = {"value": value, "confidence": confidence, "method": method}
        if override is not None:
            entry["override"] = f"parse_options.{override}"
        self.guesses[name] = entry

    @property
    def want_table(self) -> bool:
        return self.profile in ("structured", "hybrid")

    @property
    def want_text(self) -> bool:
        return self.profile in ("unstructured", "hybrid")

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self._dropped_warnings += 1

    def final_warnings(self) -> list[str]:
        if self._dropped_warnings:
            return [*self.warnings, f"{self._dropped_warnings} more warnings were not listed."]
        return list(self.warnings)

    @property
    def stream(self) -> BinaryIO:
        """The guarded source, typed as the binary file the libraries expect."""
        return cast(BinaryIO, self.source)

    def rewind(self) -> None:
        self.source.seek(0)

    def fail(self, code: ParseErrorCode, message: str, cause: BaseException | None = None) -> NoReturn:
        """Raise a permanent ParseError, unless the cause was a failing read or write: that one is raised as itself."""
        io_failure = self.source.failure or self.outputs.failure()
        if io_failure is not None:
            raise io_failure
        if cause is not None:
            raise ParseError(code, message) from cause
        raise ParseError(code, message)


def describe(exc: BaseException, limit: int = 200) -> str:
    """A one-line reason from a library exception, for a person."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
