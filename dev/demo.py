"""The main job: a full journey on the local stack, through the gateway, as a frontend would drive it.

    python -m dev.demo      (make demo)

upload through a signed URL → finalize ingests it (PENDING) → choose a profile (a pending intent) → a NEW session
with a NEW token lists the pending intent and resumes it with parse_content → the worker parses → save the file and
the parsed content (READY) → print the lineage from the record of fact back to the uploaded file.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from dev.token import mint_token

REPO_ROOT = Path(__file__).resolve().parents[1]
STACK_FILE = REPO_ROOT / ".local" / "stack.json"


class DemoError(RuntimeError):
    pass


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ensure_stack() -> str:
    if subprocess.run([sys.executable, "-m", "dev.stack", "status"], cwd=REPO_ROOT, capture_output=True).returncode != 0:
        say("starting the local stack ...")
        started = time.monotonic()
        if subprocess.run([sys.executable, "-m", "dev.stack", "up"], cwd=REPO_ROOT).returncode != 0:
            raise DemoError("the local stack did not start; see .local/logs")
        say(f"stack up in {time.monotonic() - started:.1f}s")
    return str(json.loads(STACK_FILE.read_text())["gateway_url"])


class Client:
    def __init__(self, base: str, token: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int | tuple[int, ...], **kwargs: Any) -> dict[str, Any]:
        resp = self.session.request(method, self.base + path, timeout=60, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if resp.status_code not in expected:
            raise DemoError(f"{method} {path} answered {resp.status_code}: {resp.text[:500]}")
        return dict(resp.json())

    def poll(self, path: str, done: Any, what: str, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.call("GET", path, 200)
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}: {json.dumps(body)[:500]}")
            time.sleep(0.3)


def sample_csv(rows: int = 500) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "customer", "amount", "placed_at"])
    for i in range(rows):
        writer.writerow([f"ord-{i:05d}", f"customer-{i % 37}", f"{(i * 7.31) % 500:.2f}", f"2026-11-{1 + i % 28:02d}"])
    return out.getvalue().encode()


def run() -> None:
    gateway = ensure_stack()
    tenant, user = "demo-tenant", "alice"
    monday, tuesday = f"sess-{uuid.uuid4().hex[:8]}", f"sess-{uuid.uuid4().hex[:8]}"
    day1 = Client(gateway, mint_token(tenant, user, monday))
    data = sample_csv()

    say(f"\n1. request_upload (session {monday})")
    upload = day1.call("POST", "/v1/intents/request_upload", 201, json={"parameters": {
        "ui_name": "Q4 orders.csv", "filename": "Q4 orders.csv", "file_size": len(data), "mime_type": "text/csv"}})
    say(f"   upload {upload['upload_id']} → object {upload['object_name']} (URL expires {upload['expires_at']})")

    say("2. PUT the bytes straight to Cloud Storage with the signed URL")
    put = requests.put(upload["upload_url"], data=data, headers=upload["headers"], timeout=60)
    if put.status_code != 200:
        raise DemoError(f"signed PUT answered {put.status_code}: {put.text[:300]}")

    say("3. the finalize event ingests it")
    status = day1.poll(f"/v1/uploads/{upload['upload_id']}", lambda b: b["status"] != "awaiting_upload", "ingestion")
    if status["status"] != "ingested":
        raise DemoError(f"upload was {status['status']}: {status.get('reason')}")
    file_id = status["file_id"]
    artifact = day1.call("GET", f"/v1/artifacts/{file_id}", 200)
    say(f"   file {file_id}: {artifact['lifecycle_state']}, {artifact['file_size']} bytes, {artifact['file_hash'][:23]}…, "
        f"detected {artifact['detected_type']}")

    say("4. choose the structured profile: a durable pending intent")
    pending = day1.call("POST", "/v1/pending-intents", 201, json={
        "intent_type": "parse_content", "target_artifact_id": file_id,
        "context": {"ingestion_profile": "structured", "parse_options": {}}})
    say(f"   intent {pending['intent_id']} is {pending['status']}")

    say(f"\n5. the next day: a new session ({tuesday}) with a new token")
    day2 = Client(gateway, mint_token(tenant, user, tuesday))
    listed = day2.call("GET", f"/v1/pending-intents?target_artifact_id={file_id}&status=pending", 200)["intents"]
    say(f"   pending intents for the file: {[(i['intent_id'], i['context']['ingestion_profile'], i['session_id']) for i in listed]}")
    submitted = day2.call("POST", "/v1/intents/parse_content", 202, json={"parameters": {"file_id": file_id}},
                          headers={"Idempotency-Key": f"parse-{file_id}"})
    say(f"   parse_content accepted: execution {submitted['execution_id']}, intent {submitted['intent_id']}")
    execution = day2.poll(f"/v1/executions/{submitted['execution_id']}",
                          lambda b: b["status"] in ("completed", "failed"), "the parse", timeout=180)
    say("   stages: " + " → ".join(s["stage"] for s in execution["stages"]))
    if execution["status"] != "completed":
        raise DemoError(f"parse failed: {execution.get('error')}")
    parsed_id = execution["result"]["artifact_id"]
    parsed = day2.call("GET", f"/v1/artifacts/{parsed_id}", 200)
    descriptor = parsed["semantic_descriptor"]
    say(f"   parsed {parsed_id}: {parsed['lifecycle_state']}, {descriptor.get('record_count')} records, "
        f"parser {descriptor.get('parser_type')}")
    say(f"   schema: {descriptor.get('schema')}")

    say("\n6. save: working material becomes a record of fact")
    for artifact_id in (file_id, parsed_id):
        saved = day2.call("POST", "/v1/intents/save_materialization", 200, json={"parameters": {"artifact_id": artifact_id}})
        state = saved.get("lifecycle_state") or day2.call("GET", f"/v1/artifacts/{artifact_id}", 200)["lifecycle_state"]
        say(f"   {artifact_id}: {state}")
    record = day2.call("GET", f"/v1/artifacts/{parsed_id}", 200)
    persistent = [m["uri"] for m in record["materializations"] if m.get("persistent")]
    say(f"   persistent materializations: {persistent}")

    say("\n7. lineage, from the record of fact back to the uploaded file")
    lineage = day2.call("GET", f"/v1/artifacts/{parsed_id}/lineage", 200)
    for hop in lineage["chain"]:
        say(f"   gen {hop['generation']}: {hop['artifact_id']} ({hop['artifact_type']}, {hop['lifecycle_state']}) "
            f"derived_from={hop['derived_from']} via {hop['derivation_intent']} run {hop['derivation_run_id']} "
            f"root={hop['root_artifact_id']}")
    if lineage["chain"][-1]["artifact_id"] != file_id:
        raise DemoError("the lineage does not end at the uploaded file")
    say("\njourney complete")


def main() -> int:
    try:
        run()
    except (DemoError, requests.RequestException) as exc:
        sys.stderr.write(f"demo failed: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
