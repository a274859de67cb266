"""OCR behind a port: text from page images (scanned PDF pages, image uploads), within a per-file budget.

The engine is an adapter (Tesseract locally and in tests, Document AI's OCR processor in production: see
shared/adapters/ocr/). Handlers go through `OcrSession`, which enforces the budget (pages and seconds per file)
and keeps what the artifact records: the engine, its version, the pages read and their mean confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from .errors import ParseError

if TYPE_CHECKING:
    from PIL.Image import Image

# Scans are read at 300 dpi (Tesseract's and Document AI's advice for body text); a page is scaled down so that its
# bitmap stays under MAX_PIXELS, which bounds memory whatever the page size the PDF declares.
OCR_DPI = 300
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class OcrText:
    text: str
    confidence: float | None  # 0..1, the engine's mean over the page's words; None when it gives none


class OcrEngine(Protocol):
    """Reads the text of one page image. `timeout` is the seconds left in the file's budget."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    def recognize(self, image: Image, timeout: float) -> OcrText: ...


class OcrTimeout(Exception):
    """The engine gave up on a page because the file's time budget ran out."""


class OcrUnavailable(Exception):
    """The OCR service failed transiently (unavailable, quota): the parse is retried, not failed."""


@dataclass(frozen=True)
class OcrLimits:
    max_pages: int = 50
    max_seconds: float = 300.0


@dataclass
class OcrSession:
    """One file's OCR: the engine, its budget, and what was read."""

    engine: OcrEngine
    limits: OcrLimits = field(default_factory=OcrLimits)
    pages: int = 0
    seconds: float = 0.0
    _confidences: list[float] = field(default_factory=list)

    def read(self, image: Image, what: str) -> OcrText:
        """OCR one page image (`what` names it in a refusal: "page 3"), or refuse once past the budget."""
        limits = self.limits
        if self.pages >= limits.max_pages:
            raise ParseError("TOO_LARGE", f"The file has more than {limits.max_pages} pages that need OCR (scanned "
                             f"pages or images); at most {limits.max_pages} are read per file (setting ocr_max_pages). "
                             "Split it into smaller files and upload those.")
        left = limits.max_seconds - self.seconds
        if left <= 0:
            self._out_of_time(what)
        started = time.monotonic()
        try:
            result = self.engine.recognize(image, left)
        except OcrTimeout:
            self._out_of_time(what)
        finally:
            self.seconds += time.monotonic() - started
        self.pages += 1
        if result.confidence is not None:
            self._confidences.append(result.confidence)
        return result

    def _out_of_time(self, what: str) -> NoReturn:
        raise ParseError("TOO_LARGE", f"OCR ran out of its time budget of {self.limits.max_seconds:g} s at {what} "
                         f"after {self.pages} pages (setting ocr_max_seconds). Split the file into smaller files, or "
                         "upload a PDF that has a text layer.")

    def refs(self, result: OcrText) -> dict[str, Any]:
        """What a chunk read by OCR carries."""
        refs: dict[str, Any] = {"ocr": True, "ocr_engine": self.engine.name}
        if result.confidence is not None:
            refs["ocr_confidence"] = round(result.confidence, 3)
        return refs

    def descriptor(self) -> dict[str, Any]:
        """What the artifact's semantic_descriptor records about the OCR of the file."""
        mean = sum(self._confidences) / len(self._confidences) if self._confidences else None
        return {"engine": self.engine.name, "version": self.engine.version, "pages": self.pages,
                "mean_confidence": None if mean is None else round(mean, 3), "seconds": round(self.seconds, 2)}


def render_scale(width_pt: float, height_pt: float) -> float:
    """The scale (pixels per PDF point) that renders a page at OCR_DPI, or less for a huge page."""
    scale = OCR_DPI / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > MAX_PIXELS:
        scale *= (MAX_PIXELS / pixels) ** 0.5
    return scale


def fit_image(image: Image) -> Image:
    """An image the engines take: 8-bit grey or RGB, at most MAX_PIXELS."""
    if image.mode not in ("L", "RGB", "1"):
        image = image.convert("RGB")
    if image.width * image.height > MAX_PIXELS:
        factor = (MAX_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))))
    return image
