"""The transactional outbox under injected crashes: nothing lost, nothing processed twice."""

from __future__ import annotations

import base64

import pytest

from dev.bus_calls import finalize, react
from shared.bootstrap import Services
from shared.domain.messages import MessagePublished, StorageObjectData
from shared.domain.states import IntentStatus
from shared.runtime.outbox import OutboxRelay

GRACE = 60  # the sweep leaves records younger than this to the process that committed them


class SimulatedCrash(BaseException):
    """The relay's process dies here."""


def crash_at(point: str):
    def fault(where: str, record_id: str) -> None:
        if where == point:
            raise SimulatedCrash(f"{where} {record_id}")

    return fault


def crashing_services(services: Services, point: str) -> Services:
    relay = OutboxRelay(services.store, services.publisher, services.queue, fault=crash_at(point))
    return Services(services.settings, store=services.store, blobs=services.blobs, publisher=services.publisher,
                    queue=services.queue, verifier=services.verifier, relay=relay)


def _ingest(services: Services, content: bytes = b"a,b\n1,2\n"):
    from shared.bootstrap import messagebus
    from shared.domain.intents import Intent

    intent = Intent(intent_id="i", intent_type="ingest_file", tenant_id="tenant-a", session_id="s1", user_id="u",
                    parameters={"ui_name": "a.csv", "file_content": content.hex()})
    return messagebus(services).execute(intent)


def _outbox(services: Services):
    return {r.record_id: r for r in services.store.outbox_records()}


@pytest.mark.parametrize("point", ["before_publish", "after_publish"])
def test_relay_crash_loses_no_event_and_the_sweep_completes_delivery(services, event_tap, point):
    crashing = crashing_services(services, point)
    with pytest.raises(SimulatedCrash):
        _ingest(crashing)
    records = _outbox(services)
    assert len(records) == 1
    (record,) = records.values()
    assert record.status == "pending"  # committed with the state change, not yet marked delivered
    file_id = record.payload["data"]["artifact_id"]
    assert services.store.get_artifact("tenant-a", file_id) is not None

    assert services.relay.sweep(grace_seconds=GRACE).delivered == []  # still its committer's to deliver
    report = services.relay.sweep(grace_seconds=0)  # the committer is gone: the sweep takes over
    assert report.delivered == [record.record_id]
    assert _outbox(services)[record.record_id].status == "delivered"
    assert services.relay.sweep(grace_seconds=0).delivered == []  # delivered once, and then never again

    seen = event_tap.pull(timeout=3, min_count=1 if point == "before_publish" else 2)
    ids = [e.event_id for e in seen]
    assert set(ids) == {record.record_id}
    # Before publish: exactly one message. After publish: the retry resends the SAME event id, which consumers dedup.
    assert len(ids) == (1 if point == "before_publish" else 2)


def test_consumer_processes_a_redelivered_event_once(services, event_tap):
    """A crash after publish means the event arrives twice; the reaction runs once."""
    from shared.bootstrap import messagebus
    from shared.domain.intents import Intent

    outcome = messagebus(services).execute(Intent(
        intent_id="i", intent_type="request_upload", tenant_id="tenant-a", session_id="s1", user_id="u",
        parameters={"ui_name": "a.csv", "file_size": 8, "mime_type": "text/csv", "ingestion_profile": "structured"}))
    assert outcome.ok and outcome.result is not None
    body = outcome.result.data
    services.blobs.write_bytes_if_absent(services.settings.uploads_bucket, body["object_name"], b"a,b\n1,2\n", "text/csv")
    info = services.blobs.stat(services.settings.uploads_bucket, body["object_name"])
    obj = StorageObjectData(bucket=info.bucket, name=info.name, generation=info.generation, size=info.size)

    crashing = crashing_services(services, "after_publish")
    source = "//storage.googleapis.com/projects/_/buckets/local-uploads"
    with pytest.raises(SimulatedCrash):
        finalize(crashing, "ce-1", source, obj)
    assert finalize(services, "ce-1", source, obj).outcome == "duplicate"  # Eventarc's retry sends it again

    deliveries = [e for e in event_tap.pull(timeout=3, min_count=3) if e.event_type == "artifact_ingested"]
    assert len(deliveries) == 2 and deliveries[0].event_id == deliveries[1].event_id
    results = [react(services, MessagePublished.model_validate(
        {"message": {"data": base64.b64encode(d.data).decode(), "attributes": d.attributes}}))
        for d in deliveries]
    assert results == ["dispatched", "duplicate"]
    intent = services.store.get_intent("tenant-a", body["pending_intent_id"])
    assert intent.status == IntentStatus.IN_PROGRESS
    commands = [r for r in services.store.outbox_records() if r.kind == "command"]
    assert len(commands) == 1


def test_commands_leave_as_deterministically_named_tasks(services):
    from google.cloud import tasks_v2

    from shared.domain.events import parse_command
    from shared.domain.models import PendingIntent

    intent = PendingIntent(intent_id="intent_1", tenant_id="tenant-a", session_id="s", target_artifact_id="file_1",
                           status=IntentStatus.IN_PROGRESS, context={"ingestion_profile": "structured"})
    command = parse_command(intent, "exec_1")
    assert parse_command(intent, "exec_1").command_id == command.command_id
    services.queue.enqueue(command)
    services.queue.enqueue(command)  # a re-send after a relay crash must not fail the relay (ALREADY_EXISTS is success)
    client = services.queue._client
    names = [t.name for t in client.list_tasks(request=tasks_v2.ListTasksRequest(parent=services.queue._queue))]
    assert f"{services.queue._queue}/tasks/{command.command_id}" in names


def test_messages_ride_in_the_execution_their_commit_creates_and_later_commits_keep_their_own(services, event_tap):
    """The commit that creates an execution keeps its messages in that document (no outbox document: a write fewer).
    A later commit of the same execution writes an outbox document of its own, so it can never overwrite the first
    commit's messages, delivered or not; the sweep finds both places, and marks each delivered where it is."""
    from google.cloud import firestore as fs

    from shared.domain.models import Event, Execution, StageEntry
    from shared.domain.states import Stage

    store = services.store
    execution = Execution(execution_id="exec_rides", tenant_id="tenant-a", intent_type="ingest_file")
    first = Event(event_id="evt_first", event_type="file_ingested", tenant_id="tenant-a", execution_id="exec_rides")
    later = Event(event_id="evt_later", event_type="parse_completed", tenant_id="tenant-a", execution_id="exec_rides")

    def create(tx):
        tx.create_execution(execution)
        tx.stage_event(first)

    _, staged = store.run_in_transaction(create)
    path = "tenants/tenant-a/executions/exec_rides"
    assert [(r.record_id, r.document_id) for r in staged] == [("evt_first", path)]
    client: fs.Client = store.client
    assert [s.id for s in client.collection("outbox").stream()] == []  # no outbox document of its own
    assert store.get_execution("tenant-a", "exec_rides").execution_id == "exec_rides"  # still reads as an execution

    def go_on(tx):
        tx.log_stage("tenant-a", "exec_rides", StageEntry(stage=Stage.EXECUTE_INTENT))
        tx.stage_event(later)

    _, staged_later = store.run_in_transaction(go_on)
    assert [(r.record_id, r.document_id) for r in staged_later] == [("evt_later", "evt_later")]
    held = client.document(path).get().to_dict()["outbox"]
    assert [m["record_id"] for m in held["messages"]] == ["evt_first"] and held["status"] == "pending"

    assert store.oldest_pending_outbox() == staged[0].created_at  # the older of the two places
    report = services.relay.sweep(grace_seconds=0)  # neither committer delivered: the sweep takes both
    assert sorted(report.delivered) == ["evt_first", "evt_later"]
    assert {r.record_id: r.status for r in store.outbox_records()} == {"evt_first": "delivered", "evt_later": "delivered"}
    assert store.oldest_pending_outbox() is None and services.relay.sweep(grace_seconds=0).delivered == []
    assert {e.event_id for e in event_tap.pull(timeout=3, min_count=2)} == {"evt_first", "evt_later"}


def test_a_hold_on_a_place_the_commit_does_not_write_leaves_the_messages_to_the_sweep(services, event_tap):
    """Held messages ride in a document their commit writes (the execution it ends, the upload it ingests). A commit
    that names such a place but does not write it cannot hold them there: they wait for the sweep instead of being
    lost to a retry that would look in the wrong place."""
    from shared.domain.models import Event
    from shared.ports import execution_outbox_id

    event = Event(event_id="evt_unheld", event_type="parse_completed", tenant_id="tenant-a", execution_id="exec_x")

    def step(tx):
        tx.hold_outbox_for_trigger(execution_outbox_id("tenant-a", "exec_x", end=True))
        tx.stage_event(event)

    _, (record,) = services.store.run_in_transaction(step)
    assert record.status == "pending" and record.document_id == "evt_unheld"
    assert services.relay.sweep(grace_seconds=0).delivered == ["evt_unheld"]
    assert [e.event_id for e in event_tap.pull(timeout=3, min_count=1)] == ["evt_unheld"]
