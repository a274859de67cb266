"""A parse worker killed mid-parse on the local stack: its intent is reclaimed once the dead worker's short lease
lapses (the heartbeat stopped with it) and the parse completes, instead of waiting out a 10-minute lease.

The worker is restarted at once on the same port, as Cloud Run would start a new instance. Bounded: one 40 MB
upload, two parses."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import psutil
import pytest
import requests
from google.cloud import firestore
from races import Api

from dev import stack as devstack
from dev.procs import ManagedProcess, stop_processes
from shared.adapters.firestore_store import FirestoreStore

ROWS = 1_100_000  # about 40 MB of CSV: long enough to be killed in the middle of its parse
RECLAIM_WITHIN_SECONDS = 60


def _big_csv() -> bytes:
    head = b"id,sku,qty,price,note\n"
    return head + b"".join(b"%d,SKU-%07d,%d,%d.%02d,row note text\n" % (i, i, i % 97, i % 1000, i % 100)
                           for i in range(ROWS))


def _worker_processes(port: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "functions_framework" in cmd and "--port" in cmd and cmd[cmd.index("--port") + 1] == str(port):
            found.append(proc)
    return found


@pytest.fixture(scope="session")
def restarted() -> Iterator[list[ManagedProcess]]:
    """Workers this module restarted; they serve the rest of the session and stop with it."""
    started: list[ManagedProcess] = []
    yield started
    stop_processes(started)


def test_a_worker_killed_mid_parse_is_reclaimed_within_a_minute(stack, token_factory, restarted):
    tenant = f"crash-{uuid.uuid4().hex[:8]}"
    api = Api(stack.gateway_url, token_factory(tenant, "ann", "s1"))
    data = _big_csv()
    up = api("POST", "/v1/intents/request_upload", json={"parameters": {
        "ui_name": "big.csv", "file_size": len(data), "mime_type": "text/csv"}})
    assert up.status_code == 201, up.text
    body = up.json()
    assert requests.put(body["upload_url"], data=data, headers=body["headers"], timeout=120).status_code == 200
    status = api.wait(f"/v1/uploads/{body['upload_id']}", lambda b: b["status"] != "awaiting_upload", timeout=120)
    assert status["status"] == "ingested", status
    submitted = api("POST", "/v1/intents/parse_content", json={"parameters": {
        "file_id": status["file_id"], "ingestion_profile": "structured"}})
    assert submitted.status_code == 202, submitted.text
    intent_id = submitted.json()["intent_id"]

    store = FirestoreStore(firestore.Client(project=stack.emulators.project_id))
    deadline = time.monotonic() + 120
    while (intent := store.get_intent(tenant, intent_id)) is None or intent.lease_owner is None:
        assert intent is None or intent.status.value == "in_progress", intent
        assert time.monotonic() < deadline, "the worker never claimed the intent"
        time.sleep(0.1)
    first_owner = intent.lease_owner
    time.sleep(0.5)  # into the parse

    worker_url = stack.function_urls["parse-worker"]
    port = int(worker_url.rsplit(":", 1)[1])
    victims = _worker_processes(port)
    assert victims, "no parse worker process found"
    assert store.get_intent(tenant, intent_id).status.value == "in_progress", "the parse ended before the kill"
    for pgid in {os.getpgid(proc.pid) for proc in victims}:
        os.killpg(pgid, signal.SIGKILL)  # the worker's own process group (gunicorn and its worker), started by our stack
    killed_at = time.monotonic()
    psutil.wait_procs(victims, timeout=10)

    spec = next(s for s in devstack.load_functions() if s.name == "parse-worker")
    env = {**os.environ, **devstack.settings_env(stack.emulators.emulators, worker_url + "/")}
    proc, ready, what = devstack.launch_function(spec, port, env, stack.log_dir)
    restarted.append(proc)
    stack.emulators.session.add([proc])
    devstack.wait_all([(proc, ready, what)], 60)

    reclaimed_after = completed_after = None
    while completed_after is None:
        now = store.get_intent(tenant, intent_id)
        elapsed = time.monotonic() - killed_at
        if reclaimed_after is None and now.lease_owner not in (None, first_owner) and now.attempts >= 2:
            reclaimed_after = elapsed
        if now.status.value != "in_progress":
            completed_after = elapsed
            break
        assert elapsed < RECLAIM_WITHIN_SECONDS or reclaimed_after is not None, \
            f"not reclaimed {RECLAIM_WITHIN_SECONDS}s after the kill: {now}"
        assert elapsed < 240, f"not completed 240s after the kill: {now}"
        time.sleep(0.2)
    final = store.get_intent(tenant, intent_id)
    print(f"worker killed: reclaimed after {reclaimed_after or completed_after:.1f}s, completed after {completed_after:.1f}s "
          f"(attempts {final.attempts})")
    assert final.status.value == "completed", final
    assert final.attempts >= 2 and final.result_artifact_id
    parsed = api("GET", f"/v1/artifacts/{final.result_artifact_id}").json()
    assert parsed["lifecycle_state"] == "PENDING" and parsed["semantic_descriptor"]["record_count"] == ROWS
