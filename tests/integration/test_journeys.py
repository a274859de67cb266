"""Journeys as sagas, over the emulators: the seed's upload → profile → parse → (approval) → save, each step a real
execution; cancel and permanent failure compensate in reverse order; a crash at every step boundary is repaired by
redelivery or the sweep.

`Platform` does in-process what the deployed platform does between functions: Pub/Sub pushes published events to the
consumer (a delivery that crashes is delivered again), Cloud Tasks runs the commands the relay handed it, and when
nothing moves, time passes and the sweep delivers what a dead process left behind."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from dev.bus_calls import parse_task, react
from shared.bootstrap import Services, messagebus
from shared.domain.errors import TransientError
from shared.domain.intents import Intent
from shared.domain.journey_model import Journey, JourneyStatus
from shared.domain.messages import MessagePublished, ParseTask, Query, RedriveJourneys
from shared.domain.models import utcnow
from shared.domain.states import ExecutionStatus, LifecycleState
from shared.edges.http import outcome_response
from shared.ports import Principal
from shared.runtime.outbox import OutboxRelay
from shared.usecases import journeys

INGEST = ("ingest", "ingest_http")
PROFILE = ("profile_selection", "profile_selection_http")
READ = ("read_api", "read_http")
CSV = b"sku,qty,price\nA-1,3,9.99\nB-2,5,1.50\nC-3,1,100\n"
TENANT = "tenant-a"
ME = Principal(TENANT, "user-1", "session-1")


class SimulatedCrash(BaseException):
    """The process dies here (BaseException: nothing on the way up may swallow it)."""


class Platform:
    def __init__(self, services: Services, tap) -> None:
        self.services = services
        self.tap = tap
        self.ran: set[str] = set()
        self.redeliver: list = []
        self.crashes: list[str] = []
        self.drop: Callable[[dict], bool] = lambda event: False  # an event the consumer loses for good
        self.undelivered = False

    def _message(self, tapped) -> MessagePublished:
        return MessagePublished.model_validate(
            {"message": {"data": base64.b64encode(tapped.data).decode(), "attributes": tapped.attributes}})

    def pump(self) -> bool:
        events, self.redeliver = self.redeliver + self.tap.pull(timeout=0.3), []
        for tapped in events:
            if self.drop(tapped.json()):
                continue
            try:
                react(self.services, self._message(tapped))
            except SimulatedCrash as crash:  # never acknowledged: Pub/Sub delivers it again
                self.crashes.append(str(crash))
                self.redeliver.append(tapped)
            except TransientError:
                self.redeliver.append(tapped)
        ran = False
        records = list(self.services.store.outbox_records())
        self.undelivered = any(r.status != "delivered" for r in records)
        for record in records:
            if record.kind == "command" and record.status == "delivered" and record.record_id not in self.ran:
                self.ran.add(record.record_id)
                ran = True
                try:
                    parse_task(self.services, ParseTask.model_validate(record.payload))
                except SimulatedCrash as crash:  # Cloud Tasks retries the task
                    self.crashes.append(str(crash))
                    self.ran.discard(record.record_id)
        return bool(events) or ran

    def run_until(self, journey_id: str, done: Callable[[Journey], bool], timeout: float = 40) -> Journey:
        deadline = time.monotonic() + timeout
        idle = 0
        while True:
            moved = self.pump()
            journey = self.services.store.get_journey(TENANT, journey_id)
            if done(journey):
                return journey
            idle = 0 if moved else idle + 1
            if idle >= 2 and self.undelivered:  # nothing moves: time passes, the sweep delivers what a dead process left
                self.services.relay.sweep(grace_seconds=0)
            assert time.monotonic() < deadline, journey.view()


def crash_once(services: Services, relay_at: tuple[str, str] | None = None, journey_at: str | None = None) -> Services:
    """Services whose process dies once: in the relay at (point, event_type or 'command'), or at a journey boundary."""
    fired: list[str] = []

    def relay_fault(point: str, record_id: str) -> None:
        if relay_at is None or fired or point != relay_at[0]:
            return
        record = next(r for r in services.store.outbox_records() if r.record_id == record_id)
        kind = "command" if record.kind == "command" else record.payload.get("event_type")
        if kind == relay_at[1]:
            fired.append(point)
            raise SimulatedCrash(f"relay {point} {kind}")

    def journey_fault(point: str, detail: str) -> None:
        if journey_at == point and not fired:
            fired.append(point)
            raise SimulatedCrash(f"journey {point} {detail}")

    relay = OutboxRelay(services.store, services.publisher, services.queue, fault=relay_fault)
    return Services(services.settings, store=services.store, blobs=services.blobs, publisher=services.publisher,
                    queue=services.queue, verifier=services.verifier, relay=relay, journey_fault=journey_fault,
                    crashed=fired)


def ingest(function_client, headers, content: bytes = CSV) -> str:
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=headers, json={
        "parameters": {"ui_name": "items.csv", "filename": "items.csv", "file_content": content.hex()}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["file_id"]


def run(services: Services, intent_type: str, parameters: dict):
    """A journey intent as its route submits it."""
    return messagebus(services).execute(Intent.create(intent_type, tenant_id=ME.tenant_id, session_id=ME.session_id,
                                                      user_id=ME.user_id, parameters=parameters))


def start(services: Services, file_id: str, save: str = "auto", **extra) -> dict:
    status, body = outcome_response(run(
        services, journeys.START, {"file_id": file_id, "ingestion_profile": "structured", "save": save, **extra}))
    assert status == 201, body
    return body


def state(services: Services, artifact_id: str | None) -> LifecycleState:
    return services.store.get_artifact(TENANT, artifact_id or "").lifecycle_state


def saved_events(services: Services) -> dict[str, set[str]]:
    """artifact_id -> distinct artifact_saved event ids in the outbox."""
    found: dict[str, set[str]] = {}
    for record in services.store.outbox_records():
        if record.payload.get("event_type") == "artifact_saved":
            found.setdefault(record.payload["data"]["artifact_id"], set()).add(record.record_id)
    return found


def assert_completed_with_real_executions(services: Services, journey: Journey) -> None:
    assert journey.status == JourneyStatus.COMPLETED, journey.view()
    for step in journey.steps:
        if step.status == "skipped":
            continue
        assert step.status == "completed" and step.execution_id, step
        execution = services.store.get_execution(TENANT, step.execution_id)
        assert execution is not None and execution.status == ExecutionStatus.COMPLETED, (step.name, execution)
    assert state(services, journey.file_id) == state(services, journey.parsed_artifact_id) == LifecycleState.READY
    assert {k: len(v) for k, v in saved_events(services).items()} == {journey.file_id: 1, journey.parsed_artifact_id: 1}


# ---- the journey through its HTTP doors ---------------------------------------------------------------------------


def test_auto_journey_runs_every_step_as_an_execution_visible_in_the_read_api(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    client = function_client(*PROFILE)
    resp = client.post("/v1/journeys", headers=auth(), json={"file_id": file_id, "ingestion_profile": "structured",
                                                             "save": "auto"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "running" and body["intent_type"] == "start_journey" and body["execution_id"]
    assert [(s["name"], s["status"]) for s in body["steps"]][:3] == [
        ("ingest", "completed"), ("select_profile", "completed"), ("parse", "running")]
    journey = Platform(services, event_tap).run_until(body["journey_id"], lambda j: j.status != "running")
    assert_completed_with_real_executions(services, journey)

    view = client.get(f"/v1/journeys/{body['journey_id']}", headers=auth(session="elsewhere")).get_json()
    assert view["status"] == "completed" and view["journey_type"] == "journey_content_file_upload_materialization"
    assert view["artifacts"] == {"file": file_id, "parsed_content": journey.parsed_artifact_id}
    reader = function_client(*READ)
    kinds = []
    for step in view["steps"]:
        if "execution_id" in step:
            execution = reader.get(f"/v1/executions/{step['execution_id']}", headers=auth())
            assert execution.status_code == 200 and execution.get_json()["status"] == "completed"
            kinds.append(execution.get_json()["intent_type"])
    assert kinds == ["ingest_file", "select_profile", "parse_content", "save_materialization", "save_materialization"]
    assert reader.get(f"/v1/executions/{body['execution_id']}", headers=auth()).get_json()["status"] == "completed"
    for path in (f"/v1/journeys/{body['journey_id']}", "/v1/journeys/journey_nope"):
        other = client.get(path, headers=auth(tenant="tenant-b"))
        assert other.status_code == 404 and other.get_json()["error_code"] == "JOURNEY_NOT_FOUND"
    for action in ("approve", "cancel"):
        assert client.post(f"/v1/journeys/{body['journey_id']}/{action}", headers=auth(tenant="tenant-b")).status_code == 404


def test_manual_journey_persists_nothing_until_the_user_approves(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    client = function_client(*PROFILE)
    journey_id = client.post("/v1/journeys", headers=auth(), json={
        "file_id": file_id, "ingestion_profile": "structured"}).get_json()["journey_id"]  # save defaults to manual
    platform = Platform(services, event_tap)
    waiting = platform.run_until(journey_id, lambda j: j.status != "running")
    assert waiting.status == JourneyStatus.AWAITING_APPROVAL
    for _ in range(3):
        platform.pump()
    assert state(services, file_id) == state(services, waiting.parsed_artifact_id) == LifecycleState.PENDING
    assert saved_events(services) == {}  # nothing persisted without the approval

    approved = client.post(f"/v1/journeys/{journey_id}/approve", headers=auth(session="tomorrow"))
    assert approved.status_code == 200 and approved.get_json()["intent_type"] == "approve_journey"
    again = client.post(f"/v1/journeys/{journey_id}/approve", headers=auth())
    assert again.status_code == 200  # approving twice changes nothing
    journey = platform.run_until(journey_id, lambda j: j.status != "running")
    assert_completed_with_real_executions(services, journey)
    assert journey.step("approval").execution_id == approved.get_json()["execution_id"]
    late = client.post(f"/v1/journeys/{journey_id}/cancel", headers=auth())
    assert late.status_code == 409 and late.get_json()["error_code"] == "JOURNEY_COMPLETED"
    assert state(services, journey.parsed_artifact_id) == LifecycleState.READY  # a READY record is never undone


def test_journey_on_an_upload_waits_for_the_file_then_goes_on(services, function_client, auth, event_tap):
    from dev.bus_calls import finalize
    from shared.domain.messages import StorageObjectData

    up = function_client(*INGEST).post("/v1/intents/request_upload", headers=auth(), json={"parameters": {
        "ui_name": "items.csv", "file_size": len(CSV), "mime_type": "text/csv"}}).get_json()
    client = function_client(*PROFILE)
    started = client.post("/v1/journeys", headers=auth(), json={"upload_id": up["upload_id"], "save": "auto",
                                                                "ingestion_profile": "structured"})
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["steps"][0]["status"] == "waiting"
    missing = client.post("/v1/journeys", headers=auth(), json={"upload_id": "upl_nope", "ingestion_profile": "structured"})
    assert missing.status_code == 404 and missing.get_json()["error_code"] == "UPLOAD_NOT_FOUND"
    both = client.post("/v1/journeys", headers=auth(), json={"upload_id": "u", "file_id": "f"})
    assert both.status_code == 422

    bucket = services.settings.uploads_bucket
    services.blobs.write_bytes_if_absent(bucket, up["object_name"], CSV, "text/csv")
    info = services.blobs.stat(bucket, up["object_name"])
    finalize(services, "ce-1", "//storage.googleapis.com/projects/_/buckets/x",
                    StorageObjectData(bucket=bucket, name=info.name, generation=info.generation, size=info.size))
    journey = Platform(services, event_tap).run_until(started.get_json()["journey_id"], lambda j: j.status != "running")
    assert_completed_with_real_executions(services, journey)
    assert journey.file_id == services.store.get_upload(TENANT, up["upload_id"]).file_id


# ---- compensation -------------------------------------------------------------------------------------------------


def derived_objects(services: Services, parsed_id: str) -> list[str]:
    return services.blobs.list_names(services.settings.derived_bucket, f"tenants/{TENANT}/parsed/{parsed_id}")


def test_cancel_while_awaiting_approval_discards_what_the_journey_derived(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    crashing = crash_once(services, journey_at="after_step_executed")  # and the discard's process dies once
    journey_id = start(crashing, file_id, save="manual")["journey_id"]
    platform = Platform(crashing, event_tap)
    waiting = platform.run_until(journey_id, lambda j: j.status == "awaiting_approval")
    parsed_id = waiting.parsed_artifact_id
    assert derived_objects(services, parsed_id)
    assert services.store.list_references(TENANT, parsed_id)  # the Data Brain knows the derived objects

    client = function_client(*PROFILE)
    cancelled = client.post(f"/v1/journeys/{journey_id}/cancel", headers=auth())
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    done = platform.run_until(journey_id, lambda j: j.compensation == "done")
    assert platform.crashes == ["journey after_step_executed " + f"{journey_id}:parse"]
    assert state(services, parsed_id) == LifecycleState.DELETED and derived_objects(services, parsed_id) == []
    assert services.store.list_references(TENANT, parsed_id) == []  # discarded bytes leave no reference behind
    assert state(services, file_id) == LifecycleState.PENDING  # the user's upload is not the journey's to undo
    parse = done.step("parse")
    assert parse.compensation == "done"
    discard = services.store.get_execution(TENANT, parse.compensation_execution_id)
    assert discard.intent_type == "discard_working_material" and discard.status == ExecutionStatus.COMPLETED
    assert [s.status for s in done.steps][3:] == ["cancelled", "cancelled", "cancelled"]
    assert client.post(f"/v1/journeys/{journey_id}/cancel", headers=auth()).status_code == 200  # a no-op
    refused = client.post(f"/v1/journeys/{journey_id}/approve", headers=auth())
    assert refused.status_code == 409 and refused.get_json()["error_code"] == "JOURNEY_NOT_ACTIVE"
    assert saved_events(services) == {}


def test_a_record_of_fact_is_never_undone_by_a_cancel_or_a_discard(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    journey_id = start(services, file_id, save="manual")["journey_id"]
    platform = Platform(services, event_tap)
    parsed_id = platform.run_until(journey_id, lambda j: j.status == "awaiting_approval").parsed_artifact_id
    for artifact_id in (file_id, parsed_id):  # the user saves by hand, outside the journey
        saved = function_client("save", "save_http").post("/v1/intents/save_materialization", headers=auth(),
                                                          json={"parameters": {"artifact_id": artifact_id}})
        assert saved.status_code == 200, saved.get_json()
    assert outcome_response(run(services, journeys.CANCEL, {"journey_id": journey_id}))[0] == 200
    done = platform.run_until(journey_id, lambda j: j.compensation == "done")
    assert done.step("parse").compensation == "kept"
    assert state(services, parsed_id) == LifecycleState.READY and derived_objects(services, parsed_id)

    discard = messagebus(services).execute(Intent.create(
        journeys.DISCARD, tenant_id=TENANT, session_id="s", user_id="u", parameters={"artifact_id": parsed_id}))
    assert discard.ok and discard.result.data["outcome"] == "kept"  # the compensation itself refuses a record
    assert state(services, parsed_id) == LifecycleState.READY


def test_cancel_during_the_parse_discards_its_result_when_it_lands(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    journey_id = start(services, file_id, save="auto")["journey_id"]
    status, body = outcome_response(run(services, journeys.CANCEL, {"journey_id": journey_id}))  # the parse is still running
    assert status == 200 and body["steps"][2]["status"] == "running"
    assert body["steps"][2]["compensation"] == "awaiting_result"
    done = Platform(services, event_tap).run_until(journey_id, lambda j: j.compensation == "done")
    assert done.status == JourneyStatus.CANCELLED and done.step("parse").status == "completed"
    assert state(services, done.parsed_artifact_id) == LifecycleState.DELETED
    assert saved_events(services) == {}


def test_a_failed_parse_fails_the_journey_with_the_reason(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth(), b"   \n\n  ")
    journey_id = start(services, file_id)["journey_id"]
    failed = Platform(services, event_tap).run_until(journey_id, lambda j: j.status != "running")
    assert failed.status == JourneyStatus.FAILED and failed.error_code == "EMPTY_FILE" and failed.error
    assert failed.compensation == "done" and not failed.active
    view = messagebus(services).handle(Query("get_journey", ME, {"journey_id": journey_id}))
    assert view["error_code"] == "EMPTY_FILE" and view["steps"][2]["status"] == "failed"


def test_a_failed_save_keeps_the_saved_file_and_discards_the_parse(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    journey_id = start(services, file_id, save="auto")["journey_id"]
    platform = Platform(services, event_tap)
    parsed = platform.run_until(journey_id, lambda j: j.step("parse").status == "completed")
    for name in derived_objects(services, parsed.parsed_artifact_id):  # the working copy expires before its save
        services.blobs.delete(services.settings.derived_bucket, name)
    failed = platform.run_until(journey_id, lambda j: j.compensation == "done")
    assert failed.status == JourneyStatus.FAILED and failed.error_code == "PAYLOAD_EXPIRED"
    assert failed.step("save_file").compensation == "kept"
    assert state(services, file_id) == LifecycleState.READY  # a READY record is never undone
    assert state(services, failed.parsed_artifact_id) == LifecycleState.DELETED


# ---- crashes at every step boundary -------------------------------------------------------------------------------


BOUNDARIES = {
    "parse command lost after the start commit": {"relay_at": ("before_publish", "command")},
    "parse result lost after the worker commit": {"relay_at": ("before_publish", "parse_completed")},
    "parse result delivered twice": {"relay_at": ("after_publish", "parse_completed")},
    "save step lost after the advance commit": {"relay_at": ("before_publish", "journey_step_started")},
    "consumer dies before acknowledging its advance": {"journey_at": "after_advance"},
    "save done but not yet recorded": {"journey_at": "after_step_executed"},
    "approval committed, then its process died": {"journey_at": "after_approved"},
}


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_a_crash_at_a_step_boundary_is_repaired_and_nothing_runs_twice(services, function_client, auth, event_tap, boundary):
    file_id = ingest(function_client, auth())
    crashing = crash_once(services, **BOUNDARIES[boundary])
    manual = boundary.startswith("approval")
    try:
        journey_id = start(crashing, file_id, save="manual" if manual else "auto")["journey_id"]
    except SimulatedCrash:  # the start committed; its process died before delivering
        (journey_id,) = [j.journey_id for j in services.store.find_journeys(TENANT, intent_id=None)]
    platform = Platform(crashing, event_tap)
    if manual:
        platform.run_until(journey_id, lambda j: j.status == "awaiting_approval")
        with pytest.raises(SimulatedCrash):
            run(crashing, journeys.APPROVE, {"journey_id": journey_id})
        assert run(crashing, journeys.APPROVE, {"journey_id": journey_id}).ok  # the client retries
    journey = platform.run_until(journey_id, lambda j: j.status not in ("running", "awaiting_approval"))
    assert_completed_with_real_executions(services, journey)
    assert len(crashing.crashed) == 1  # the process really died at that boundary, once


def test_the_sweep_redrives_a_journey_whose_step_request_was_lost(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth())
    journey_id = start(services, file_id, save="auto")["journey_id"]
    platform = Platform(services, event_tap)
    platform.drop = lambda event: (event["event_type"] == "journey_step_started" and event["data"]["step"] == "save_file"
                                   and event["data"]["round"] == 1)
    stuck = platform.run_until(journey_id, lambda j: j.step("save_file").status == "running")
    for _ in range(3):
        platform.pump()
    assert services.store.get_journey(TENANT, journey_id).version == stuck.version  # lost: nothing moves by itself
    assert messagebus(services).handle(RedriveJourneys(idle_seconds=3600)) == {}  # not idle long enough yet
    assert messagebus(services).handle(RedriveJourneys(idle_seconds=0)) == {"running": 1}
    journey = platform.run_until(journey_id, lambda j: j.status != "running")
    assert_completed_with_real_executions(services, journey)
    assert journey.step("save_file").round == 2 and any(e.what == "redriven" for e in journey.history)


def test_the_journey_sweep_query_has_a_declared_index(services, monkeypatch):
    from google.cloud.firestore_v1 import query as fs_query

    from tests.integration.test_index_coverage import declared, required_index

    seen: list = []
    original = fs_query.Query.stream

    def recording(self, *args, **kwargs):
        need = required_index(self._to_protobuf(), self._parent.id, "COLLECTION_GROUP" if self._all_descendants else "COLLECTION")
        if need:
            seen.append(need)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fs_query.Query, "stream", recording)
    services.store.stale_journeys(utcnow(), 5)
    services.store.find_journeys(TENANT, upload_id="u")
    assert seen and all(declared(*need) for need in seen), seen
