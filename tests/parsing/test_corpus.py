"""Every file of the real-world corpus (tests/corpus, listed with its origin in SOURCES.tsv) through the engine.

Each file runs in a worker process with a time budget, so that a hang is a failure and not a stuck suite. The
verdicts are computed against independent reference readers (see corpus_check.py); `expected.json` only names
refusals that are expected although a reference reader reads the file (a format that is not parsed), and options a
person would give. A file whose verdict is wrong, that crashes or that runs over its budget fails the test.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import time
from typing import Any

import pytest

from tests.parsing.corpus_check import CORPUS, judge

FILE_BUDGET_SECONDS = 30.0
RUN_DEADLINE_SECONDS = 400.0


def _manifest() -> dict[str, dict[str, Any]]:
    return json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def _corpus_files() -> list[str]:
    with (CORPUS / "SOURCES.tsv").open(encoding="utf-8", newline="") as handle:
        return [row["file"] for row in csv.DictReader(handle, delimiter="\t")]


def test_sources_name_every_corpus_file_and_the_folder_stays_small() -> None:
    listed = set(_corpus_files())
    present = {
        str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in ("SOURCES.tsv", "expected.json") and path.suffix != ".expected-utf8"
    }
    assert listed == present
    assert len(listed) >= 150
    assert sum(path.stat().st_size for path in CORPUS.rglob("*") if path.is_file()) < 30 * 1024 * 1024


def test_every_corpus_file_is_parsed_correctly_or_refused_with_a_clear_reason() -> None:
    for module in ("pandas", "xlrd", "odf", "pydifact", "pypdf"):
        pytest.importorskip(module, reason=f"{module} is a reference reader: pip install -r requirements-corpus.txt")
    manifest = _manifest()
    files = _corpus_files()
    verdicts: dict[str, dict[str, Any]] = {}
    # Each file has FILE_BUDGET_SECONDS inside its worker (a timer interrupts a parser looping in Python); the
    # whole run has a deadline, past which a file still running (stuck in native code) is a hang too.
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    pool = multiprocessing.get_context("forkserver").Pool(2)
    try:
        pending = {name: pool.apply_async(judge, (name, manifest.get(name, {}), FILE_BUDGET_SECONDS)) for name in files}
        for name, future in pending.items():
            try:
                verdicts[name] = future.get(timeout=max(0.1, deadline - time.monotonic()))
            except multiprocessing.TimeoutError:
                verdicts[name] = {"file": name, "verdict": "hang", "detail": "still running at the run's deadline"}
    finally:
        pool.terminate()
    counts: dict[str, int] = {}
    for verdict in verdicts.values():
        counts[verdict["verdict"]] = counts.get(verdict["verdict"], 0) + 1
    failures = [v for v in verdicts.values() if v["verdict"] not in ("correct", "refused")]
    print(json.dumps(counts))
    assert not failures, f"{counts}: " + "\n".join(f"{v['file']}: {v['verdict']}: {v['detail']}" for v in failures)
    # Refusals are allowed only where a reference also fails or the manifest expects them: most files must parse.
    assert counts.get("correct", 0) >= 0.75 * len(files), counts
