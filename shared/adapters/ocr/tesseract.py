"""OCR with Tesseract (Debian's `tesseract-ocr`) through pytesseract: the local stack's and the tests' engine."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from shared.parsing.ocr import OcrText, OcrTimeout

if TYPE_CHECKING:
    from PIL.Image import Image


LOW_CONFIDENCE = 0.6


class TesseractUnavailable(RuntimeError):
    pass


class TesseractOcr:
    """`languages` is Tesseract's `-l` value (e.g. "eng" or "eng+deu"); each must have its traineddata installed."""

    name = "tesseract"

    def __init__(self, languages: str = "eng", command: str | None = None) -> None:
        import pytesseract

        self._pytesseract = pytesseract
        found = command or shutil.which("tesseract")
        if found is None:
            raise TesseractUnavailable("the tesseract program is not installed (Debian: apt-get install tesseract-ocr)")
        pytesseract.pytesseract.tesseract_cmd = found
        self._languages = languages
        self.version = str(pytesseract.get_tesseract_version())

    def recognize(self, image: Image, timeout: float) -> OcrText:
        deadline = time.monotonic() + timeout
        result = self._read(image, timeout)
        if result.confidence is not None and result.confidence >= LOW_CONFIDENCE:
            return result
        # Low confidence is most often a page scanned sideways or upside down: Tesseract's orientation detection
        # (osd.traineddata) says how to turn it, and the better reading wins.
        turn = self._rotation(image, deadline - time.monotonic())
        if not turn:
            return result
        upright = self._read(image.rotate(-turn, expand=True), deadline - time.monotonic())
        better = upright.confidence is not None and (result.confidence is None or upright.confidence > result.confidence)
        return upright if better else result

    def _read(self, image: Image, timeout: float) -> OcrText:
        pytesseract = self._pytesseract
        try:
            # One run gives both the text and each word's confidence (0..100; -1 marks layout rows, not words).
            data = pytesseract.image_to_data(image, lang=self._languages, timeout=_seconds(timeout),
                                             output_type=pytesseract.Output.DICT)
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrTimeout(str(exc)) from None
            raise
        return OcrText(_layout_text(data), _mean_confidence(data))

    def _rotation(self, image: Image, timeout: float) -> int:
        """Degrees (clockwise) that make the page upright, or 0 when Tesseract cannot tell."""
        pytesseract = self._pytesseract
        try:
            osd = pytesseract.image_to_osd(image, timeout=_seconds(timeout), output_type=pytesseract.Output.DICT)
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrTimeout(str(exc)) from None
            return 0  # too few characters to tell the orientation, or no osd.traineddata
        except pytesseract.TesseractError:
            return 0
        return int(osd.get("rotate", 0)) % 360


def _seconds(timeout: float) -> float:
    if timeout <= 0:
        raise OcrTimeout("no time left in the file's OCR budget")
    return max(timeout, 1.0)


def _layout_text(data: dict[str, list[object]]) -> str:
    """Words joined by spaces, lines by newlines, blocks and paragraphs by blank lines, in Tesseract's order."""
    lines: list[str] = []
    current: list[str] = []
    key: tuple[object, ...] | None = None
    paragraph: tuple[object, ...] | None = None
    for index, word in enumerate(data["text"]):
        text = str(word).strip()
        if not text:
            continue
        line_key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        if line_key != key:
            if current:
                lines.append(" ".join(current))
            if paragraph is not None and line_key[:2] != paragraph:
                lines.append("")
            current, key, paragraph = [], line_key, line_key[:2]
        current.append(text)
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines)


def _mean_confidence(data: dict[str, list[object]]) -> float | None:
    values = [float(str(conf)) for conf, word in zip(data["conf"], data["text"], strict=True)
              if str(word).strip() and float(str(conf)) >= 0]
    return sum(values) / len(values) / 100 if values else None
