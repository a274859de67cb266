"""OpenLineage RunEvents over the emulators: a journey emits START and COMPLETE for every step with the right inputs,
outputs and parent, every event valid against the OpenLineage spec's JSON Schema; the events ride in the commits'
outbox documents (no document of their own), survive a relay that dies before or after sending them, and a
redelivery adds no duplicate."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from shared.adapters.lineage_sinks import JsonlLineageSink
from shared.bootstrap import Services, get_services, set_services
from shared.lineage.events import JOURNEY_JOB, Producer, event_key, journey_run_id, run_id_for
from shared.runtime.outbox import OutboxRelay
from shared.settings import get_settings
from tests.integration.test_journeys import TENANT, Platform, SimulatedCrash, ingest, start
from tests.lineage.spec_check import event_errors

pytestmark = pytest.mark.emulators


@pytest.fixture
def lineage_file(monkeypatch, tmp_path) -> Path:
    path = tmp_path / "lineage" / "events.jsonl"
    monkeypatch.setenv("LINEAGE_SINK", "jsonl")
    monkeypatch.setenv("LINEAGE_FILE", str(path))
    return path


@pytest.fixture
def services(lineage_file, fresh_state):  # the integration fixture, with the lineage sink wired in
    get_settings.cache_clear()
    set_services(None)
    yield get_services()
    set_services(None)
    get_settings.cache_clear()


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def by_run(events: list[dict]) -> dict[str, dict[str, dict]]:
    runs: dict[str, dict[str, dict]] = {}
    for event in events:
        runs.setdefault(event["run"]["runId"], {})[event["eventType"]] = event
    return runs


def names(datasets: list[dict]) -> list[str]:
    return [f"{d['namespace']}/{d['name']}" for d in datasets]


def assert_valid_and_unique(events: list[dict]) -> None:
    assert events
    for event in events:
        assert event_errors(event) == [], (event["job"]["name"], event["eventType"], event_errors(event))
        datetime.fromisoformat(event["eventTime"])  # the format checker does not check date-time
    counts = Counter(event_key(e) for e in events)
    assert [k for k, n in counts.items() if n > 1] == []  # no event twice


def run_journey(services: Services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    body = start(services, file_id, save="auto")
    journey = Platform(services, event_tap).run_until(body["journey_id"], lambda j: j.status != "running", timeout=90)
    assert journey.status == "completed", journey.view()
    return journey


def test_a_journey_emits_start_and_complete_for_every_step_with_inputs_outputs_and_parent(
        services, function_client, auth, event_tap, lineage_file):
    journey = run_journey(services, function_client, auth, event_tap)
    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    runs = by_run(events)
    settings = services.settings
    namespace = settings.job_namespace
    file = services.store.get_artifact(TENANT, journey.file_id)
    parsed = services.store.get_artifact(TENANT, journey.parsed_artifact_id)

    journey_run = runs[journey_run_id(journey.journey_id)]
    assert set(journey_run) == {"START", "COMPLETE"} and journey_run["START"]["job"] == {
        "namespace": namespace, "name": JOURNEY_JOB, "facets": {}}

    steps = {s.name: s for s in journey.steps}
    for name in ("select_profile", "parse", "save_file", "save_parsed_content"):
        run = runs[run_id_for(steps[name].execution_id)]
        assert set(run) == {"START", "COMPLETE"}, (name, set(run))
        for event in run.values():
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == journey_run_id(journey.journey_id), name
            assert parent["job"] == {"namespace": namespace, "name": JOURNEY_JOB, "facets": {}}
            assert event["job"]["namespace"] == namespace
        assert run["START"]["eventTime"] <= run["COMPLETE"]["eventTime"]
    ingest_run = runs[run_id_for(file.produced_by.execution_id)]
    assert set(ingest_run) == {"START", "COMPLETE"} and ingest_run["COMPLETE"]["job"]["name"] == "ingest_file"

    # parse: reads the file's object, writes the parsed Parquet with its schema and our artifact facet
    parse = runs[run_id_for(steps["parse"].execution_id)]["COMPLETE"]
    assert parse["job"]["name"] == "parse_content"
    working_file = next(m.uri for m in file.materializations if not m.persistent)
    assert names(parse["inputs"]) == [working_file]
    parquet = [d for d in parse["outputs"] if d["name"].endswith(".parquet")]
    assert parquet and parquet[0]["namespace"] == f"gs://{settings.derived_bucket}"
    assert [f["name"] for f in parquet[0]["facets"]["schema"]["fields"]] == ["sku", "qty", "price"]
    facet = parquet[0]["facets"]["artifact"]
    assert (facet["artifactId"], facet["tenantId"], facet["generation"], facet["rootArtifactId"]) == (
        parsed.artifact_id, TENANT, 1, file.artifact_id)
    assert parquet[0]["facets"]["dataSource"]["uri"] == f"gs://{settings.derived_bucket}"

    # saves: read the working copy, CREATE the record copy in the records bucket
    for name, artifact in (("save_file", file), ("save_parsed_content", parsed)):
        save = runs[run_id_for(steps[name].execution_id)]["COMPLETE"]
        assert save["job"]["name"] == "save_materialization"
        records = [m.uri for m in artifact.materializations if m.persistent]
        assert names(save["outputs"]) == records and records
        assert all(d["namespace"] == f"gs://{settings.records_bucket}" for d in save["outputs"])
        assert {d["facets"]["lifecycleStateChange"]["lifecycleStateChange"] for d in save["outputs"]} == {"CREATE"}
        assert {d["facets"]["artifact"]["lifecycleState"] for d in save["outputs"]} == {"READY"}
        assert names(save["inputs"]) == [m.uri for m in artifact.materializations if not m.persistent]

    # every event rode in an outbox document its commit wrote anyway: none holds lineage alone
    documents: dict[str, list[str]] = {}
    for record in services.store.outbox_records():
        documents.setdefault(record.document_id, []).append(record.kind)
    assert [d for d, kinds in documents.items() if set(kinds) == {"lineage"}] == []
    staged = [e for r in services.store.outbox_records() if r.kind == "lineage" for e in r.payload["events"]]
    assert sorted(map(event_key, staged)) == sorted(map(event_key, events))  # exactly what was staged, once each


def crash_on_lineage(services: Services, point: str) -> Services:
    """Services whose relay dies once, at `point`, on the lineage message that carries a save's COMPLETE."""
    fired: list[str] = []

    def fault(at: str, record_id: str) -> None:
        if fired or at != point:
            return
        record = next(r for r in services.store.outbox_records() if r.record_id == record_id)
        if record.kind == "lineage" and any(e["job"]["name"] == "save_materialization" and e["eventType"] == "COMPLETE"
                                            for e in record.payload["events"]):
            fired.append(at)
            raise SimulatedCrash(f"relay {at} lineage")

    relay = OutboxRelay(services.store, services.publisher, services.queue, fault=fault,
                        lineage=services.relay._lineage)  # the same sink as the process that died
    return Services(services.settings, store=services.store, blobs=services.blobs, publisher=services.publisher,
                    queue=services.queue, verifier=services.verifier, relay=relay, crashed=fired)


@pytest.mark.parametrize("point", ["before_publish", "after_publish"])
def test_lineage_survives_a_relay_crash_and_a_redelivery_adds_no_duplicate(
        services, function_client, auth, event_tap, lineage_file, point):
    """before_publish: the process dies after the commit, before the events left (none lost: the sweep sends them);
    after_publish: it dies after sending them, before marking the document (the resend duplicates none)."""
    crashing = crash_on_lineage(services, point)
    set_services(crashing)
    journey = run_journey(crashing, function_client, auth, event_tap)
    assert crashing.crashed == [point]
    crashing.relay.sweep(grace_seconds=0)  # time passes: the sweep sends what the dead process left
    assert all(r.status == "delivered" for r in services.store.outbox_records())
    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    runs = by_run(events)
    for step in journey.steps:
        if step.name in ("select_profile", "parse", "save_file", "save_parsed_content"):
            assert set(runs[run_id_for(step.execution_id)]) == {"START", "COMPLETE"}, step.name
    # and a further redelivery of every record (a sweep racing a slow committer) adds nothing
    before = lineage_file.read_text()
    for record in services.store.outbox_records():
        if record.kind == "lineage":
            JsonlLineageSink(lineage_file).emit(record.payload["events"])
    assert lineage_file.read_text() == before


def test_a_failed_parse_emits_fail_with_the_reason(services, function_client, auth, event_tap, lineage_file):
    file_id = ingest(function_client, auth(), content=b"\x00\x01\x02 not a table \xff" * 10)
    body = start(services, file_id, save="auto")
    journey = Platform(services, event_tap).run_until(body["journey_id"], lambda j: j.status != "running", timeout=90)
    parse = next(s for s in journey.steps if s.name == "parse")
    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    run = by_run(events)[run_id_for(parse.execution_id)]
    if parse.status == "failed":
        assert set(run) == {"START", "FAIL"} and run["FAIL"]["run"]["facets"]["errorMessage"]["message"]
        assert by_run(events)[journey_run_id(journey.journey_id)].keys() >= {"START"}
    else:  # the parser accepted the bytes as text: the run still STARTs and COMPLETEs
        assert set(run) == {"START", "COMPLETE"}


def test_the_jsonl_sink_deduplicates_across_processes(tmp_path):
    from datetime import UTC

    from shared.lineage.events import RunDatasets, RunInfo, run_events

    events = run_events(RunInfo("exec_x", "ingest_file", "ns", Producer("http://127.0.0.1:8080/lineage")), started_at=datetime.now(UTC),
                        ended_at=datetime.now(UTC), state="COMPLETE", datasets=RunDatasets())
    path = tmp_path / "events.jsonl"
    first, second = JsonlLineageSink(path), JsonlLineageSink(path)  # two processes' sinks on one file
    first.emit(events[:1])
    second.emit(events)
    first.emit(events)
    assert [(e["eventType"]) for e in read_events(path)] == ["START", "COMPLETE"]


def _execute(services: Services, intent_type: str, parameters: dict):
    from shared.bootstrap import messagebus
    from shared.domain.intents import Intent

    return messagebus(services).execute(Intent.create(
        intent_type, tenant_id=TENANT, session_id="s-lineage", user_id="ann", parameters=parameters))


def test_platform_commands_and_intents_emit_each_run_once_start_then_end(services, lineage_file):
    """finalize (a platform command) ingests, the user deletes, retention expires (the sweep's command), and an
    intent that fails before it commits anything: each run is START then COMPLETE or FAIL, once, schema-valid."""
    from datetime import UTC, timedelta

    from dev.bus_calls import finalize, sweep
    from shared.domain.messages import StorageObjectData

    settings = services.settings
    upload = _execute(services, "request_upload", {
        "ui_name": "a.csv", "file_size": 8, "mime_type": "text/csv", "ingestion_profile": "structured"})
    assert upload.ok and upload.result is not None
    name = upload.result.data["object_name"]
    services.blobs.write_bytes_if_absent(settings.uploads_bucket, name, b"a,b\n1,2\n", "text/csv")
    info = services.blobs.stat(settings.uploads_bucket, name)
    obj = StorageObjectData(bucket=info.bucket, name=info.name, generation=info.generation, size=info.size)
    source = f"//storage.googleapis.com/projects/_/buckets/{settings.uploads_bucket}"
    done = finalize(services, "ce-lineage-1", source, obj)
    assert done.outcome == "ingested" and done.file_id
    assert finalize(services, "ce-lineage-1", source, obj).outcome == "duplicate"  # a redelivery: no second run
    finalized = services.store.get_artifact(TENANT, done.file_id)

    deleted = _execute(services, "delete_artifact", {"artifact_id": finalized.artifact_id})
    assert deleted.ok, deleted.error
    missing = _execute(services, "delete_artifact", {"artifact_id": "file_does_not_exist"})
    assert not missing.ok

    inline = _execute(services, "ingest_file", {"ui_name": "b.csv", "filename": "b.csv", "file_content": b"x,y\n3,4\n".hex()})
    assert inline.ok, inline.error
    stale = services.store.get_artifact(TENANT, inline.result.data["file_id"])
    services.store.client.document(f"tenants/{TENANT}/artifacts/{stale.artifact_id}").update(
        {"expires_at": datetime.now(UTC) - timedelta(days=1)})
    sweep(services)

    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    runs = by_run(events)
    ingest_run = runs[run_id_for(finalized.produced_by.execution_id)]
    assert [e["eventType"] for e in events if e["run"]["runId"] == run_id_for(finalized.produced_by.execution_id)] == [
        "START", "COMPLETE"]
    assert ingest_run["COMPLETE"]["job"]["name"] == "ingest_file"
    assert f"gs://{settings.uploads_bucket}/{name}" in names(ingest_run["COMPLETE"]["outputs"])

    delete_run = runs[run_id_for(deleted.execution_id)]
    assert set(delete_run) == {"START", "COMPLETE"} and delete_run["COMPLETE"]["job"]["name"] == "delete_artifact"
    dropped = delete_run["COMPLETE"]["outputs"]
    assert f"gs://{settings.uploads_bucket}/{name}" in names(dropped)
    assert {d["facets"]["lifecycleStateChange"]["lifecycleStateChange"] for d in dropped} == {"DROP"}

    failed = runs[run_id_for(missing.execution_id)]
    assert set(failed) == {"START", "FAIL"} and failed["FAIL"]["run"]["facets"]["errorMessage"]["message"]

    expiries = [r for r in runs.values() if r.get("COMPLETE", {}).get("job", {}).get("name") == "expire_artifact"]
    assert len(expiries) == 1 and set(expiries[0]) == {"START", "COMPLETE"}
    expired = expiries[0]["COMPLETE"]["outputs"]
    assert {d["facets"]["artifact"]["artifactId"] for d in expired} == {stale.artifact_id}
    assert {d["facets"]["lifecycleStateChange"]["lifecycleStateChange"] for d in expired} == {"DROP"}
    assert [e for e in events if e["job"]["name"] == "request_upload"] == []  # it reads and writes no artifact


def test_a_journey_parse_redispatched_after_its_worker_died_keeps_its_parent(
        services, function_client, auth, event_tap, lineage_file):
    from datetime import UTC, timedelta

    from dev.bus_calls import sweep

    file_id = ingest(function_client, auth())
    body = start(services, file_id, save="auto")
    platform = Platform(services, event_tap)
    dispatched = [r for r in services.store.outbox_records() if r.kind == "command"]
    assert len(dispatched) == 1  # the journey dispatched its parse at start
    platform.ran.add(dispatched[0].record_id)  # ...and the worker that took it died before it claimed anything
    intent_id = dispatched[0].payload["payload"]["intent_id"]
    services.store.client.document(f"tenants/{TENANT}/intents/{intent_id}").update(
        {"lease_expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    assert sweep(services)  # the lapsed lease: the sweep sends the parse again
    redispatched = [r for r in services.store.outbox_records() if r.kind == "command" and r.record_id not in platform.ran]
    assert len(redispatched) == 1 and redispatched[0].payload["payload"]["journey_id"] == body["journey_id"]

    journey = platform.run_until(body["journey_id"], lambda j: j.status != "running", timeout=90)
    assert journey.status == "completed", journey.view()
    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    parse = by_run(events)[run_id_for(journey.step("parse").execution_id)]
    assert set(parse) == {"START", "COMPLETE"}
    for event in parse.values():
        assert event["run"]["facets"]["parent"]["run"]["runId"] == journey_run_id(journey.journey_id)


def test_a_cancelled_journey_aborts_its_run_and_its_discard_drops_the_derived_objects(
        services, function_client, auth, event_tap, lineage_file):
    from shared.usecases import journeys
    from tests.integration.test_journeys import run

    file_id = ingest(function_client, auth())
    journey_id = start(services, file_id, save="manual")["journey_id"]
    platform = Platform(services, event_tap)
    parsed_id = platform.run_until(journey_id, lambda j: j.status == "awaiting_approval").parsed_artifact_id
    parsed = services.store.get_artifact(TENANT, parsed_id)
    assert run(services, journeys.CANCEL, {"journey_id": journey_id}).ok
    done = platform.run_until(journey_id, lambda j: j.compensation == "done")

    events = read_events(lineage_file)
    assert_valid_and_unique(events)
    runs = by_run(events)
    assert set(runs[journey_run_id(journey_id)]) == {"START", "ABORT"}
    discard = runs[run_id_for(done.step("parse").compensation_execution_id)]
    assert set(discard) == {"START", "COMPLETE"} and discard["COMPLETE"]["job"]["name"] == "discard_working_material"
    assert discard["COMPLETE"]["run"]["facets"]["parent"]["run"]["runId"] == journey_run_id(journey_id)
    dropped = discard["COMPLETE"]["outputs"]
    assert set(names(dropped)) >= {m.uri for m in parsed.materializations} and dropped
    assert {d["facets"]["lifecycleStateChange"]["lifecycleStateChange"] for d in dropped} == {"DROP"}
    assert not [e for e in events if e["job"]["name"] == "save_materialization"]  # nothing was saved
