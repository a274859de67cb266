"""The Cloud Tasks emulator's launcher (dev/tasks_emulator.py), run in the emulator's own virtualenv: a task that
vanishes between the dispatcher's snapshot and its dispatch (a test purging the queue) is skipped, as Cloud Tasks
skips it, instead of ending that queue's dispatch thread for good (seen in CI: every later task was created and
never delivered)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import runpy, sys
sys.argv = ["tasks_emulator"]
if {patched}:
    runpy.run_path({launcher!r}, run_name="not_main")
from gcloud_tasks_emulator import server
from google.api_core.exceptions import NotFound
from google.cloud.tasks_v2.types import Queue
state = server.QueueState("127.0.0.1", 9, 0)
state.create_queue(None, Queue(name="projects/p/locations/l/queues/q"))
gone = "projects/p/locations/l/queues/q/tasks/purged"
try:
    print("dispatcher:", state.submit_task(gone))
except NotFound:
    print("dispatcher: NotFound")
try:
    state.submit_task(gone, force_run=True)
except NotFound:
    print("run_task: NotFound")
"""


def _probe(python: Path, patched: bool) -> str:
    code = PROBE.format(launcher=str(ROOT / "dev" / "tasks_emulator.py"), patched=patched)
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_task_purged_before_its_dispatch_is_skipped_and_run_task_still_answers_not_found() -> None:
    sys.path.insert(0, str(ROOT))
    from dev.prereqs import PrereqError, check_prereqs

    try:
        python = check_prereqs().tasks_emulator.parent / "python"
    except PrereqError as exc:
        pytest.skip(str(exc))
    assert "dispatcher: NotFound" in _probe(python, patched=False)  # what killed the dispatch thread
    mended = _probe(python, patched=True)
    assert "dispatcher: None" in mended and "run_task: NotFound" in mended
