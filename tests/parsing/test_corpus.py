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
from multiprocessing.pool import Pool
from typing import Any



from tests.parsing.corpus_check import CORPUS, judge

FILE_BUDGET_SECONDS = 20.0


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
    manifest = _manifest()
    files = _corpus_files()
    verdicts: dict[str, dict[str, Any]] = {}
    context = multiprocessing.get_context("forkserver")

    def submit(pool: Pool, names: list[str]) -> dict[str, Any]:
        return {name: pool.apply_async(judge, (name, manifest.get(name, {}))) for name in names}

    pool: Pool = context.Pool(2)
    try:
        pending = submit(pool, files)
        for index, name in enumerate(files):
            try:
                verdicts[name] = pending[name].get(timeout=FILE_BUDGET_SECONDS)
            except multiprocessing.TimeoutError:
                # The worker is stuck in this file: replace the pool and resubmit what had not finished.
                verdicts[name] = {"file": name, "verdict": "hang", "detail": f"over {FILE_BUDGET_SECONDS:g} s"}
                done = {other: pending[other].get() for other in files[index + 1 :] if pending[other].ready()}
                pool.terminate()
                pool = context.Pool(2)
                pending.update(submit(pool, [other for other in files[index + 1 :] if other not in done]))
                for other, verdict in done.items():
                    pending[other] = _Ready(verdict)
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


class _Ready:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, timeout: float | None = None) -> Any:
        return self.value
