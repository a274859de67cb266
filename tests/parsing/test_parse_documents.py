"""Text, Markdown, HTML, PDF and DOCX under the unstructured and hybrid profiles."""

from __future__ import annotations

import itertools

import pytest
from parsing_builders import make_docx, make_pdf

from shared.parsing import ParseError


def _assert_chunks_slice(chunks: list[dict], full_text: str) -> None:
    for chunk in chunks:
        assert full_text[chunk["char_start"] : chunk["char_end"]] == chunk["text"]


def test_text_chunks_are_exact_slices_of_the_decoded_text(run_parse, outputs) -> None:
    paragraph = "Le café de la gare ouvre à sept heures. On y sert du thé, du chocolat et des croissants. "
    text = "\n\n".join(paragraph * (i % 4 + 1) for i in range(300))
    _, result = run_parse(text.encode("utf-8"), "notes.txt", "unstructured", {"chunk_size": 500})
    chunks = outputs.chunks()
    assert result.chunk_count == len(chunks) > 50
    assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert all(len(c["text"]) <= 500 for c in chunks)
    _assert_chunks_slice(chunks, text)
    # Without overlap, the chunks cover every word once, in order.
    assert " ".join(c["text"] for c in chunks).split() == text.split()


def test_chunks_break_at_paragraphs_when_they_can(run_parse, outputs) -> None:
    text = ("A short paragraph of words.\n\n" * 10) + "x" * 30
    run_parse(text.encode(), "p.txt", "unstructured", {"chunk_size": 200})
    assert all(c["text"].endswith((".", "x")) for c in outputs.chunks())


def test_chunk_overlap_repeats_the_tail_of_the_previous_chunk(run_parse, outputs) -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    run_parse(text.encode(), "w.txt", "unstructured", {"chunk_size": 400, "chunk_overlap": 100})
    chunks = outputs.chunks()
    _assert_chunks_slice(chunks, text)
    for previous, current in itertools.pairwise(chunks):
        assert previous["char_start"] < current["char_start"] < previous["char_end"]
        assert previous["char_end"] - current["char_start"] <= 100


def test_markdown_chunks_prefer_to_start_at_headings(run_parse, outputs) -> None:
    section = "## Section {n}\n\n" + "Some sentence about the topic. " * 8 + "\n\n"
    text = "".join(section.format(n=n) for n in range(12))
    detected, _ = run_parse(text.encode(), "guide.md", "unstructured", {"chunk_size": 600})
    assert detected.format == "markdown"
    chunks = outputs.chunks()
    assert all(c["text"].startswith("## Section") for c in chunks)
    _assert_chunks_slice(chunks, text)


def test_undecodable_text_raises_encoding_error(run_parse) -> None:
    data = b"plain ascii line\n" * 5000 + b"then a stray byte \xff here\n"
    with pytest.raises(ParseError) as caught:
        run_parse(data, "log.txt", "unstructured")
    assert caught.value.code == "ENCODING_ERROR"
    stray = data.index(b"\xff")
    assert f"offset {stray}" in caught.value.message


def test_text_under_the_structured_profile_is_a_profile_mismatch(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"Just some words.\n", "a.txt", "structured")
    assert caught.value.code == "PROFILE_MISMATCH"
    assert "unstructured" in caught.value.message


def test_pdf_chunks_reference_pages(run_parse, outputs) -> None:
    pages = [f"Page {n} heading\nThe body of page {n} talks about topic {n}." for n in range(1, 6)]
    detected, result = run_parse(make_pdf(pages), "report.pdf", "unstructured")
    assert detected.format == "pdf"
    assert result.page_count == 5
    assert result.parser_type == "pypdfium2"
    chunks = outputs.chunks()
    assert [c["page"] for c in chunks] == [1, 2, 3, 4, 5]
    assert "topic 3" in chunks[2]["text"]
    assert "Page 3 heading" in chunks[2]["text"]
    # Offsets index the pages' text joined by a blank line, and only grow.
    assert [c["char_start"] for c in chunks] == sorted(c["char_start"] for c in chunks)


def test_pdf_long_page_is_split_into_chunks_of_that_page(run_parse, outputs) -> None:
    long_page = "\n".join(f"Line {i} of a long page with several words on it." for i in range(120))
    run_parse(make_pdf(["short first page", long_page]), "long.pdf", "unstructured", {"chunk_size": 500})
    chunks = outputs.chunks()
    assert chunks[0]["page"] == 1
    assert len(chunks) > 3
    assert {c["page"] for c in chunks[1:]} == {2}


def test_corrupt_pdf_raises_parse_error(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ngarbage\n", "bad.pdf", "unstructured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "PDF" in caught.value.message


def test_truncated_pdf_raises_parse_error(run_parse) -> None:
    data = make_pdf([f"page {n}" for n in range(3)])
    with pytest.raises(ParseError) as caught:
        run_parse(data[:200], "cut.pdf", "unstructured")
    assert caught.value.code == "CORRUPT_FILE"


def test_pdf_under_the_structured_profile_is_a_profile_mismatch(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(make_pdf(["x"]), "r.pdf", "structured")
    assert caught.value.code == "PROFILE_MISMATCH"


def test_hybrid_pdf_yields_text_only_and_says_so(run_parse) -> None:
    _, result = run_parse(make_pdf(["hello"]), "r.pdf", "hybrid")
    assert [o.name for o in result.outputs] == ["chunks.jsonl"]
    assert any("Tables are not extracted from PDF" in w for w in result.warnings)


def test_docx_chunks_reference_paragraphs(run_parse, outputs) -> None:
    blocks = ["Title of the memo", "", "First point about budgets.", "Second point about hiring."]
    detected, result = run_parse(make_docx(blocks), "memo.docx", "unstructured")
    assert detected.format == "docx"
    [chunk] = outputs.chunks()
    assert chunk["paragraph"] == 1
    assert chunk["paragraph_end"] == 4
    assert chunk["text"] == "Title of the memo\n\nFirst point about budgets.\nSecond point about hiring."
    assert result.schema is None


def test_docx_long_documents_group_paragraphs_up_to_the_chunk_size(run_parse, outputs) -> None:
    blocks = [f"Paragraph {n}: " + "words " * 30 for n in range(1, 41)]
    run_parse(make_docx(blocks), "long.docx", "unstructured", {"chunk_size": 600})
    chunks = outputs.chunks()
    assert len(chunks) > 5
    assert chunks[0]["paragraph"] == 1
    for previous, current in itertools.pairwise(chunks):
        assert current["paragraph"] == previous.get("paragraph_end", previous["paragraph"]) + 1
    full = "\n".join(blocks)
    _assert_chunks_slice(chunks, full)


def test_hybrid_docx_yields_tables_and_text(run_parse, outputs) -> None:
    blocks = [
        "Quarterly figures follow.",
        [["region", "sales"], ["north", "10"], ["south", "12"]],
        "Closing remarks.",
        [["k", "v"], ["a", "b"]],
    ]
    _, result = run_parse(make_docx(blocks), "q.docx", "hybrid")
    assert {o.name for o in result.outputs} == {"structured.parquet", "chunks.jsonl"}
    assert outputs.rows()[:3] == [
        {"table_index": 0, "row_index": 0, "cells": ["region", "sales"]},
        {"table_index": 0, "row_index": 1, "cells": ["north", "10"]},
        {"table_index": 0, "row_index": 2, "cells": ["south", "12"]},
    ]
    assert outputs.rows()[3]["table_index"] == 1
    assert result.record_count == 5
    texts = [c["text"] for c in outputs.chunks()]
    assert texts == ["Quarterly figures follow.", "Closing remarks."]


def test_unstructured_docx_keeps_table_text_with_table_references(run_parse, outputs) -> None:
    run_parse(make_docx(["Intro.", [["a", "b"], ["c", "d"]]]), "t.docx", "unstructured")
    chunks = outputs.chunks()
    assert chunks[1]["text"] == "a\tb\nc\td"
    assert (chunks[1]["table"], chunks[1]["row"], chunks[1]["row_end"]) == (1, 1, 2)


def test_corrupt_docx_raises_parse_error(run_parse) -> None:
    data = make_docx(["x"])
    with pytest.raises(ParseError) as caught:
        run_parse(data[: len(data) // 2], "cut.docx", "unstructured")
    assert caught.value.code in ("CORRUPT_FILE", "UNSUPPORTED_FORMAT")


PAGE = b"""<!DOCTYPE html>
<html><head><title>Store hours</title><style>p { color: red }</style>
<script>var secret = "do not index";</script></head>
<body>
  <nav aria-hidden="true">Menu Home About</nav>
  <h1>Opening   hours</h1>
  <p>We open at <b>nine</b>
     and close at <i>six</i>.</p>
  <div style="display:none">hidden promo</div>
  <p hidden>also hidden</p>
  <table><tr><th>Day</th><th>Hours</th></tr><tr><td>Mon</td><td>9-18</td></tr></table>
  <pre>line one
line two</pre>
  <!-- a comment -->
</body></html>"""


def test_html_text_is_what_a_reader_sees(run_parse, outputs) -> None:
    detected, _ = run_parse(PAGE, "hours.html", "unstructured")
    assert detected.format == "html"
    [chunk] = outputs.chunks()
    text = chunk["text"]
    assert "We open at nine and close at six." in text
    assert "Opening hours" in text
    assert text.startswith("Store hours")
    assert "Day\tHours\nMon\t9-18" in text
    assert "line one\nline two" in text
    for invisible in ("secret", "color", "Menu", "hidden promo", "also hidden", "comment"):
        assert invisible not in text


def test_hybrid_html_yields_tables_and_text(run_parse, outputs) -> None:
    _, result = run_parse(PAGE, "hours.html", "hybrid")
    assert outputs.rows() == [
        {"table_index": 0, "row_index": 0, "cells": ["Day", "Hours"]},
        {"table_index": 0, "row_index": 1, "cells": ["Mon", "9-18"]},
    ]
    text = outputs.chunks()[0]["text"]
    assert "We open at nine" in text
    assert "9-18" not in text
    assert result.parser_type == "beautifulsoup4.lxml"


def test_html_over_the_size_cap_is_rejected(run_parse, monkeypatch) -> None:
    monkeypatch.setattr("shared.parsing.html_doc.HTML_MAX_BYTES", 100)
    with pytest.raises(ParseError) as caught:
        run_parse(PAGE, "hours.html", "unstructured")
    assert caught.value.code == "TOO_LARGE"
