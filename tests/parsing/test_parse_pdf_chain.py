"""The PDF reader chain on public real-world PDFs (tests/corpus/pdf, sources in SOURCES.tsv).

Each class of issue 18's PDF failures has a file that failed before the chain and passes now:
- PDFium refuses a file that the next reader opens with the empty user password (pdf.js's issue15893_reduced.pdf);
- PDFium's marker characters (U+FFFE for a hyphen it removed at a line end, C0 codes of unmapped glyphs) in chunks;
- vertical Japanese text PDFium drops from its text page (pdfminer.six's jo.pdf: 618 of 880 characters).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.parsing import ParseError, parse, sniff_stream
from shared.parsing.pdf_readers import clean_text

PDFS = Path(__file__).resolve().parents[1] / "corpus" / "pdf"
MARKERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _parse(name: str, outputs: Any) -> Any:
    with (PDFS / name).open("rb") as source:
        return parse(source, sniff_stream(source, name), "unstructured", {}, outputs)


def _text(outputs: Any) -> str:
    return "\n".join(chunk["text"] for chunk in outputs.chunks())


def test_a_pdf_pdfium_refuses_is_read_by_the_next_reader_with_the_empty_user_password(outputs) -> None:
    import pypdfium2 as pdfium

    with pytest.raises(pdfium.PdfiumError, match="password"):  # what made the parse refuse it before
        pdfium.PdfDocument(str(PDFS / "issue15893_reduced.pdf"))
    result = _parse("issue15893_reduced.pdf", outputs)
    assert _text(outputs) == "Issue 15893"
    assert result.page_count == 1
    assert result.descriptor["pdf"] == {"reader": "pdfminer.six", "refused_by": ["pypdfium2"]}
    assert any("read with pdfminer.six" in warning for warning in result.warnings)


def test_a_pdf_that_needs_a_user_password_is_still_refused_as_password_protected(outputs) -> None:
    with pytest.raises(ParseError) as caught:
        _parse("r2-user-password.pdf", outputs)
    assert caught.value.code == "UNSUPPORTED_FORMAT"
    assert "password-protected" in caught.value.message


def test_a_damaged_pdf_no_reader_opens_names_every_readers_reason(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ngarbage\n", "bad.pdf", "unstructured")
    assert caught.value.code == "CORRUPT_FILE"
    assert all(reader in caught.value.message for reader in ("PDFium", "pdfminer.six", "pypdf"))


@pytest.mark.parametrize(("name", "word"), [
    ("Seige_of_Vicksburg_Sample_OCR.pdf", "dangerous"),  # "dan\ufffegerous": 34 markers in this file
    ("issue-1061-colour-space-stack.pdf", "differentially"),  # 132 U+FFFE and 15 C0 codes
])
def test_pdfium_marker_characters_never_reach_the_chunks(outputs, name: str, word: str) -> None:
    _parse(name, outputs)
    text = _text(outputs)
    assert not MARKERS.findall(text)
    assert word in text.split() or f"{word}." in text or f"{word}," in text


def test_clean_text_joins_words_at_hyphen_markers_and_keeps_words_apart_at_unmapped_glyphs() -> None:
    assert clean_text("dan\ufffegerous dif\x02ferent co\u00adoperate") == "dangerous different cooperate"
    assert clean_text("\x00D\x00E\x00F") == "DEF"
    assert clean_text("ɍɝɥɨɜɚɹ\x03ɲɥɢɮɨɜɚɥɶɧɚɹ") == "ɍɝɥɨɜɚɹ ɲɥɢɮɨɜɚɥɶɧɚɹ"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"


def test_vertical_cjk_text_pdfium_drops_is_read_by_pdfminer_and_the_artifact_says_so(outputs) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(PDFS / "jo.pdf"))
    pdfium_text = document[0].get_textpage().get_text_range()
    document.close()
    assert "わたくしといふ現象は" not in pdfium_text  # PDFium alone loses it
    result = _parse("jo.pdf", outputs)
    text = _text(outputs)
    for line in ("わたくしといふ現象は", "假定された有機交流電燈の", "ひとつの青い照明です", "因果交流電燈の"):
        assert line in text
    assert sum(1 for char in text if not char.isspace()) >= 870
    assert result.descriptor["pdf"]["pages_read_by_pdfminer"] == [1]
    assert any("Page 1: PDFium found 262 characters" in w and "pdfminer.six read the page" in w for w in result.warnings)


def test_a_pdf_whose_text_pdfium_reads_whole_gets_no_reread_and_no_warning(outputs) -> None:
    result = _parse("crazyones.pdf", outputs)
    assert result.descriptor["pdf"]["pages_read_by_pdfminer"] == []
    assert result.descriptor["pdf"]["pages_possibly_incomplete"] == []
    assert not result.warnings
