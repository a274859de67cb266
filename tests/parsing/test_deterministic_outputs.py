"""A regenerable artifact is only as good as its parser's determinism: the same input, profile and options must give
the same bytes, in another process, with another hash seed, on another day. Each case parses twice in fresh
interpreters (PYTHONHASHSEED 1 and 2, so set and dict ordering would show) and compares every output byte for byte,
and the Parquet footer carries no timestamp (created_by names the writer only)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, io, json, sys
from contextlib import contextmanager
from shared.detection import sniff_stream
from shared.parsing import parse

data, filename, profile, options = sys.stdin.buffer.read(), sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
outputs = {}

@contextmanager
def open_output(name, content_type):
    buffer = io.BytesIO()
    yield buffer
    outputs[name] = buffer.getvalue()

stream = io.BytesIO(data)
result = parse(stream, sniff_stream(stream, filename), profile, options, open_output)
json.dump({name: body.hex() for name, body in outputs.items()}, sys.stdout)
"""

ROWS = "\n".join(f"{i},item {i % 97},{i * 1.25:.2f},2026-0{1 + i % 9}-1{i % 10},{'yes' if i % 3 else ''}"
                 for i in range(3000))
CASES = {
    "structured csv": ("orders.csv", "structured", {}, ("id,name,amount,day,flag\n" + ROWS + "\n").encode()),
    "structured csv with options": ("orders.csv", "structured", {"delimiter": ";"},
                                    ("id;name\n" + "\n".join(f"{i};n{i}" for i in range(500)) + "\n").encode()),
    "unstructured text": ("notes.txt", "unstructured", {},
                          ("\n\n".join(f"Paragraph {i}. " + "Words repeat here. " * 40 for i in range(60))).encode()),
    "hybrid json": ("items.json", "hybrid", {},
                    json.dumps([{"id": i, "tags": ["a", "b"][: i % 3], "note": f"n{i}"} for i in range(400)]).encode()),
}


def run_parse(filename: str, profile: str, options: dict, data: bytes, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, filename, profile, json.dumps(options)], input=data,
                          capture_output=True, env=env, cwd=REPO_ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return {name: bytes.fromhex(body) for name, body in json.loads(done.stdout).items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_input_and_options_reproduce_every_output_byte_for_byte(case: str) -> None:
    filename, profile, options, data = CASES[case]

    first = run_parse(filename, profile, options, data, "1")
    second = run_parse(filename, profile, options, data, "2")

    assert first, "the parse wrote no output"
    assert sorted(first) == sorted(second)
    for name in first:
        assert hashlib.sha256(first[name]).hexdigest() == hashlib.sha256(second[name]).hexdigest(), name
        assert first[name] == second[name], name


def test_the_parquet_footer_carries_no_timestamp_that_would_change_the_bytes() -> None:
    filename, profile, options, data = CASES["structured csv"]
    parquet = next(body for name, body in run_parse(filename, profile, options, data, "0").items()
                   if name.endswith(".parquet"))
    metadata = pq.ParquetFile(io.BytesIO(parquet)).metadata
    assert metadata.created_by.startswith("parquet-cpp-arrow version")
    footer = metadata.metadata or {}
    assert not any(b"time" in key.lower() and key != b"ARROW:schema" for key in footer), footer.keys()


def test_the_recorded_producer_version_names_the_installed_parquet_writer():
    """A regeneration is refused across producer versions, so the version must change when the writer does."""
    import pyarrow

    from shared.domain.reproduction import PARSE_PRODUCER_VERSION

    assert f"pyarrow/{pyarrow.__version__}" in PARSE_PRODUCER_VERSION.split()
