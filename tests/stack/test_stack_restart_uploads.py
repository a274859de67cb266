"""A local stack that keeps its data keeps ingesting: upload, stop, start again with the kept data, upload again, and
both uploads are ingested (issue: the Pub/Sub emulator numbers its messages from 1 after a restart, and the bridge
used that number as the CloudEvent id, so finalize took new uploads for redeliveries of old ones).

`make up` also says when the kept data holds finalize dedup keys for such numbered ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from dev import stack as devstack
from dev.dedup_check import finalize_source
from dev.token import mint_token
from shared.domain.ids import stable_key

REPO_ROOT = devstack.REPO_ROOT
CSV = b"sku,qty\nA-1,3\n"


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dev.stack", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def _upload(gateway: str, token: str, content: bytes) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    answer = requests.post(f"{gateway}/v1/intents/request_upload", headers=auth, timeout=60, json={"parameters": {
        "ui_name": "kept.csv", "file_size": len(content), "mime_type": "text/csv"}})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    put = requests.put(body["upload_url"], data=content, headers=body["headers"], timeout=60)
    assert put.status_code in (200, 201), put.text
    return str(body["upload_id"])


def _status(gateway: str, token: str, upload_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(f"{gateway}/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {token}"},
                            timeout=30).json()
        if body.get("status") != "awaiting_upload" or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.5)


def _seed_numbered_dedup_key(state: dict[str, Any]) -> None:
    """What a bridge that used message numbers left behind: the dedup key of event id "1"."""
    with devstack.scoped_env({"FIRESTORE_EMULATOR_HOST": state["env"]["FIRESTORE_EMULATOR_HOST"]}):
        db = firestore.Client(project=state["project_id"], credentials=AnonymousCredentials())
    key = stable_key("cloudevent", finalize_source(state["buckets"]["uploads"]), "1")
    db.collection("dedup").document(key).set({"kind": "finalize", "outcome": "ingested", "file_id": "file_old"})
    db.close()


def test_uploads_before_and_after_a_restart_with_kept_data_are_both_ingested(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    args = ["--state-dir", str(state_dir), "--gateway-port", "0"]
    token = mint_token("restart-tenant", "ann", f"s-{time.monotonic_ns()}")
    try:
        first = _cli("up", *args)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "finalize dedup key" not in first.stdout  # nothing kept yet
        state = json.loads((state_dir / "stack.json").read_text())
        before = _upload(state["gateway_url"], token, CSV)
        assert _status(state["gateway_url"], token, before)["status"] == "ingested"
        _seed_numbered_dedup_key(state)

        down = _cli("down", *args)
        assert down.returncode == 0, down.stdout + down.stderr
        again = _cli("up", *args)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "finalize dedup key(s) recorded for event ids numbered by the Pub/Sub emulator" in again.stdout, again.stdout
        state = json.loads((state_dir / "stack.json").read_text())

        after = _upload(state["gateway_url"], token, CSV + b"B-2,5\n")
        answer = _status(state["gateway_url"], token, after)
        assert answer["status"] == "ingested", answer
        kept = _status(state["gateway_url"], token, before)
        assert kept["status"] == "ingested" and kept["file_id"] != answer["file_id"]
    finally:
        _cli("down", *args)
