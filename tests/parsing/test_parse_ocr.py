"""OCR: scanned PDF pages and image uploads (PNG, JPEG, TIFF, multi-page TIFF) read by Tesseract through the port.

The scans are public test images (tests/corpus/images, from tesseract-ocr/test, with the suite's transcriptions) and
a page this test draws itself with Pillow, whose text is known word for word.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from shared.detection import sniff
from shared.parsing import ParseError, parse, sniff_stream
from shared.parsing.ocr import OcrLimits, OcrSession


@pytest.fixture(autouse=True, scope="module")
def _tesseract() -> None:
    # Fails rather than skips: a machine without Tesseract must not pass the OCR tests (CI installs it: make test).
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is missing: `make tesseract` installs Debian's tesseract-ocr (or run "
                    "'sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd')", pytrace=False)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PHOTOTEST = CORPUS / "images" / "phototest.tif"
HELLO = CORPUS / "images" / "HelloGoogle.tif"
SCANNED_PDF = CORPUS / "pdf" / "issue-3850-1bit-indexed-flate.pdf"  # pypdf's test file: one scanned page, no text layer
KNOWN_LINES = [
    "Invoice number 4711 was paid",
    "in full on the third of October.",
    "Please keep this receipt.",
]


def _session(max_pages: int = 10, max_seconds: float = 120.0) -> OcrSession:
    from shared.adapters.ocr.tesseract import TesseractOcr

    return OcrSession(TesseractOcr(), OcrLimits(max_pages=max_pages, max_seconds=max_seconds))


def _run(run_path: Path, data: bytes, filename: str, outputs: Any, ocr: OcrSession | None,
         profile: str = "unstructured") -> Any:
    path = run_path / filename
    path.write_bytes(data)
    with path.open("rb") as source:
        detected = sniff_stream(source, filename)
        return parse(source, detected, profile, {}, outputs, ocr)  # type: ignore[arg-type]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text)


def _known_page() -> Any:
    """A page of known text, drawn at 300 dpi in Pillow's own font (no system font needed)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=44)
    page = Image.new("L", (2480, 1000), 255)
    draw = ImageDraw.Draw(page)
    for index, line in enumerate(KNOWN_LINES):
        draw.text((160, 160 + index * 110), line, font=font, fill=0)
    return page


def _encoded(image: Any, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def test_a_rendered_page_of_known_text_is_read_word_for_word(tmp_path, outputs) -> None:
    result = _run(tmp_path, _encoded(_known_page(), "PNG"), "receipt.png", outputs, _session())
    text = " ".join(chunk["text"] for chunk in outputs.chunks())
    assert _words(text) == _words(" ".join(KNOWN_LINES))
    assert result.detected_format == "image"


def test_a_scanned_pdf_page_of_known_text_is_read_word_for_word(tmp_path, outputs) -> None:
    pdf = _encoded(_known_page(), "PDF", resolution=300)  # an image-only page: no text layer at all
    result = _run(tmp_path, pdf, "scan.pdf", outputs, _session())
    chunks = outputs.chunks()
    assert _words(" ".join(chunk["text"] for chunk in chunks)) == _words(" ".join(KNOWN_LINES))
    assert all(chunk["ocr"] is True and chunk["ocr_engine"] == "tesseract" and chunk["page"] == 1 for chunk in chunks)
    assert result.descriptor["pdf"]["pages_read_by_ocr"] == [1]


def test_a_public_scanned_pdf_yields_its_text_with_ocr_marks(tmp_path, outputs) -> None:
    result = _run(tmp_path, SCANNED_PDF.read_bytes(), SCANNED_PDF.name, outputs, _session())
    chunks = outputs.chunks()
    words = {word.lower() for word in _words(" ".join(chunk["text"] for chunk in chunks))}
    assert {"pypdf", "decode", "repro"} <= words
    assert 0.0 < chunks[0]["ocr_confidence"] <= 1.0
    ocr = result.descriptor["ocr"]
    assert ocr["engine"] == "tesseract" and re.match(r"\d+\.\d+", ocr["version"]) and ocr["pages"] == 1


def test_without_an_ocr_engine_a_scanned_pdf_says_its_pages_are_missing(tmp_path, outputs) -> None:
    result = _run(tmp_path, SCANNED_PDF.read_bytes(), SCANNED_PDF.name, outputs, None)
    assert any("scanned images" in warning and "OCR is not configured" in warning for warning in result.warnings)
    assert "ocr" not in result.descriptor


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_image_uploads_are_detected_and_read(tmp_path, outputs, fmt: str) -> None:
    from PIL import Image

    scan = Image.open(PHOTOTEST)
    data = PHOTOTEST.read_bytes() if fmt == "TIFF" else _encoded(scan.convert("L"), fmt)
    assert sniff(data[:65536]).format == "image"
    result = _run(tmp_path, data, f"scan.{fmt.lower()}", outputs, _session())
    reference = (CORPUS / "images" / "phototest.expected-utf8").read_text(encoding="utf-8")
    assert _words(" ".join(chunk["text"] for chunk in outputs.chunks())) == _words(reference)
    assert result.page_count == 1 and result.parser_type == "ocr"


def test_a_multi_page_tiff_is_read_page_by_page(tmp_path, outputs) -> None:
    from PIL import Image

    first, second = Image.open(PHOTOTEST), Image.open(HELLO)
    data = _encoded(first, "TIFF", save_all=True, append_images=[second], compression="group4")
    result = _run(tmp_path, data, "two.tif", outputs, _session())
    pages = {chunk["page"]: chunk["text"] for chunk in outputs.chunks()}
    assert result.page_count == 2 and set(pages) == {1, 2}
    assert pages[2] == "Hello Google" and pages[1].startswith("This is a lot of 12 point text")
    assert result.descriptor["ocr"]["pages"] == 2


def test_a_file_past_the_ocr_page_budget_is_refused_clearly(tmp_path, outputs) -> None:
    from PIL import Image

    data = _encoded(Image.open(HELLO), "TIFF", save_all=True, append_images=[Image.open(HELLO)])
    with pytest.raises(ParseError) as caught:
        _run(tmp_path, data, "two.tif", outputs, _session(max_pages=1))
    assert caught.value.code == "TOO_LARGE"
    assert "ocr_max_pages" in caught.value.message and "more than 1 pages" in caught.value.message
    assert outputs.aborted == ["chunks.jsonl"]


def test_a_file_past_the_ocr_time_budget_is_refused_clearly(tmp_path, outputs) -> None:
    from PIL import Image

    page = Image.open(CORPUS / "images" / "eurotext.tif")
    data = _encoded(page, "TIFF", save_all=True, append_images=[page])
    with pytest.raises(ParseError) as caught:
        _run(tmp_path, data, "slow.tif", outputs, _session(max_seconds=0.2))
    assert caught.value.code == "TOO_LARGE"
    assert "time budget of 0.2 s" in caught.value.message and "ocr_max_seconds" in caught.value.message


def test_an_image_without_an_ocr_engine_is_refused_clearly(tmp_path, outputs) -> None:
    with pytest.raises(ParseError) as caught:
        _run(tmp_path, HELLO.read_bytes(), "hello.tif", outputs, None)
    assert caught.value.code == "UNSUPPORTED_FORMAT" and "OCR" in caught.value.message


def test_an_image_under_the_structured_profile_is_a_profile_mismatch(tmp_path, outputs) -> None:
    with pytest.raises(ParseError) as caught:
        _run(tmp_path, HELLO.read_bytes(), "hello.tif", outputs, _session(), profile="structured")
    assert caught.value.code == "PROFILE_MISMATCH"


def test_a_damaged_image_is_refused_as_corrupt(tmp_path, outputs) -> None:
    data = PHOTOTEST.read_bytes()
    with pytest.raises(ParseError) as caught:
        _run(tmp_path, data[:600], "cut.tif", outputs, _session())
    assert caught.value.code == "CORRUPT_FILE"
