"""DELETE /v1/artifacts/{id} against the emulators: refusal with live children, payload removal, tombstones."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from shared.bootstrap import Services
from shared.domain.lineage import derived_lineage
from shared.domain.models import Artifact, Materialization, PendingIntent, ProducedBy, utcnow
from shared.domain.states import IntentStatus, LifecycleState, PayloadState
from shared.usecases.objects import gs_uri, parsed_prefix, record_prefix, split_gs_uri

INGEST = ("ingest", "ingest_http")
SAVE = ("save", "save_http")
READ = ("read_api", "read_http")
TENANT = "tenant-a"


def put(services: Services, artifact: Artifact) -> Artifact:
    services.store.run_in_transaction(lambda tx: tx.put_artifact(artifact))
    return artifact


def ingest(function_client, auth, content: bytes = b"id,name\n1,alpha\n") -> str:
    resp = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "people.csv", "file_content": content.hex()}},
        headers=auth())
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["file_id"]


def make_parsed(services: Services, parent: Artifact) -> Artifact:
    s = services.settings
    parsed_id = f"parsed_{uuid.uuid4().hex}"
    name = parsed_prefix(parent.tenant_id, parsed_id) + "chunks.jsonl"
    data = (json.dumps({"chunk_index": 0, "text": "alpha"}) + "\n").encode()
    services.blobs.write_bytes_if_absent(s.derived_bucket, name, data, "application/x-ndjson")
    uri = gs_uri(s.derived_bucket, name)
    return put(services, Artifact(
        artifact_id=parsed_id, artifact_type="parsed_content", tenant_id=parent.tenant_id, session_id=parent.session_id,
        storage_location=uri, boundary_contract_id=parent.boundary_contract_id,
        materializations=[Materialization(materialization_id=f"mat_{parsed_id}_0", uri=uri, format="jsonl")],
        produced_by=ProducedBy(intent="parse_content", execution_id="exec_parse"),
        lineage=derived_lineage([parent], "parse_content", "run_1"), parent_artifacts=[parent.artifact_id],
        regenerable=True, expires_at=utcnow() + timedelta(days=7),
        outputs=[{"name": "chunks.jsonl", "uri": uri, "format": "jsonl", "content_type": "application/x-ndjson",
                  "record_count": 1, "bytes_written": len(data)}],
    ))


def delete(function_client, auth, artifact_id: str, tenant: str = TENANT):
    return function_client(*SAVE).delete(f"/v1/artifacts/{artifact_id}", headers=auth(tenant=tenant))


def save(function_client, auth, artifact_id: str):
    resp = function_client(*SAVE).post("/v1/intents/save_materialization",
                                       json={"parameters": {"artifact_id": artifact_id}}, headers=auth())
    assert resp.status_code == 200, resp.get_json()


def exists(services: Services, uri: str) -> bool:
    return services.blobs.stat(*split_gs_uri(uri)) is not None


def deleted_events(services: Services, artifact_id: str) -> list:
    return [r for r in services.store.outbox_records()
            if r.payload.get("event_type") == "artifact_deleted" and r.payload["data"]["artifact_id"] == artifact_id]


def test_delete_is_refused_while_live_derived_artifacts_exist(services, function_client, auth):
    file_id = ingest(function_client, auth)
    file = services.store.get_artifact(TENANT, file_id)
    child = make_parsed(services, file)

    resp = delete(function_client, auth, file_id)

    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error_code"] == "HAS_DERIVED_ARTIFACTS" and child.artifact_id in body["error"]
    assert body["details"] == {"derived_artifacts": [child.artifact_id]}
    assert body["intent_type"] == "delete_artifact" and body["execution_id"]
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state == LifecycleState.PENDING
    assert exists(services, file.storage_location) and exists(services, child.storage_location)
    assert deleted_events(services, file_id) == []


def test_delete_removes_every_payload_and_leaves_a_tombstone_that_lineage_resolves(
        services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth)
    save(function_client, auth, file_id)
    file = services.store.get_artifact(TENANT, file_id)
    child = make_parsed(services, file)
    save(function_client, auth, child.artifact_id)
    saved_child = services.store.get_artifact(TENANT, child.artifact_id)
    payload_uris = [m.uri for a in (file, saved_child) for m in a.materializations]
    assert {split_gs_uri(u)[0] for u in payload_uris} == {
        services.settings.uploads_bucket, services.settings.derived_bucket, services.settings.records_bucket}

    child_resp = delete(function_client, auth, child.artifact_id)
    assert child_resp.status_code == 200, child_resp.get_json()
    parent_resp = delete(function_client, auth, file_id)  # no live child any more
    assert parent_resp.status_code == 200, parent_resp.get_json()

    assert not any(exists(services, uri) for uri in payload_uris)
    for prefix in (record_prefix(TENANT, file_id), record_prefix(TENANT, child.artifact_id)):
        assert services.blobs.list_names(services.settings.records_bucket, prefix) == []
    tombstone = services.store.get_artifact(TENANT, file_id)
    assert tombstone.lifecycle_state == LifecycleState.DELETED and tombstone.payload_state == PayloadState.DELETED
    assert tombstone.deleted_at is not None and tombstone.materializations == []
    body = parent_resp.get_json()
    assert body["lifecycle_state"] == "DELETED" and body["payload_state"] == "deleted" and body["deleted_at"]

    read = function_client(*READ)
    lineage = read.get(f"/v1/artifacts/{child.artifact_id}/lineage", headers=auth()).get_json()
    assert [(c["artifact_id"], c["lifecycle_state"]) for c in lineage["chain"]] == [
        (child.artifact_id, "DELETED"), (file_id, "DELETED")]
    assert lineage["chain"][0]["derived_from"] == [file_id] and lineage["chain"][0]["generation"] == 1
    doc = read.get(f"/v1/artifacts/{file_id}", headers=auth())
    assert doc.status_code == 200 and doc.get_json()["payload_state"] == "deleted"
    payload = read.get(f"/v1/artifacts/{file_id}?include_payload=true", headers=auth())
    assert payload.status_code == 409 and payload.get_json()["error_code"] == "PAYLOAD_DELETED"
    event_tap.wait_for("artifact_deleted", predicate=lambda e: e.json()["data"]["artifact_id"] == file_id)


def test_deleting_a_tombstone_again_returns_the_same_body_and_no_second_event(services, function_client, auth):
    file_id = ingest(function_client, auth)
    first = delete(function_client, auth, file_id)
    assert first.status_code == 200

    second = delete(function_client, auth, file_id)

    assert second.status_code == 200
    assert {k: v for k, v in second.get_json().items() if k != "execution_id"} == {
        k: v for k, v in first.get_json().items() if k != "execution_id"}
    assert len(deleted_events(services, file_id)) == 1


def test_a_deleted_child_no_longer_blocks_its_parent_and_deleted_children_stay_listed_as_tombstones(
        services, function_client, auth):
    file_id = ingest(function_client, auth)
    child = make_parsed(services, services.store.get_artifact(TENANT, file_id))
    assert delete(function_client, auth, file_id).status_code == 409
    assert delete(function_client, auth, child.artifact_id).status_code == 200
    assert delete(function_client, auth, file_id).status_code == 200
    listed = function_client(*READ).get("/v1/artifacts?lifecycle_state=DELETED", headers=auth()).get_json()
    assert {a["artifact_id"] for a in listed["artifacts"]} == {file_id, child.artifact_id}


def test_unknown_or_other_tenants_artifacts_are_404_and_untouched(services, function_client, auth):
    file_id = ingest(function_client, auth)
    for artifact_id, tenant in ((file_id, "tenant-b"), ("file_never_was", TENANT)):
        resp = delete(function_client, auth, artifact_id, tenant=tenant)
        assert resp.status_code == 404 and resp.get_json()["error_code"] == "ARTIFACT_NOT_FOUND"
    file = services.store.get_artifact(TENANT, file_id)
    assert file.lifecycle_state == LifecycleState.PENDING and exists(services, file.storage_location)


def test_pending_intents_on_a_deleted_file_are_cancelled_and_a_running_parse_blocks_deletion(
        services, function_client, auth):
    file_id = ingest(function_client, auth)
    pending = PendingIntent(intent_id=f"intent_{uuid.uuid4().hex}", tenant_id=TENANT, session_id="session-1",
                            target_artifact_id=file_id, context={"ingestion_profile": "structured"})
    running = pending.model_copy(update={"intent_id": f"intent_{uuid.uuid4().hex}", "status": IntentStatus.IN_PROGRESS})
    services.store.run_in_transaction(lambda tx: (tx.put_intent(pending), tx.put_intent(running)))

    blocked = delete(function_client, auth, file_id)
    assert blocked.status_code == 409 and blocked.get_json()["error_code"] == "DERIVATION_IN_PROGRESS"
    assert exists(services, services.store.get_artifact(TENANT, file_id).storage_location)

    done = running.model_copy(update={"status": IntentStatus.COMPLETED})
    services.store.run_in_transaction(lambda tx: tx.put_intent(done))
    assert delete(function_client, auth, file_id).status_code == 200
    cancelled = services.store.get_intent(TENANT, pending.intent_id)
    assert cancelled.status == IntentStatus.CANCELLED and cancelled.error_code == "TARGET_DELETED"
    assert services.store.get_intent(TENANT, running.intent_id).status == IntentStatus.COMPLETED
