"""OCR pages per second: the engine (`shared.parsing.parse` with the Tesseract adapter) against bare Tesseract.

    python -m bench.parse_ocr            # also run by bench/parse.py, which puts the figures in parse_results.json

The pages are the public scans of tests/corpus/images (tesseract-ocr/test) with their transcriptions:
1. bare: pytesseract.image_to_string on each decoded page image, nothing else;
2. image: parse() of a multi-page TIFF of the same pages (decode, OCR, chunking, JSON lines);
3. scanned PDF: parse() of an image-only PDF of the same pages (PDFium renders each at 300 dpi, then OCR).
Each reports pages per second and the share of each page's transcribed words found, so speed is never bought with
text. The engine turns a page Tesseract reads with low confidence (the scan upside down) and reads it again, which
bare Tesseract does not: that page costs it three runs instead of one.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

IMAGES = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "images"
PAGES = ("phototest.tif", "eurotext.tif", "HelloGoogle.tif", "phototest-rotated-180.png")
WORD = re.compile(r"[^\W_]{3,}")


def _pages() -> list[Any]:
    from PIL import Image

    pages = [Image.open(IMAGES / name).convert("L") for name in PAGES]
    for page in pages:
        page.info.clear()  # each source's compression (group4 for bilevel scans) does not apply to grey pages
    return pages


def _found(texts: list[str]) -> float:
    """Of each page's transcribed words, the share found in that page's text; the mean over the pages."""
    shares = []
    for name, text in zip(PAGES, texts, strict=True):
        wanted = [w.lower() for w in WORD.findall((IMAGES / (Path(name).stem + ".expected-utf8")).read_text("utf-8"))]
        have = {word.lower() for word in WORD.findall(text)}
        shares.append(sum(1 for word in wanted if word in have) / len(wanted))
    return round(sum(shares) / len(shares), 3)


class _Memory:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    @contextlib.contextmanager
    def __call__(self, name: str, content_type: str) -> Iterator[BinaryIO]:
        buffer = io.BytesIO()
        yield buffer
        self.data[name] = buffer.getvalue()

    def pages(self, count: int) -> list[str]:
        texts = [""] * count
        for line in self.data.get("chunks.jsonl", b"").splitlines():
            chunk = json.loads(line)
            texts[chunk["page"] - 1] += "\n" + chunk["text"]
        return texts


def _engine(data: bytes, filename: str) -> tuple[float, list[str], dict[str, Any]]:
    from shared.adapters.ocr.tesseract import TesseractOcr
    from shared.parsing import parse, sniff_stream
    from shared.parsing.ocr import OcrLimits, OcrSession

    session = OcrSession(TesseractOcr(), OcrLimits(max_pages=100, max_seconds=600))
    outputs = _Memory()
    source = io.BytesIO(data)
    started = time.perf_counter()
    result = parse(source, sniff_stream(source, filename), "unstructured", {}, outputs, session)
    return time.perf_counter() - started, outputs.pages(len(PAGES)), result.descriptor["ocr"]


def measure() -> dict[str, Any]:
    import pytesseract

    pages = _pages()
    tiff = io.BytesIO()
    pages[0].save(tiff, format="TIFF", save_all=True, append_images=pages[1:])
    pdf = io.BytesIO()
    pages[0].save(pdf, format="PDF", save_all=True, append_images=pages[1:], resolution=300)
    pages = _pages()  # fresh: pytesseract saves each image it is given, which leaves encoder settings on it
    started = time.perf_counter()
    bare_text = [pytesseract.image_to_string(page, lang="eng") for page in pages]
    bare = time.perf_counter() - started
    image_seconds, image_text, ocr = _engine(tiff.getvalue(), "scans.tif")
    pdf_seconds, pdf_text, _ = _engine(pdf.getvalue(), "scans.pdf")
    count = len(pages)
    return {
        "pages": count,
        "engine": f"{ocr['engine']} {ocr['version']}",
        "bare_tesseract": {"pages_per_s": round(count / bare, 2), "words_found": _found(bare_text)},
        "parse_image": {"pages_per_s": round(count / image_seconds, 2), "words_found": _found(image_text),
                        "ratio_to_bare": round(bare / image_seconds, 2), "mean_confidence": ocr["mean_confidence"]},
        "parse_scanned_pdf": {"pages_per_s": round(count / pdf_seconds, 2), "words_found": _found(pdf_text),
                              "ratio_to_bare": round(bare / pdf_seconds, 2)},
    }


def report(results: dict[str, Any]) -> str:
    from bench.common import table

    rows = [["OCR case", "pages/s", "x bare", "words found"]]
    for name in ("bare_tesseract", "parse_image", "parse_scanned_pdf"):
        item = results[name]
        rows.append([name, f"{item['pages_per_s']:.2f}", f"{item.get('ratio_to_bare', 1.0):.2f}",
                     f"{item['words_found']:.0%}"])
    return f"OCR ({results['engine']}, {results['pages']} pages)\n" + table(rows)


def main() -> int:
    results = measure()
    print(report(results))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
