"""The OCR engine the settings name, or None (logged) when it is switched off or cannot run here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.logs import get_logger

if TYPE_CHECKING:
    from shared.parsing.ocr import OcrEngine
    from shared.settings import Settings

log = get_logger(__name__)


def ocr_engine(settings: Settings) -> OcrEngine | None:
    if settings.ocr_engine == "documentai":
        from shared.adapters.ocr.documentai import DocumentAiOcr

        return DocumentAiOcr(settings.documentai_processor_version)
    if settings.ocr_engine == "tesseract":
        from shared.adapters.ocr.tesseract import TesseractOcr, TesseractUnavailable

        try:
            return TesseractOcr(settings.ocr_languages)
        except TesseractUnavailable as exc:
            log.warning("OCR is off: %s", exc)
            return None
    return None
