"""Cost per 1M files of the whole journey, from the operations one journey performs, times public list prices.

    python -m bench.cost [--files 5] [--size-kb 100]

It starts its own emulators, then runs each file through the deployed functions' real entry points in-process (the
functions-framework app of each), the way production chains them: request_upload with a profile (ingest-http), the
client's PUT to the signed URL, the finalize event (ingest-finalize), every published event delivered to the
consumer (outbox-consumer, which auto-dispatches the parse), the Cloud Tasks command to the worker (parse-worker),
saving the file and its parsed artifact (save), and the client reading the upload status and the parsed artifact
(read-api). It counts, per file:

- Firestore document reads, writes and deletes, from the client's real RPCs (dev/firestore_meter.py);
- Cloud Storage class A and class B operations and stored bytes, from the calls the adapter makes (plus the client's
  PUT and the Eventarc notification);
- Pub/Sub messages published and delivered, with their sizes; Cloud Tasks operations (create and dispatch);
- function invocations and their duration here (in-process over local emulators: a lower bound of production time),
  billed as Cloud Run bills 2nd-gen functions: instance time rounded up to 100 ms, shared by the requests one
  instance serves at once (infra/functions.json `concurrency`, assumed fully used) or alone (concurrency 1);
- API Gateway calls, and the bytes of log lines the functions write (Cloud Logging ingestion).

Prices (USD, list, no free tier, region us-central1 / Tier 1), as published on:
- Cloud Run / Cloud Functions 2nd gen, request-based billing: https://cloud.google.com/run/pricing
  vCPU-second $0.000024, GiB-second $0.0000025, $0.40 per million requests.
- Firestore (Standard edition), regional us-central1: https://cloud.google.com/firestore/pricing
  $0.03 per 100k document reads, $0.09 per 100k writes, $0.01 per 100k deletes (nam5 multi-region: $0.06/$0.18/$0.02).
- Cloud Storage Standard, regional: https://cloud.google.com/storage/pricing
  $0.020 per GB-month; class A $0.005 per 1,000 operations; class B $0.0004 per 1,000; deletes free.
- Pub/Sub: https://cloud.google.com/pubsub/pricing  $40 per TiB of throughput, each publish and each delivery
  billed at least 1,000 bytes.
- Cloud Tasks: https://cloud.google.com/tasks/pricing  $0.40 per million billable operations (API calls and push
  deliveries, in 32 KB chunks).
- API Gateway: https://cloud.google.com/api-gateway/pricing  $3.00 per million calls (2M-1B tier).
- Eventarc, events from Google sources: https://cloud.google.com/eventarc/pricing  no charge (its Pub/Sub
  transport is counted above as one publish and one delivery).
- Cloud Logging: https://cloud.google.com/stackdriver/pricing  $0.50 per GiB ingested.
Results: bench/cost_results.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import os
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import in_process_emulators, table

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = REPO_ROOT / "bench" / "cost_results.json"
FUNCTIONS = {f["name"]: f for f in json.loads((REPO_ROOT / "infra" / "functions.json").read_text())["functions"]}
MILLION = 1_000_000

PRICES = {
    "vcpu_second": 0.000024, "gib_second": 0.0000025, "function_request": 0.40 / MILLION,
    "firestore_read": 0.03 / 100_000, "firestore_write": 0.09 / 100_000, "firestore_delete": 0.01 / 100_000,
    "gcs_gb_month": 0.020, "gcs_class_a": 0.005 / 1000, "gcs_class_b": 0.0004 / 1000,
    "pubsub_tib": 40.0, "tasks_operation": 0.40 / MILLION, "gateway_call": 3.00 / MILLION, "logging_gib": 0.50,
}
CLASS_A = {"open_write", "write_bytes_if_absent", "copy", "list_names"}
CLASS_B = {"stat", "open_read", "download_into"}
PUBSUB_MIN_BYTES = 1000
TASK_CHUNK = 32 * 1024


def _gib(memory: str) -> float:
    value, unit = float(memory[:-2]), memory[-2:]
    return value / 1024 if unit == "Mi" else value


class Counts:
    def __init__(self) -> None:
        self.gcs: Counter[str] = Counter()
        self.pubsub_bytes = 0
        self.published: list[dict[str, Any]] = []
        self.task_operations = 0
        self.commands: list[dict[str, Any]] = []
        self.invocations: dict[str, list[float]] = defaultdict(list)
        self.gateway_calls = 0
        self.log_bytes = 0


class Metered:
    """Passes every call to the real adapter and counts what it costs."""

    def __init__(self, inner: Any, kind: str, counts: Counts):
        self._inner, self._kind, self._counts = inner, kind, counts

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr
        counts, kind = self._counts, self._kind

        def call(*args: Any, **kwargs: Any) -> Any:
            if kind == "blobs" and name in CLASS_A | CLASS_B:
                counts.gcs["class_a" if name in CLASS_A else "class_b"] += 1
            elif kind == "publisher":
                body = json.dumps(args[0].model_dump(mode="json")).encode()
                counts.published.append(args[0].model_dump(mode="json"))
                counts.pubsub_bytes += max(len(body), PUBSUB_MIN_BYTES)  # the publish; the delivery is counted when pushed
            elif kind == "queue":
                body = json.dumps(args[0].model_dump(mode="json")).encode()
                counts.commands.append(args[0].model_dump(mode="json"))
                counts.task_operations += 2 * math.ceil(len(body) / TASK_CHUNK)  # create, then the push delivery
            return attr(*args, **kwargs)

        return call


class LogBytes(logging.Handler):
    def __init__(self, counts: Counts):
        super().__init__()
        from shared.logs import CloudLoggingFormatter

        self.setFormatter(CloudLoggingFormatter())
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self.counts.log_bytes += len(self.format(record).encode()) + 1


def run_journeys(files: int, size_kb: int, counts: Counts) -> dict[str, Any]:
    import functions_framework
    import requests

    from dev.firestore_meter import FirestoreMeter
    from dev.token import mint_token
    from shared.bootstrap import Services, set_services
    from shared.settings import Settings

    settings = Settings()
    plain = Services(settings)
    set_services(Services(settings, store=plain.store, blobs=Metered(plain.blobs, "blobs", counts),
                          publisher=Metered(plain.publisher, "publisher", counts), queue=Metered(plain.queue, "queue", counts)))

    def app(source: str, target: str, kind: str = "http") -> Any:
        return functions_framework.create_app(target=target, source=str(REPO_ROOT / "functions" / source / "main.py"),
                                              signature_type=kind).test_client()

    ingest, finalize = app("ingest", "ingest_http"), app("ingest", "on_upload_finalized", "cloudevent")
    consumer, parse = app("outbox_relay", "on_event", "cloudevent"), app("parse", "parse_worker")
    save, read = app("save", "save_http"), app("read_api", "read_http")

    @contextmanager
    def invocation(function: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        counts.invocations[function].append(time.perf_counter() - started)

    def call(function: str, client: Any, method: str, path: str, via_gateway: bool = True, **kwargs: Any) -> Any:
        counts.gateway_calls += via_gateway
        with invocation(function):
            resp = client.open(path, method=method, **kwargs)
        assert resp.status_code < 300, (function, path, resp.status_code, resp.get_data(as_text=True)[:500])
        return resp.get_json(silent=True) or {}

    def deliver_published() -> None:
        while counts.published:
            event = counts.published.pop(0)
            body = json.dumps(event).encode()
            counts.pubsub_bytes += max(len(body), PUBSUB_MIN_BYTES)
            data = {"message": {"data": base64.b64encode(body).decode(), "attributes": {}, "messageId": event["event_id"]}}
            headers = {"ce-id": event["event_id"], "ce-specversion": "1.0", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
                       "ce-source": "//pubsub.googleapis.com/projects/p/topics/t", "Content-Type": "application/json"}
            call("outbox-consumer", consumer, "POST", "/", via_gateway=False, json=data, headers=headers)

    rows = ["sku,qty,price,description"] + [f"S-{i},{i % 7},{i * 1.25:.2f},item number {i} of the catalogue"
                                            for i in range(size_kb * 1024 // 48)]
    content = ("\n".join(rows) + "\n").encode()
    handler = LogBytes(counts)
    logging.getLogger().addHandler(handler)
    stored: Counter[str] = Counter()
    try:
        with FirestoreMeter() as meter:
            for n in range(files):
                auth = {"Authorization": f"Bearer {mint_token('cost-t', 'user', f'session-{n}')}"}
                up = call("ingest-http", ingest, "POST", "/v1/intents/request_upload", headers=auth, json={"parameters": {
                    "ui_name": f"catalogue-{n}.csv", "file_size": len(content), "mime_type": "text/csv",
                    "ingestion_profile": "structured"}})
                put = requests.put(up["upload_url"], data=content, headers=up["headers"], timeout=60)
                put.raise_for_status()
                counts.gcs["class_a"] += 1  # the client's PUT
                obj = put.json()
                counts.pubsub_bytes += 2 * 1500  # Eventarc's transport: one publish and one delivery of the notification
                data = {"bucket": obj["bucket"], "name": obj["name"], "generation": str(obj["generation"]),
                        "size": str(obj["size"]), "contentType": "text/csv", "metageneration": "1", "kind": "storage#object"}
                headers = {"ce-id": f"finalize-{n}", "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.finalized",
                           "ce-source": f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
                           "ce-subject": f"objects/{obj['name']}", "Content-Type": "application/json"}
                call("ingest-finalize", finalize, "POST", "/", via_gateway=False, json=data, headers=headers)
                deliver_published()  # artifact_ingested -> auto-dispatch -> the parse command
                while counts.commands:
                    command = counts.commands.pop(0)
                    # with what Cloud Tasks sends on a task's first attempt
                    call("parse-worker", parse, "POST", "/", via_gateway=False, json=command, headers={
                        "X-CloudTasks-QueueName": "parse", "X-CloudTasks-TaskName": command["command_id"],
                        "X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskExecutionCount": "0"})
                    deliver_published()
                status = call("ingest-http", ingest, "GET", f"/v1/uploads/{up['upload_id']}", headers=auth)
                intent = plain.store.get_intent("cost-t", up["pending_intent_id"])
                assert intent is not None and intent.result_artifact_id, "the parse did not complete"
                for artifact_id in (status["file_id"], intent.result_artifact_id):
                    call("save", save, "POST", "/v1/intents/save_materialization", headers=auth,
                         json={"parameters": {"artifact_id": artifact_id}})
                    deliver_published()
                call("read-api", read, "GET", f"/v1/artifacts/{intent.result_artifact_id}", headers=auth)
            firestore = meter.snapshot()
            deletes = 0  # the journey deletes no document; the meter counts any delete among the writes
        for bucket in (settings.uploads_bucket, settings.derived_bucket, settings.records_bucket):
            for blob in plain.blobs.client.list_blobs(bucket):
                stored[bucket] += int(blob.size or 0)
    finally:
        logging.getLogger().removeHandler(handler)
        set_services(None)
    return {"firestore": {**firestore, "deletes": deletes}, "stored_bytes": dict(stored), "file_bytes": len(content),
            "buckets": {"uploads": settings.uploads_bucket, "derived": settings.derived_bucket, "records": settings.records_bucket},
            "ttl_days": settings.working_material_ttl_days}


def price(counts: Counts, measured: dict[str, Any], files: int, packed: bool) -> dict[str, float]:
    """USD per 1M files."""
    scale = MILLION / files
    compute = 0.0
    requests_total = 0
    for fn, durations in counts.invocations.items():
        spec = FUNCTIONS[fn]
        share = spec.get("concurrency", 1) if packed else 1
        billed = sum(max(0.1, math.ceil(d * 10) / 10) for d in durations) / share
        compute += billed * (float(spec["cpu"]) * PRICES["vcpu_second"] + _gib(spec["memory"]) * PRICES["gib_second"])
        requests_total += len(durations)
    fs = measured["firestore"]
    b = measured["buckets"]
    stored = measured["stored_bytes"]
    working_gb = (stored.get(b["uploads"], 0) + stored.get(b["derived"], 0)) / 1e9
    records_gb = stored.get(b["records"], 0) / 1e9
    return {
        "functions_compute": compute * scale,
        "functions_requests": requests_total * PRICES["function_request"] * scale,
        "firestore": (fs["reads"] * PRICES["firestore_read"] + fs["writes"] * PRICES["firestore_write"]
                      + fs["deletes"] * PRICES["firestore_delete"]) * scale,
        "storage_operations": (counts.gcs["class_a"] * PRICES["gcs_class_a"] + counts.gcs["class_b"] * PRICES["gcs_class_b"]) * scale,
        # Working material lives until its lifecycle rule deletes it; records are priced for their first month.
        "storage_at_rest": (working_gb * measured["ttl_days"] / 30 + records_gb) * PRICES["gcs_gb_month"] * scale,
        "pubsub": counts.pubsub_bytes / 2**40 * PRICES["pubsub_tib"] * scale,
        "cloud_tasks": counts.task_operations * PRICES["tasks_operation"] * scale,
        "api_gateway": counts.gateway_calls * PRICES["gateway_call"] * scale,
        "cloud_logging": counts.log_bytes / 2**30 * PRICES["logging_gib"] * scale,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=5, help="journeys to run (default 5)")
    parser.add_argument("--size-kb", type=int, default=100, help="size of each CSV file (default 100 KB)")
    args = parser.parse_args(argv)

    started_load = [round(v, 2) for v in os.getloadavg()]
    counts = Counts()
    with in_process_emulators("bench-cost-"):  # commands are counted and run in-process
        from shared.logs import configure
        from shared.settings import get_settings

        get_settings.cache_clear()
        configure("INFO")
        measured = run_journeys(args.files, args.size_kb, counts)

    packed, alone = price(counts, measured, args.files, True), price(counts, measured, args.files, False)
    per_file = {
        "firestore": measured["firestore"],
        "gcs_class_a": counts.gcs["class_a"] / args.files, "gcs_class_b": counts.gcs["class_b"] / args.files,
        "stored_bytes": {k: v / args.files for k, v in measured["stored_bytes"].items()},
        "pubsub_bytes": counts.pubsub_bytes / args.files, "task_operations": counts.task_operations / args.files,
        "gateway_calls": counts.gateway_calls / args.files, "log_bytes": counts.log_bytes / args.files,
        "invocations": {fn: len(d) / args.files for fn, d in sorted(counts.invocations.items())},
        "mean_seconds": {fn: round(sum(d) / len(d), 4) for fn, d in sorted(counts.invocations.items())},
    }
    per_file["firestore"] = {k: (v / args.files if isinstance(v, int | float) else v) for k, v in measured["firestore"].items()}
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_at_start": started_load,
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "files": args.files, "file_bytes": measured["file_bytes"], "prices_usd": PRICES, "per_file": per_file,
        "usd_per_million_files": {"declared_concurrency": {k: round(v, 2) for k, v in packed.items()},
                                  "concurrency_1": {k: round(v, 2) for k, v in alone.items()}},
        "total_usd_per_million_files": {"declared_concurrency": round(sum(packed.values()), 2),
                                        "concurrency_1": round(sum(alone.values()), 2)},
    }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    rows = [["component", "USD / 1M files (declared concurrency)", "USD / 1M files (concurrency 1)"]]
    rows += [[k, f"{packed[k]:.2f}", f"{alone[k]:.2f}"] for k in packed]
    rows.append(["total", f"{sum(packed.values()):.2f}", f"{sum(alone.values()):.2f}"])
    print(table(rows))
    print(f"\nper file ({measured['file_bytes']} bytes CSV): {json.dumps(per_file, indent=1)}")
    print(f"load average at start {started_load}; wrote {RESULTS_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
