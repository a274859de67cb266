"""The text splitter alone: pure, no files."""

from __future__ import annotations

from shared.parsing.chunks import TextSplitter


def _split(text: str, size: int, pieces: int = 1, overlap: int = 0) -> list[tuple[int, int, str]]:
    splitter = TextSplitter(size, overlap)
    step = max(1, len(text) // pieces)
    spans = []
    for start in range(0, len(text), step):
        spans.extend(splitter.feed(text[start : start + step]))
    spans.extend(splitter.finish())
    return [(span.start, span.end, span.text) for span in spans]


def test_feeding_in_pieces_gives_the_same_chunks_as_feeding_whole() -> None:
    text = "".join(f"Sentence number {i} is here. " + ("\n\n" if i % 7 == 0 else "") for i in range(2000))
    assert _split(text, 700, pieces=1) == _split(text, 700, pieces=97)


def test_no_chunk_exceeds_the_size_and_every_chunk_is_a_slice() -> None:
    text = "".join(f"w{i} " * (i % 9 + 1) + "\n" for i in range(3000))
    for start, end, chunk in _split(text, 300, pieces=13):
        assert len(chunk) <= 300
        assert text[start:end] == chunk


def test_text_without_any_boundary_is_cut_at_the_size() -> None:
    spans = _split("x" * 1000, 300)
    assert [len(chunk) for _, _, chunk in spans] == [300, 300, 300, 100]


def test_whitespace_only_text_yields_no_chunk() -> None:
    assert _split(" \n\n \t " * 200, 300) == []


def test_overlap_starts_on_a_word_boundary() -> None:
    text = " ".join(f"token{i}" for i in range(500))
    spans = _split(text, 200, overlap=50)
    for _, _, chunk in spans[1:]:
        assert chunk.startswith("token")
