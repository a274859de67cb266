"""One contract for each record port, run against the in-memory implementation and the Firestore adapter on the
emulator alike: what a use-case test assumes of the in-memory store holds of the real one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory import MemoryIdempotencyRecords
from shared.ports import AlreadyStored, IdempotencyRecord, RecordChanged

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "firestore"])
def records(request) -> Iterator[object]:
    if request.param == "memory":
        yield MemoryIdempotencyRecords()
    else:
        yield request.getfixturevalue("services").store


def _record(**kw) -> IdempotencyRecord:
    return IdempotencyRecord(request_hash=kw.pop("request_hash", "h1"), started_at=T0, expire_at=T0 + timedelta(days=7),
                             **kw)


def test_a_record_reads_back_as_it_was_put_and_is_gone_once_deleted(records):
    assert records.get_idempotency("t1", "k") is None
    records.put_idempotency("t1", "k", _record(completed=True, status_code=201, body={"upload_id": "u1"}))
    got = records.get_idempotency("t1", "k")
    assert (got.request_hash, got.started_at, got.completed, got.status_code, got.body) == (
        "h1", T0, True, 201, {"upload_id": "u1"})
    assert records.get_idempotency("t2", "k") is None  # records are per tenant
    records.delete_idempotency("t1", "k")
    assert records.get_idempotency("t1", "k") is None
    records.delete_idempotency("t1", "k")  # deleting what is gone is fine


def test_a_conditional_put_creates_only_when_nothing_is_there(records):
    records.put_idempotency("t1", "k", _record(), conditional=True)
    with pytest.raises(RecordChanged):
        records.put_idempotency("t1", "k", _record(request_hash="h2"), conditional=True)
    assert records.get_idempotency("t1", "k").request_hash == "h1"


def test_a_conditional_put_replaces_only_the_version_it_read(records):
    records.put_idempotency("t1", "k", _record(), conditional=True)
    read = records.get_idempotency("t1", "k")
    records.put_idempotency("t1", "k", _record(request_hash="h2"), replacing=read, conditional=True)
    with pytest.raises(RecordChanged):  # another request replaced it since `read`
        records.put_idempotency("t1", "k", _record(request_hash="h3"), replacing=read, conditional=True)
    assert records.get_idempotency("t1", "k").request_hash == "h2"
    stale = records.get_idempotency("t1", "k")
    records.delete_idempotency("t1", "k")
    with pytest.raises(RecordChanged):  # deleted since it was read
        records.put_idempotency("t1", "k", _record(request_hash="h4"), replacing=stale, conditional=True)


# ---- the whole store: every repository and the commit, in memory and on the emulator ------------------------------

@pytest.fixture(params=["memory", "firestore"])
def store(request) -> Iterator[object]:
    from shared.adapters.memory import MemoryStore

    yield MemoryStore() if request.param == "memory" else request.getfixturevalue("services").store


def _file(artifact_id: str = "file_1", tenant: str = "t1"):
    from shared.domain.lineage import root_lineage
    from shared.domain.models import Artifact, Materialization, ProducedBy

    return Artifact(
        artifact_id=artifact_id, artifact_type="file", tenant_id=tenant, session_id="s",
        storage_location=f"gs://uploads/{artifact_id}", boundary_contract_id="bc",
        produced_by=ProducedBy(intent="ingest_file", execution_id="exec_9"), lineage=root_lineage(artifact_id),
        materializations=[Materialization(materialization_id="m1", uri=f"gs://uploads/{artifact_id}", format="text/csv")])


def _upload(upload_id: str = "up_1"):
    from shared.domain.models import Upload

    return Upload(upload_id=upload_id, tenant_id="t1", session_id="s", bucket="b", object_name=f"o/{upload_id}",
                  ui_name="a.csv", filename="a.csv", mime_type="text/csv", declared_size=3, execution_id="exec_u",
                  expires_at=T0 + timedelta(days=1))


def _event(event_id: str, execution_id: str = "exec_1"):
    from shared.domain.models import Event

    return Event(event_id=event_id, event_type="file_ingested", tenant_id="t1", execution_id=execution_id)


def test_a_create_only_write_fails_whole_when_its_document_exists(store):
    store.run_in_transaction(lambda tx: tx.create_artifact(_file()))

    def again(tx):
        tx.put_upload(_upload())
        tx.create_artifact(_file())

    with pytest.raises(AlreadyStored):
        store.run_in_transaction(again)
    assert store.get_upload("t1", "up_1") is None  # nothing of that commit landed
    assert store.get_artifact("t1", "file_1").artifact_id == "file_1" and store.get_artifact("t2", "file_1") is None


def test_an_adopted_read_writes_only_over_the_version_read(store):
    store.write_batch(lambda tx: tx.put_upload(_upload()))
    read = store.read_upload("t1", "up_1")
    store.write_batch(lambda tx: tx.put_upload(tx.adopt_upload(read).model_copy(update={"reason": "first"})))
    assert store.get_upload("t1", "up_1").reason == "first"

    def stale(tx):
        tx.put_upload(tx.adopt_upload(read).model_copy(update={"reason": "stale"}))
        tx.create_artifact(_file("file_2"))

    with pytest.raises(RecordChanged):  # another writer moved it since `read`: the whole commit fails
        store.write_batch(stale)
    assert store.get_upload("t1", "up_1").reason == "first" and store.get_artifact("t1", "file_2") is None


def test_references_are_registered_with_their_artifact_found_by_id_and_forgotten_one_by_one(store):
    from shared.runtime.data_brain import DataBrain, reference_id_for

    artifact = _file()

    def register(tx):
        tx.create_artifact(artifact)
        DataBrain().track_provenance(tx, artifact)

    store.run_in_transaction(register)
    ref_id = reference_id_for("t1", artifact.storage_location)
    assert [r.reference_id for r in store.list_references("t1", "file_1")] == [ref_id]
    assert store.get_reference("t1", ref_id).artifact_id == "file_1" and store.get_reference("t2", ref_id) is None
    assert [r.reference_id for r in store.sample_references("ref_", 10)] == [ref_id]
    store.write_batch(lambda tx: tx.delete_reference("t1", "file_1", ref_id))
    assert store.list_references("t1", "file_1") == [] and store.get_reference("t1", ref_id) is None
    assert store.get_artifact("t1", "file_1") is not None


def test_a_files_live_intents_are_found_by_their_own_status(store):
    from shared.domain.models import PendingIntent
    from shared.domain.states import IntentStatus

    intent = PendingIntent(intent_id="intent_1", tenant_id="t1", session_id="s", target_artifact_id="file_1")
    store.run_in_transaction(lambda tx: tx.put_intent(intent))
    assert store.run_in_transaction(lambda tx: tx.intents_of("t1", "parse_content", "file_1"))[0] == (intent, None)
    running = intent.model_copy(update={"status": IntentStatus.IN_PROGRESS, "lease_expires_at": T0})
    store.run_in_transaction(lambda tx: tx.put_intent(running))
    assert store.run_in_transaction(lambda tx: tx.intents_of("t1", "parse_content", "file_1"))[0] == (None, running)
    assert [i.intent_id for i in store.expired_leases(T0 + timedelta(seconds=1), 10)] == ["intent_1"]
    assert store.expired_leases(T0 - timedelta(seconds=1), 10) == []
    done = running.model_copy(update={"status": IntentStatus.COMPLETED})
    store.run_in_transaction(lambda tx: tx.put_intent(done))
    assert store.run_in_transaction(lambda tx: tx.intents_of("t1", "parse_content", "file_1"))[0] == (None, None)


def test_an_execution_is_created_once_and_its_log_grows_by_commits(store):
    from shared.domain.models import Execution, StageEntry
    from shared.domain.states import ExecutionStatus

    execution = Execution(execution_id="exec_1", tenant_id="t1", intent_type="parse_content", updated_at=T0,
                          stages=[StageEntry(stage="accept_intent", at=T0)])
    store.run_in_transaction(lambda tx: tx.create_execution(execution))
    with pytest.raises(AlreadyStored):
        store.write_batch(lambda tx: tx.create_execution(execution))
    assert [e.execution_id for e in store.stale_executions("accepted", T0 + timedelta(seconds=1), 10)] == ["exec_1"]
    store.write_batch(lambda tx: tx.log_stage("t1", "exec_1", StageEntry(stage="complete_execution", at=T0 + timedelta(1)),
                                              status=ExecutionStatus.COMPLETED, result={"ok": True}))
    stored = store.get_execution("t1", "exec_1")
    assert [s.stage for s in stored.stages] == ["accept_intent", "complete_execution"]
    assert stored.status == ExecutionStatus.COMPLETED and stored.result == {"ok": True}
    assert store.stale_executions("accepted", T0 + timedelta(days=2), 10) == [] and store.get_execution("t2", "exec_1") is None


def test_staged_messages_wait_for_delivery_under_a_lease_and_held_ones_for_their_trigger(store):
    from shared.domain.models import utcnow

    _, staged = store.run_in_transaction(lambda tx: tx.stage_event(_event("evt_1")))
    (record,) = staged
    assert record.status == "pending" and store.pending_outbox(utcnow(), 10) == [record.document_id]
    assert store.oldest_pending_outbox() == record.created_at
    assert [r.record_id for r in store.claim_outbox(record.document_id, 60)] == ["evt_1"]
    assert store.claim_outbox(record.document_id, 60) is None  # leased to the first claimer
    store.release_outbox(record.document_id, "pubsub down")
    assert store.pending_outbox(utcnow(), 10) == [record.document_id]
    assert store.claim_outbox(record.document_id, 60)[0].attempts == 2
    store.mark_delivered(record.document_id, 7)
    assert store.pending_outbox(utcnow(), 10) == [] and store.oldest_pending_outbox() is None
    assert store.claim_outbox(record.document_id, 60) is None and store.held_outbox(record.document_id) == []

    def held(tx):
        tx.hold_outbox_for_trigger("finalize_evt_2")
        tx.stage_event(_event("evt_2"))

    _, (kept,) = store.run_in_transaction(held)
    assert kept.status == "trigger" and store.pending_outbox(utcnow(), 10) == []  # never swept
    assert [r.record_id for r in store.held_outbox(kept.document_id)] == ["evt_2"]
    assert {r.record_id: r.status for r in store.outbox_records()} == {"evt_1": "delivered", "evt_2": "trigger"}


def test_the_sweep_takes_the_oldest_undelivered_first_whatever_their_shard(store):
    """Ids hash to 16 shards; one `in` query per status must still return the oldest across all of them."""
    from shared.domain.models import utcnow

    ids = [f"evt_{n:02d}" for n in range(24)]
    created = []
    for event_id in ids:
        _, (record,) = store.run_in_transaction(lambda tx, e=event_id: tx.stage_event(_event(e)))
        created.append((record.created_at, record.document_id))
    oldest = [document_id for _, document_id in sorted(created)]
    assert store.pending_outbox(utcnow(), 5) == oldest[:5]
    assert store.oldest_pending_outbox() == min(created)[0]
    for document_id in oldest[:3]:
        store.mark_delivered(document_id, 7)
    assert store.pending_outbox(utcnow(), 5) == oldest[3:8]
    assert store.oldest_pending_outbox() == sorted(created)[3][0]
