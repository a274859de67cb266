"""Journey saga cost: the Firestore RPCs and time of each step of journey_content_file_upload_materialization.

It starts its own emulators (the code `make up` uses), ingests a small CSV, and runs auto-save journeys in-process:
the start, the parse worker, and each event the consumer receives, delivered in commit order from the outbox (what
Pub/Sub would push). Each delivery is metered with dev/firestore_meter (the client's real RPCs, relay marks
included), and so is a second delivery of the same event, which must write nothing. Results: bench/journey_results.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import in_process_emulators, table

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "journey_results.json"
CSV = b"sku,qty,price\n" + b"".join(f"A-{i},{i},{i}.5\n".encode() for i in range(200))


def _deliver(services: Any, payload: dict[str, Any]) -> str:
    from dev.bus_calls import react
    from shared.domain.messages import MessagePublished

    data = base64.b64encode(json.dumps(payload).encode()).decode()
    return react(services, MessagePublished.model_validate({"message": {"data": data, "attributes": {}}}))


def run_journey(services: Any, n: int) -> list[dict[str, Any]]:
    """One auto journey; returns a row per metered step."""
    from dev.firestore_meter import FirestoreMeter
    from shared.bootstrap import messagebus
    from shared.domain.intents import Intent
    from shared.domain.messages import ParseTask, RunParseTask

    tenant, session = "bench-t", f"s{n}"
    ingest = messagebus(services).execute(Intent.create(
        "ingest_file", tenant_id=tenant, session_id=session, user_id="u",
        parameters={"ui_name": "b.csv", "filename": "b.csv", "file_content": CSV.hex()}))
    assert ingest.ok, ingest.error
    file_id = ingest.result.data["file_id"] if ingest.result else ""
    rows: list[dict[str, Any]] = []
    handled: set[str] = set(r.record_id for r in services.store.outbox_records())

    def metered(step: str, call: Any) -> Any:
        started = time.perf_counter()
        with FirestoreMeter() as meter:
            value = call()
        rows.append({"step": step, "ms": (time.perf_counter() - started) * 1000, **meter.snapshot()})
        return value

    outcome = metered("start_journey", lambda: messagebus(services).execute(Intent.create(
        "start_journey", tenant_id=tenant, session_id=session, user_id="u",
        parameters={"file_id": file_id, "ingestion_profile": "structured", "save": "auto"})))
    assert outcome.ok, outcome.error
    journey_id = outcome.result.data["journey_id"] if outcome.result else ""
    for _ in range(50):
        fresh = [r for r in services.store.outbox_records() if r.record_id not in handled]
        if not fresh:
            break
        for record in sorted(fresh, key=lambda r: r.created_at):
            handled.add(record.record_id)
            if record.kind == "command":
                metered("parse worker", lambda r=record: messagebus(services).handle(RunParseTask(ParseTask.model_validate(r.payload))))
                continue
            payload = record.payload
            label = payload["event_type"] + (f" {payload['data'].get('step')}" if payload["data"].get("step") else "")
            result = metered(f"consumer: {label}", lambda p=payload: _deliver(services, p))
            if "journey:" in result and "duplicate" not in result:
                metered(f"duplicate: {label}", lambda p=payload: _deliver(services, p))
    journey = services.store.get_journey(tenant, journey_id)
    assert journey is not None and journey.status == "completed", journey
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    steps: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        steps.setdefault(row["step"], []).append(row)
    return [{"step": step, "runs": len(runs), "median_ms": round(statistics.median(r["ms"] for r in runs), 1),
             "reads": runs[-1]["reads"], "writes": runs[-1]["writes"], "transactions": runs[-1]["transactions"]}
            for step, runs in steps.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.journey", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="journeys to run (default 5)")
    args = parser.parse_args(argv)

    started_load = [round(v, 2) for v in os.getloadavg()]
    with in_process_emulators("bench-journey-"):
        from shared.bootstrap import Services
        from shared.settings import Settings

        services = Services(Settings())
        rows: list[dict[str, Any]] = []
        totals = []
        for n in range(args.repeat):
            started = time.perf_counter()
            rows += run_journey(services, n)
            totals.append((time.perf_counter() - started) * 1000)
    steps = summarise(rows)
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_at_start": started_load,
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "journeys": args.repeat, "journey_median_ms": round(statistics.median(totals), 1), "steps": steps,
    }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(table([["step", "runs", "median ms", "reads", "writes", "transactions"]]
                + [[s["step"], str(s["runs"]), str(s["median_ms"]), str(s["reads"]), str(s["writes"]), str(s["transactions"])]
                   for s in steps]))
    print(f"\nwhole journey (ingest to completed, in-process, no delivery latency): median {results['journey_median_ms']} ms")
    print(f"load average (1, 5, 15 min): {started_load} at start, {results['machine']['load_average_at_end']} at end")
    print(f"wrote {RESULTS_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
