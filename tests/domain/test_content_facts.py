"""The hashing sink finalize streams into: what it keeps, what it computes, and where it stops. Pure, no I/O."""

from __future__ import annotations

import hashlib

import pytest

from shared.detection import HEAD_BYTES
from shared.domain.ids import content_fingerprint
from shared.usecases.ingestion import ContentTooLarge, FactsSink, facts_of_bytes


def test_the_sink_hashes_counts_and_keeps_only_the_head_across_chunks() -> None:
    data = bytes(range(256)) * 1024  # 256 KiB, several times the head
    sink = FactsSink("sess-1", max_bytes=len(data))
    for start in range(0, len(data), 8192):
        sink.write(data[start:start + 8192])
    facts = sink.facts()
    assert facts.size == len(data)
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.fingerprint == content_fingerprint(hashlib.sha256(data), "sess-1")
    assert facts.head == data[:HEAD_BYTES]
    assert facts == facts_of_bytes(data, "sess-1")  # the inline path computes the same facts


def test_the_sink_stops_at_the_first_byte_past_the_limit() -> None:
    sink = FactsSink("s", max_bytes=10)
    sink.write(b"0123456789")
    with pytest.raises(ContentTooLarge):
        sink.write(b"x")


def test_the_fingerprint_depends_on_the_session() -> None:
    assert facts_of_bytes(b"same", "s1").fingerprint != facts_of_bytes(b"same", "s2").fingerprint
    assert facts_of_bytes(b"same", "s1").sha256 == facts_of_bytes(b"same", "s2").sha256
