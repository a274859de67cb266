"""Firestore cost of each step of the journey: RPCs, document reads and writes, read-write transactions.

    python -m bench.rpc [--out FILE]

It starts its own emulators and drives one whole journey through the deployed functions' real entry points (the
functions-framework apps, fed the same HTTP requests, CloudEvent and Cloud Tasks body that production delivers):
request_upload -> signed PUT -> finalize -> choose a profile -> parse_content -> parse worker -> save file -> save
parsed. Every call the real Firestore client makes is counted (dev/firestore_meter.py); nothing is simulated.
Then it times the small-file finalize handler against a bare single-document Firestore transaction on the same
emulator, side by side (`--compare N`, medians).

The script uses only those public entry points, so the same file runs against any commit of the project: that is how
the before/after figures in the README were taken (run it in a checkout of the older commit).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CSV = b"id,zip,name\n" + b"".join(b"%d,%05d,name %d\n" % (i, i * 7 % 99999, i) for i in range(200))


def _client(source: str, target: str, signature_type: str = "http") -> Any:
    import functions_framework

    app = functions_framework.create_app(target=target, source=str(REPO_ROOT / "functions" / source / "main.py"),
                                         signature_type=signature_type)
    return app.test_client()


def run_journey() -> list[dict[str, Any]]:
    import requests

    from dev.firestore_meter import FirestoreMeter
    from dev.token import mint_token
    from shared.bootstrap import get_services

    services = get_services()
    auth = {"Authorization": f"Bearer {mint_token('tenant-rpc', 'user-1', 'session-1')}"}
    ingest, profile = _client("ingest", "ingest_http"), _client("profile_selection", "profile_selection_http")
    finalize = _client("ingest", "on_upload_finalized", "cloudevent")
    worker, save = _client("parse", "parse_worker"), _client("save", "save_http")
    steps: list[dict[str, Any]] = []

    def measured(name: str, call: Any) -> Any:
        with FirestoreMeter() as meter:
            result = call()
        steps.append({"step": name, **meter.snapshot()})
        return result

    def ok(resp: Any, *statuses: int) -> dict[str, Any]:
        if resp.status_code not in statuses:
            raise SystemExit(f"unexpected answer {resp.status_code}: {resp.get_data(as_text=True)[:500]}")
        return dict(resp.get_json())

    upload = ok(measured("request_upload", lambda: ingest.post("/v1/intents/request_upload", headers=auth, json={
        "parameters": {"ui_name": "zips.csv", "file_size": len(CSV), "mime_type": "text/csv"}})), 201)
    put = requests.put(upload["upload_url"], data=CSV, headers=upload["headers"], timeout=30)
    put.raise_for_status()
    obj = put.json()
    event = {"bucket": obj["bucket"], "name": obj["name"], "generation": str(obj["generation"]), "size": str(obj["size"]),
             "contentType": "text/csv", "metageneration": "1", "kind": "storage#object"}
    headers = {"ce-id": "rpc-evt-1", "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.finalized",
               "ce-source": f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
               "ce-subject": f"objects/{obj['name']}", "Content-Type": "application/json"}
    measured("finalize", lambda: finalize.post("/", json=event, headers=headers))
    file_id = ok(ingest.get(f"/v1/uploads/{upload['upload_id']}", headers=auth), 200)["file_id"]
    ok(measured("create_pending_intent", lambda: profile.post("/v1/pending-intents", headers=auth, json={
        "intent_type": "parse_content", "target_artifact_id": file_id, "context": {"ingestion_profile": "structured"}})), 201)
    accepted = ok(measured("parse_content", lambda: profile.post("/v1/intents/parse_content", headers=auth,
                                                                 json={"parameters": {"file_id": file_id}})), 202)
    command = next(r.payload for r in services.store.outbox_records()
                   if r.kind == "command" and r.payload.get("payload", {}).get("intent_id") == accepted["intent_id"])
    # What Cloud Tasks sends with the body on a task's first attempt.
    task_headers = {"X-CloudTasks-QueueName": "parse", "X-CloudTasks-TaskName": command["command_id"],
                    "X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskExecutionCount": "0"}
    done = ok(measured("parse_worker", lambda: worker.post("/", json=command, headers=task_headers)), 200)
    if done.get("status") != "completed":
        raise SystemExit(f"the parse did not complete: {done}")
    ok(measured("save_file", lambda: save.post("/v1/intents/save_materialization", headers=auth,
                                               json={"parameters": {"artifact_id": file_id}})), 200)
    ok(measured("save_parsed", lambda: save.post("/v1/intents/save_materialization", headers=auth,
                                                 json={"parameters": {"artifact_id": done["artifact_id"]}})), 200)
    return steps


def compare_small_file(repeat: int) -> dict[str, Any]:
    """The 1 KB finalize handler against a bare single-document Firestore transaction (read one document, write it
    back) on the same emulator, alternating so both see the same machine; medians in milliseconds."""
    import statistics
    import time

    import requests
    from google.cloud import firestore

    from dev.bus_calls import finalize
    from dev.token import mint_token
    from shared.bootstrap import get_services
    from shared.domain.messages import StorageObjectData

    services = get_services()
    auth = {"Authorization": f"Bearer {mint_token('tenant-cmp', 'user-1', 'session-1')}"}
    ingest = _client("ingest", "ingest_http")
    client = services.store.client
    handler_ms: list[float] = []
    bare_ms: list[float] = []

    def bare(i: int) -> None:
        ref = client.collection("bench_bare").document(f"doc-{i % 4}")

        @firestore.transactional
        def step(transaction: firestore.Transaction) -> None:
            snap = ref.get(transaction=transaction)
            transaction.set(ref, {"n": int((snap.to_dict() or {}).get("n", 0)) + 1})

        step(client.transaction())

    for i in range(repeat + 1):  # the first round warms both paths up and is not counted
        upload = ingest.post("/v1/intents/request_upload", headers=auth, json={
            "parameters": {"ui_name": f"small-{i}.csv", "file_size": 1024, "mime_type": "text/csv"}}).get_json()
        body = (b"a,b\n%d,0\n" % i + b"1,2\n" * 256)[:1024]  # new bytes each time: an ingest, not a dedup
        put = requests.put(upload["upload_url"], data=body, headers=upload["headers"], timeout=30)
        put.raise_for_status()
        obj = put.json()
        data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]),
                                 size=int(obj["size"]))
        source = f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}"
        runs = [("bare", lambda i=i: bare(i)),  # type: ignore[misc]
                ("handler", lambda i=i, source=source, data=data: finalize(services, f"cmp-{i}", source, data))]
        for name, call in runs if i % 2 else runs[::-1]:
            start = time.perf_counter()
            outcome = call()
            elapsed = (time.perf_counter() - start) * 1000
            if name == "handler" and outcome.outcome != "ingested":
                raise SystemExit(f"the small file was not ingested: {outcome}")
            if i:
                (handler_ms if name == "handler" else bare_ms).append(elapsed)
    handler, bare_tx = statistics.median(handler_ms), statistics.median(bare_ms)
    return {"repeat": repeat, "handler_ms": round(handler, 1), "bare_transaction_ms": round(bare_tx, 1),
            "ratio": round(handler / bare_tx, 2), "target_ratio": 3.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rpc", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the figures as JSON here as well")
    parser.add_argument("--compare", type=int, default=15, metavar="N",
                        help="1 KB finalize runs timed against as many bare transactions (0 skips it)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from bench.common import in_process_emulators

    with in_process_emulators("bench-rpc-"):
        steps = run_journey()
        small = compare_small_file(args.compare) if args.compare else None
    total = {k: sum(s[k] for s in steps) for k in ("reads", "writes", "transactions")}
    total["rpcs"] = sum(sum(s["rpcs"].values()) for s in steps)
    for s in steps:
        print(f"{s['step']:<22} rpcs {sum(s['rpcs'].values()):>3}  reads {s['reads']:>3}  writes {s['writes']:>3}  "
              f"transactions {s['transactions']}  {s['rpcs']}")
        print(f"{'':<22} written {s['written']}  read {s['read']}")
    print(f"{'journey':<22} rpcs {total['rpcs']:>3}  reads {total['reads']:>3}  writes {total['writes']:>3}  "
          f"transactions {total['transactions']}")
    if small:
        print(f"small-file finalize {small['handler_ms']} ms against a bare single-document transaction "
              f"{small['bare_transaction_ms']} ms: {small['ratio']}x (target {small['target_ratio']}x, "
              f"medians of {small['repeat']})")
    if args.out:
        args.out.write_text(json.dumps({"steps": steps, "total": total, "small_file": small}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
