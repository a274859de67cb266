"""The runtime execution engine end to end over the emulators (the seed's phase-2 integration): intent -> execution
-> completion through the unit of work, the transactional outbox, the Artifact Plane, the Data Brain and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dev.bus_calls import sweep
from dev.token import mint_token
from shared.bootstrap import messagebus
from shared.domain.events import artifact_event
from shared.domain.lineage import root_lineage
from shared.domain.models import utcnow
from shared.domain.states import LifecycleState, PayloadState
from shared.runtime.context import Result
from shared.runtime.data_brain import DataBrain

INGEST = ("ingest", "ingest_http")
PROFILE = ("profile_selection", "profile_selection_http")
SAVE = ("save", "save_http")
READ = ("read_api", "read_http")
SEED_STAGES = ["accept_intent", "create_execution", "execute_intent", "handle_artifacts", "publish_events", "complete_execution"]


def _ingest(function_client, headers, content=b"id,zip\n1,00501\n", metadata=None):
    body = {"parameters": {"ui_name": "zips.csv", "file_content": content.hex()}, "metadata": metadata or {}}
    return function_client(*INGEST).post("/v1/intents/ingest_file", json=body, headers=headers)


def test_an_intent_runs_through_all_six_seed_stages_and_keeps_its_metadata_and_solution(services, function_client):
    token = mint_token("tenant-a", "user-1", "session-1", extra_claims={"solution_id": "sol_claims"})
    resp = _ingest(function_client, {"Authorization": f"Bearer {token}"},
                   metadata={"boundary_contract_id": "bc_from_metadata", "materialization_type": "reference", "note": "x"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    execution = services.store.get_execution("tenant-a", body["execution_id"])
    assert [s.stage for s in execution.stages] == SEED_STAGES
    assert execution.metadata == {"boundary_contract_id": "bc_from_metadata", "materialization_type": "reference", "note": "x"}
    assert execution.solution_id == "sol_claims"
    artifact = services.store.get_artifact("tenant-a", body["file_id"])
    assert artifact.boundary_contract_id == "bc_from_metadata"
    assert [m.materialization_type for m in artifact.materializations] == ["reference"]
    doc = artifact.to_json()
    assert (doc["realm"], doc["solution_id"], doc["intent_type"], doc["execution_id"]) == (
        "content", "sol_claims", "ingest_file", body["execution_id"])
    assert doc["payload_storage_path"] == artifact.storage_location and doc["payload_artifact_id"] == artifact.artifact_id


def test_an_unsupported_backing_store_is_refused_before_anything_is_stored(services, function_client, auth):
    resp = _ingest(function_client, auth(), metadata={"materialization_backing_store": "s3"})
    assert resp.status_code == 422 and resp.get_json()["error_code"] == "UNSUPPORTED_BACKING_STORE"
    execution = services.store.get_execution("tenant-a", resp.get_json()["execution_id"])
    assert execution.status.value == "failed" and [s.stage for s in execution.stages][-1] == "failed"
    assert services.blobs.list_names(services.settings.uploads_bucket, "tenants/tenant-a/") == []


class RecordingRelay:
    def __init__(self):
        self.delivered: list[list[str]] = []

    def deliver(self, records):
        self.delivered.append([r.record_id for r in records])

    def sweep(self, grace_seconds, limit=200):
        return None


def test_the_unit_of_work_commits_state_outbox_and_log_together_or_not_at_all(services, function_client, auth):
    from shared.bootstrap import Services

    created = _ingest(function_client, auth()).get_json()
    source = services.store.get_artifact("tenant-a", created["file_id"])
    relay = RecordingRelay()
    wired = Services(services.settings, relay=relay)
    uow = messagebus(wired).unit_of_work().resume("tenant-a", created["execution_id"], "ingest_file",
                                                  session_id="session-1", user_id="user-1")
    copy = source.model_copy(update={"artifact_id": "file_twin", "ui_name": "twin", "lineage": root_lineage("file_twin")})
    event = artifact_event("artifact_ingested", copy, created["execution_id"])
    before = len(list(services.store.outbox_records()))

    def failing(tx):
        tx.put_artifact(copy)
        tx.stage_event(event)
        raise RuntimeError("the step fails after buffering its writes")

    with pytest.raises(RuntimeError):
        uow.commit(failing)
    assert services.store.get_artifact("tenant-a", "file_twin") is None
    assert len(list(services.store.outbox_records())) == before and relay.delivered == []

    result = uow.commit(lambda tx: Result({"ok": True}, artifacts=[copy], events=[event]))
    assert result.data == {"ok": True}
    assert services.store.get_artifact("tenant-a", "file_twin") is not None
    assert relay.delivered == [[event.event_id]]  # handed to the relay right after the commit
    assert DataBrain.get_reference(services.store, "tenant-a", copy.storage_location).artifact_id in ("file_twin", source.artifact_id)
    stages = [s.stage for s in services.store.get_execution("tenant-a", created["execution_id"]).stages]
    assert stages[-3:] == ["handle_artifacts", "publish_events", "complete_execution"]


def test_every_execution_creating_route_names_a_real_execution(services, function_client, auth):
    file_id = _ingest(function_client, auth()).get_json()["file_id"]
    chosen = function_client(*PROFILE).post("/v1/pending-intents", headers=auth(), json={
        "intent_type": "parse_content", "target_artifact_id": file_id, "context": {"ingestion_profile": "structured"}})
    assert chosen.status_code == 201
    cancelled = function_client(*PROFILE).delete(f"/v1/pending-intents/{chosen.get_json()['intent_id']}", headers=auth())
    deleted = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth())
    for resp, intent_type in ((chosen, "create_pending_intent"), (cancelled, "cancel_pending_intent"), (deleted, "delete_artifact")):
        assert resp.status_code in (200, 201), resp.get_json()
        execution = function_client(*READ).get(f"/v1/executions/{resp.get_json()['execution_id']}", headers=auth()).get_json()
        assert "status" in execution, (intent_type, resp.get_json(), execution)
        assert execution["status"] == "completed" and execution["intent_type"] == intent_type
        assert [s["stage"] for s in execution["stages"]][:3] == SEED_STAGES[:3]
        assert execution["stages"][-1]["stage"] == "complete_execution"


def test_the_supported_intents_are_listed_with_their_parameter_schemas(services, function_client, auth):
    resp = function_client(*READ).get("/v1/intents", headers=auth())
    assert resp.status_code == 200
    listed = {i["intent_type"]: i for i in resp.get_json()["intents"]}
    assert {"request_upload", "ingest_file", "parse_content", "save_materialization"} <= set(listed)
    assert "file_id" in listed["parse_content"]["parameters"]["properties"]
    assert "ui_name" in listed["request_upload"]["parameters"]["required"]
    assert "delete_artifact" not in listed  # internal intents have their own routes


def test_references_answer_which_artifact_an_object_is_and_where_it_came_from(services, function_client, auth):
    file_id = _ingest(function_client, auth()).get_json()["file_id"]
    artifact = services.store.get_artifact("tenant-a", file_id)
    read = function_client(*READ)
    resp = read.get("/v1/references", query_string={"uri": artifact.storage_location}, headers=auth())
    assert resp.status_code == 200
    (ref,) = resp.get_json()["references"]
    assert ref["artifact_id"] == file_id and ref["content_hash"] == artifact.file_hash and ref["size"] == artifact.file_size
    assert [p["artifact_id"] for p in ref["provenance"]] == [file_id] and ref["provenance"][0]["generation"] == 0
    by_artifact = read.get("/v1/references", query_string={"artifact_id": file_id}, headers=auth()).get_json()
    assert [r["uri"] for r in by_artifact["references"]] == [artifact.storage_location]
    other = read.get("/v1/references", query_string={"uri": artifact.storage_location}, headers=auth(tenant="tenant-b"))
    assert other.status_code == 200 and other.get_json()["references"] == []
    bad = read.get("/v1/references", query_string={"uri": "http://example.com/x"}, headers=auth())
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "INVALID_URI"
    # A delete takes the object's reference with it, in the same commit as the tombstone.
    assert function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth()).status_code == 200
    assert read.get("/v1/references", query_string={"uri": artifact.storage_location}, headers=auth()).get_json() == {
        "references": []}


def test_the_sweep_expires_artifacts_past_their_retention_and_leaves_a_tombstone(services, function_client, auth):
    expiring = _ingest(function_client, auth(), content=b"a\n1\n").get_json()["file_id"]
    kept = _ingest(function_client, auth(), content=b"b\n2\n").get_json()["file_id"]
    old = services.store.get_artifact("tenant-a", expiring)
    past = old.model_copy(update={"expires_at": utcnow() - timedelta(minutes=1)})
    services.store.run_in_transaction(lambda tx: tx.put_artifact(past))
    summary = sweep(services)
    assert summary["retention"] == {"expired": 1}
    tombstone = services.store.get_artifact("tenant-a", expiring)
    assert tombstone.lifecycle_state == LifecycleState.DELETED and tombstone.payload_state == PayloadState.EXPIRED
    assert tombstone.purge_at is not None and tombstone.purge_at > utcnow() and tombstone.materializations == []
    assert services.blobs.stat(*old.storage_location[5:].split("/", 1)) is None
    assert DataBrain.get_reference(services.store, "tenant-a", old.storage_location) is None
    assert services.store.get_artifact("tenant-a", kept).lifecycle_state == LifecycleState.PENDING
    assert sweep(services)["retention"] == {}  # a tombstone is not expired twice


def test_save_honours_the_boundary_contract_and_materialization_type_of_its_context(services, function_client, auth):
    file_id = _ingest(function_client, auth()).get_json()["file_id"]
    contract = services.store.get_artifact("tenant-a", file_id).boundary_contract_id
    save = function_client(*SAVE)
    wrong = save.post("/v1/intents/save_materialization", headers=auth(), json={
        "parameters": {"artifact_id": file_id}, "metadata": {"boundary_contract_id": "bc_someone_elses"}})
    assert wrong.status_code == 409 and wrong.get_json()["error_code"] == "BOUNDARY_CONTRACT_MISMATCH"
    right = save.post("/v1/intents/save_materialization", headers=auth(), json={
        "parameters": {"artifact_id": file_id}, "metadata": {"boundary_contract_id": contract, "materialization_type": "summary"}})
    assert right.status_code == 200, right.get_json()
    saved = services.store.get_artifact("tenant-a", file_id)
    assert [m.materialization_type for m in saved.materializations if m.persistent] == ["summary"]


def test_every_intent_route_honours_idempotency_keys(services, function_client, auth):
    """Starting a journey or choosing a profile twice with one Idempotency-Key has one effect and one answer."""
    file_id = _ingest(function_client, auth()).get_json()["file_id"]
    profile = function_client(*PROFILE)
    choice = {"intent_type": "parse_content", "target_artifact_id": file_id, "context": {"ingestion_profile": "hybrid"}}
    first = profile.post("/v1/pending-intents", headers=auth(**{"Idempotency-Key": "choose-1"}), json=choice)
    again = profile.post("/v1/pending-intents", headers=auth(**{"Idempotency-Key": "choose-1"}), json=choice)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    listed = profile.get("/v1/pending-intents", query_string={"target_artifact_id": file_id}, headers=auth()).get_json()
    assert [i["intent_id"] for i in listed["intents"]] == [first.get_json()["intent_id"]]  # nothing superseded
    other = profile.post("/v1/pending-intents", headers=auth(**{"Idempotency-Key": "choose-1"}),
                         json={**choice, "context": {"ingestion_profile": "structured"}})
    assert other.status_code == 422 and other.get_json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"

    journey = {"file_id": file_id, "ingestion_profile": "hybrid", "save": "manual"}
    started = profile.post("/v1/journeys", headers=auth(**{"Idempotency-Key": "journey-1"}), json=journey)
    replayed = profile.post("/v1/journeys", headers=auth(**{"Idempotency-Key": "journey-1"}), json=journey)
    assert started.status_code == replayed.status_code == 201, started.get_json()
    assert started.get_json()["journey_id"] == replayed.get_json()["journey_id"]
