"""Damaged files of every format end in a ParseError or a result, never in another exception (a stack trace)."""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parsing_builders import make_docx, make_pdf, make_xlsx

from shared.detection import MIME_TYPES
from shared.parsing import DetectedType, ParseError, parse


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": list(range(2000)), "b": [f"v{i}" for i in range(2000)]}), buffer, row_group_size=500)
    return buffer.getvalue()


SAMPLES: dict[str, bytes] = {
    "csv": b"id,name,note\n" + b"".join(b'%d,name %d,"a, b"\n' % (i, i) for i in range(300)),
    "tsv": b"id\tname\n" + b"".join(b"%d\tn%d\n" % (i, i) for i in range(300)),
    "json": json.dumps([{"id": i, "tags": ["x", i]} for i in range(200)]).encode(),
    "jsonl": b"".join(json.dumps({"id": i, "v": {"k": i}}).encode() + b"\n" for i in range(200)),
    "xlsx": make_xlsx({"S": [["id", "name"], *[[i, f"n{i}"] for i in range(200)]]}),
    "parquet": _parquet(),
    "pdf": make_pdf([f"Page {n} text" for n in range(6)]),
    "docx": make_docx(["Intro", [["a", "b"], ["c", "d"]], "Outro"]),
    "html": b"<html><body>" + b"".join(b"<p>para %d</p><table><tr><td>%d</td></tr></table>" % (i, i) for i in range(50)),
    "markdown": b"# T\n\n" + b"".join(b"- item %d\n" % i for i in range(200)),
    "text": "Ligne de texte accentu\u00e9e.\n".encode() * 200,
    "edi_x12": (
        b"ISA*00*          *00*          *ZZ*S              *ZZ*R              *240101*1200*U*00401*000000001*0*P*>~"
        b"GS*PO*S*R*20240101*1200*1*X*004010~ST*850*0001~BEG*00*SA*P1**20240101~SE*3*0001~GE*1*1~IEA*1*000000001~"
    ),
    "edi_edifact": b"UNA:+.? 'UNB+UNOC:3+S+R+240101:1200+1'UNH+1+ORDERS:D:96A:UN'BGM+220+P?+1'UNT+3+1'UNZ+1+1'",
}


def _mutations(data: bytes, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for fraction in (0.1, 0.5, 0.9):
        yield data[: max(1, int(len(data) * fraction))]
    for _ in range(4):
        damaged = bytearray(data)
        start = rng.randrange(len(damaged))
        for offset in range(start, min(len(damaged), start + rng.randint(1, 64))):
            damaged[offset] = rng.randrange(256)
        yield bytes(damaged)
    yield bytes(rng.randrange(256) for _ in range(2048))


@contextlib.contextmanager
def _discard(name: str, content_type: str) -> Iterator[BinaryIO]:
    yield io.BytesIO()


# pyarrow cannot hand a malformed row that is not valid UTF-8 to the invalid-row handler; it reports that as an
# "Exception ignored" and fails the read, which the engine turns into a ParseError as it should.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_damaged_input_ends_in_a_parse_error_or_a_result(fmt: str) -> None:
    encoding = None if fmt in ("xlsx", "parquet", "pdf", "docx") else "utf-8"
    detected = DetectedType(format=fmt, mime_type=MIME_TYPES[fmt], encoding=encoding, confidence="high")  # type: ignore[arg-type]
    for index, data in enumerate(_mutations(SAMPLES[fmt], seed=len(fmt))):
        for profile in ("structured", "unstructured", "hybrid"):
            try:
                parse(io.BytesIO(data), detected, profile, {}, _discard)  # type: ignore[arg-type]
            except ParseError as exc:
                assert exc.code and exc.message, (fmt, index, profile)
