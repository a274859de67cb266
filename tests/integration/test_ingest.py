"""Ingest (issue 3): the seed's proof tests, signed uploads, the finalize handler under duplicates, races and
hostile input, and tenant isolation."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from shared.adapters.firestore_references import artifact_of
from shared.bootstrap import messagebus
from shared.domain.errors import FILE_TOO_LARGE_MESSAGE, IllegalTransition
from shared.domain.lineage import root_lineage
from shared.domain.models import ProducedBy
from shared.domain.states import LifecycleState, UploadStatus
from shared.runtime.context import Result

INGEST = ("ingest", "ingest_http")
FINALIZE = ("ingest", "on_upload_finalized", "cloudevent")
SOURCE = "//storage.googleapis.com/projects/_/buckets/local-uploads"


def ingest_inline(client, headers, content: bytes, **params):
    body = {"parameters": {"ui_name": "data.csv", "file_content": content.hex(), **params}}
    return client.post("/v1/intents/ingest_file", json=body, headers=headers)


def request_upload(client, headers, size=8, mime="text/csv", **params):
    body = {"parameters": {"ui_name": "data.csv", "file_size": size, "mime_type": mime, **params}}
    resp = client.post("/v1/intents/request_upload", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def put(upload, data: bytes):
    resp = requests.put(upload["upload_url"], data=data, headers=upload["headers"], timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def finalize_event(client, obj: dict, event_id: str = "evt-1"):
    data = {"bucket": obj["bucket"], "name": obj["name"], "generation": str(obj["generation"]), "size": str(obj["size"]),
            "contentType": obj.get("contentType"), "metageneration": "1", "kind": "storage#object"}
    headers = {"ce-id": event_id, "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.finalized",
               "ce-source": SOURCE, "ce-subject": f"objects/{obj['name']}", "Content-Type": "application/json"}
    return client.post("/", json=data, headers=headers)


def artifacts_of(services, tenant="tenant-a"):
    return [artifact_of(s.to_dict()) for s in services.store.tenant(tenant).collection("artifacts").stream()]


def events_of(services, event_type):
    return [r for r in services.store.outbox_records() if r.payload.get("event_type") == event_type]


# ---- the seed's proof tests -------------------------------------------------------------------------------------

def test_ingest_file_cannot_materialize(services, function_client, auth):
    resp = ingest_inline(function_client(*INGEST), auth(), b"id,name\n1,a\n")
    assert resp.status_code == 201
    payload = resp.get_json()["artifacts"]["artifact"]["semantic_payload"]
    assert payload["lifecycle_state"] == "PENDING" and payload["materialization_pending"] is True
    artifact = services.store.get_artifact("tenant-a", payload["artifact_id"])
    assert artifact.lifecycle_state == LifecycleState.PENDING
    assert artifact.materializations and not any(m.persistent for m in artifact.materializations)
    assert services.blobs.list_names(services.settings.records_bucket, "") == []  # no persistent copy anywhere
    # And the runtime refuses an ingest step that tries to materialize, before anything is written.
    ready = artifact.model_copy(update={"artifact_id": "file_sneaky", "lifecycle_state": LifecycleState.READY})
    with pytest.raises(IllegalTransition) as err:
        messagebus(services).unit_of_work().resume("tenant-a", resp.get_json()["execution_id"], "ingest_file",
                                                   session_id="s", user_id="u").commit(lambda tx: Result(artifacts=[ready]))
    assert err.value.code == "MATERIALIZATION_FORBIDDEN"
    assert services.store.get_artifact("tenant-a", "file_sneaky") is None


def test_ingest_file_large_payload_rejected(services, function_client, auth):
    from shared.domain.intents import Intent
    from shared.edges.http import outcome_response

    huge = "00" * (104_857_600 + 1)
    status, body = outcome_response(messagebus(services).execute(Intent(
        intent_id="i", intent_type="ingest_file", tenant_id="tenant-a", session_id="s", user_id="u",
        parameters={"ui_name": "big.bin", "file_content": huge})))
    assert status == 413
    assert body["error"] == FILE_TOO_LARGE_MESSAGE and body["error_code"] == "FILE_TOO_LARGE"
    del huge
    declared = function_client(*INGEST).post("/v1/intents/request_upload", headers=auth(), json={
        "parameters": {"ui_name": "big.bin", "file_size": 104_857_601, "mime_type": "application/octet-stream"}})
    assert declared.status_code == 413 and declared.get_json()["error"] == FILE_TOO_LARGE_MESSAGE
    assert artifacts_of(services) == []


def test_inline_payload_over_the_request_budget_points_to_request_upload(services, function_client, auth):
    too_big_inline = b"\x01" * (services.settings.inline_max_bytes + 1)
    resp = ingest_inline(function_client(*INGEST), auth(), too_big_inline)
    assert resp.status_code == 413
    assert resp.get_json()["error_code"] == "INLINE_PAYLOAD_TOO_LARGE" and "request_upload" in resp.get_json()["error"]


def test_ingest_file_idempotency(services, function_client, auth):
    client = function_client(*INGEST)
    first = ingest_inline(client, auth(session="s1"), b"same bytes").get_json()
    again = ingest_inline(client, auth(session="s1"), b"same bytes").get_json()
    other_session = ingest_inline(client, auth(session="s2"), b"same bytes").get_json()
    other_tenant = ingest_inline(client, auth(tenant="tenant-b", session="s1"), b"same bytes").get_json()
    assert first["file_id"] == again["file_id"] and again["deduplicated"] is True
    assert first["artifacts"]["artifact"]["semantic_payload"]["boundary_contract_id"] == \
        again["artifacts"]["artifact"]["semantic_payload"]["boundary_contract_id"]
    assert other_session["file_id"] != first["file_id"]
    assert other_tenant["file_id"] != first["file_id"] and other_tenant["deduplicated"] is False
    assert len(artifacts_of(services)) == 2 and len(artifacts_of(services, "tenant-b")) == 1
    stored = services.blobs.list_names(services.settings.uploads_bucket, "tenants/tenant-a/sessions/s1/")
    assert len(stored) == 1  # no second stored copy
    assert len([e for e in events_of(services, "artifact_ingested") if e.payload["tenant_id"] == "tenant-a"]) == 2


def test_ingest_file_direct_api_call_fails(services, function_client, auth):
    client = function_client(*INGEST)
    for path in ("/api/v1/content/upload-file", "/api/operations/upload", "/v1/upload"):
        resp = client.post(path, data=b"x", headers=auth())
        assert resp.status_code == 404
        assert resp.get_json()["error_code"] == "ROUTE_NOT_FOUND"


# ---- inline variants ---------------------------------------------------------------------------------------------

def test_seed_success_shape_carries_every_guaranteed_output(services, function_client, auth):
    body = ingest_inline(function_client(*INGEST), auth(session="s9"), b"a,b\n1,2\n", mime_type="text/csv").get_json()
    payload = body["artifacts"]["artifact"]["semantic_payload"]
    assert body["artifacts"]["artifact"]["result_type"] == "artifact"
    for key in ("artifact_id", "artifact_type", "lifecycle_state", "file_reference", "storage_location",
                "boundary_contract_id", "materialization_pending", "file_size", "file_hash", "content_fingerprint", "created_at"):
        assert payload[key] is not None, key
    assert payload["file_reference"] == f"file:tenant-a:s9:{payload['artifact_id']}"
    assert payload["storage_location"].startswith("gs://local-uploads/tenants/tenant-a/sessions/s9/")
    assert payload["file_hash"].startswith("sha256:") and payload["file_size"] == 8
    assert body["events"] == [{"type": "artifact_ingested", "artifact_id": payload["artifact_id"], "artifact_type": "file",
                               "ingestion_type": "upload"}]
    artifact = services.store.get_artifact("tenant-a", payload["artifact_id"])
    assert artifact.produced_by == ProducedBy(intent="ingest_file", execution_id=body["execution_id"])
    assert artifact.semantic_descriptor.model_dump(by_alias=True)["schema"] == "file_v1"
    assert artifact.lineage == root_lineage(artifact.artifact_id) and artifact.parent_artifacts == []


def test_edi_and_api_ingestion_types(services, function_client, auth):
    client = function_client(*INGEST)
    x12 = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *210101*1200*U*00401*000000001*0*P*>~"
    edi = client.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "po.edi", "ingestion_type": "edi", "edi_data": x12.hex(), "partner_id": "ACME"}}).get_json()
    artifact = services.store.get_artifact("tenant-a", edi["file_id"])
    assert artifact.ingestion_type == "edi" and artifact.source_metadata["partner_id"] == "ACME"
    assert artifact.source_metadata["edi_protocol"] == "as2"
    api = client.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "orders", "ingestion_type": "api", "api_payload": {"orders": [1, 2]}, "endpoint": "/orders"}}).get_json()
    artifact = services.store.get_artifact("tenant-a", api["file_id"])
    assert artifact.mime_type == "application/json" and artifact.source_metadata["api_type"] == "rest"
    missing_partner = client.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "po.edi", "ingestion_type": "edi", "edi_data": x12.hex()}})
    assert missing_partner.status_code == 422 and missing_partner.get_json()["error_code"] == "MISSING_PARTNER_ID"


# ---- signed uploads and finalize ---------------------------------------------------------------------------------

def test_signed_url_pins_type_size_range_expiry_and_a_server_chosen_name(services, function_client, auth):
    upload = request_upload(function_client(*INGEST), auth(), filename="../../etc/passwd", ui_name="../../etc/passwd")
    url = urlparse(upload["upload_url"])
    query = parse_qs(url.query)
    signed = query["X-Goog-SignedHeaders"][0].split(";")
    assert {"content-type", "host", "x-goog-content-length-range", "x-goog-if-generation-match"} <= set(signed)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert int(query["X-Goog-Expires"][0]) == services.settings.upload_url_ttl_seconds <= 3600
    assert upload["headers"] == {"Content-Type": "text/csv", "x-goog-content-length-range": "0,104857600",
                                 "x-goog-if-generation-match": "0"}
    assert upload["method"] == "PUT"
    assert upload["object_name"] == f"tenants/tenant-a/sessions/session-1/uploads/{upload['upload_id']}"
    assert "passwd" not in url.path and ".." not in url.path
    stored = put(upload, b"a,b\n1,2\n")
    assert stored["name"] == upload["object_name"] and stored["contentType"] == "text/csv"


def test_finalize_registers_a_pending_file_with_every_output(services, function_client, auth):
    client = function_client(*INGEST)
    upload = request_upload(client, auth(), ui_name="Report.csv", filename="Report.csv")
    obj = put(upload, b"a,b\n1,2\n")
    assert finalize_event(function_client(*FINALIZE), obj).status_code == 200
    status = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth()).get_json()
    assert status["status"] == "ingested"
    artifact = services.store.get_artifact("tenant-a", status["file_id"])
    assert artifact.lifecycle_state == LifecycleState.PENDING and artifact.materialization_pending
    assert artifact.storage_location == f"gs://local-uploads/{upload['object_name']}"
    assert artifact.detected_type == "csv" and artifact.filename == "Report.csv"
    assert artifact.file_hash.startswith("sha256:") and artifact.content_fingerprint
    assert artifact.boundary_contract_id.startswith("bc_")
    assert len(events_of(services, "artifact_ingested")) == 1


def test_redelivered_finalize_is_a_no_op(services, function_client, auth):
    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"a,b\n1,2\n")
    fin = function_client(*FINALIZE)
    for event_id in ("evt-1", "evt-1", "evt-2"):  # same CloudEvent id; then same bucket/name/generation
        assert finalize_event(fin, obj, event_id).status_code == 200
    assert len(artifacts_of(services)) == 1
    assert len(events_of(services, "artifact_ingested")) == 1
    own = [s for s in services.store.tenant("tenant-a").collection("executions").stream()
           if s.to_dict()["intent_type"] == "ingest_file"]
    kept = [e for s in services.store.tenant("tenant-a").collection("uploads").stream()
            for e in (s.to_dict().get("executions") or {}).values() if e["intent_type"] == "ingest_file"]
    assert len(own) + len(kept) == 1  # one ingest, kept in its upload record


def test_finalize_commits_in_one_batch_and_a_redelivery_writes_nothing(services, function_client, auth):
    """The cost bench/ingest reports, pinned: a new file is one read and one atomic batch (no transaction to begin,
    no delivery mark); a duplicate costs two reads (its upload, and the held messages it sends again) and no write."""
    from dev.bus_calls import finalize
    from dev.firestore_meter import FirestoreMeter
    from shared.domain.messages import StorageObjectData

    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"a,b\n1,2\n")
    data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]), size=int(obj["size"]))
    with FirestoreMeter() as first:
        assert finalize(services, "evt-1", SOURCE, data).outcome == "ingested"
    # The batch holds two documents: the upload record (its state change, the ingest's execution, which opens and
    # ends with it, and the messages held for Eventarc's retry) and the file (with its Data Brain reference in its
    # document). The upload is read once, before the batch, which writes it only if it is still that version; new
    # bytes are created with a create-only write, so the file is not read. The held messages need no delivery mark.
    # No claim, no dedup keys: the upload keeps its generation.
    assert first.transactions == 0 and first.rpcs["commit"] == 1
    assert first.reads == 1 and first.writes == 2 and set(first.written) == {"tenants/*/uploads", "tenants/*/artifacts"}
    assert [s.id for s in services.store.client.collection("outbox").stream()] == []
    ingested = services.store.get_upload("tenant-a", upload["upload_id"])
    (held,) = [r for r in services.store.outbox_records() if r.kind == "event"]
    assert held.status == "trigger" and held.document_id == f"tenants/tenant-a/uploads/{ingested.upload_id}"
    execution = services.store.get_execution("tenant-a", ingested.ingest_execution_id)  # read from the record
    assert execution.status.value == "completed" and execution.intent_type == "ingest_file"
    for event_id in ("evt-1", "evt-2"):
        with FirestoreMeter() as again:
            assert finalize(services, event_id, SOURCE, data).outcome == "duplicate"
        assert again.writes == 0 and again.transactions == 0
        assert again.rpcs == {"batch_get_documents": 2}


def test_a_finalize_that_dies_before_its_messages_leave_is_completed_by_the_events_retry(services, function_client,
                                                                                          auth, event_tap):
    """Its commit holds the messages for the trigger: the sweep leaves them alone, and Eventarc's retry (the same
    event again) finds the file ingested and sends them, once per retry, under the same event ids."""
    from dev.bus_calls import finalize
    from shared.domain.messages import StorageObjectData
    from tests.integration.test_outbox import SimulatedCrash, crashing_services

    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"k,v\n7,8\n")
    data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]), size=int(obj["size"]))
    with pytest.raises(SimulatedCrash):
        finalize(crashing_services(services, "before_publish"), "evt-1", SOURCE, data)
    assert len(artifacts_of(services)) == 1  # committed
    assert services.relay.sweep(grace_seconds=0).delivered == []  # held for the trigger, not swept
    assert event_tap.pull(timeout=1.5) == []  # nothing left yet

    assert finalize(services, "evt-1", SOURCE, data).outcome == "duplicate"  # Eventarc's retry
    ingested = [e for e in event_tap.pull(timeout=3, min_count=1) if e.event_type == "artifact_ingested"]
    assert len(ingested) == 1 and ingested[0].json()["data"]["upload_id"] == upload["upload_id"]
    assert len(artifacts_of(services)) == 1


def test_a_finalize_whose_messages_cannot_be_sent_fails_so_that_eventarc_retries(services, function_client, auth,
                                                                                 event_tap):
    """Pub/Sub refusing the event fails the finalize (5xx: Eventarc retries) though the file is ingested; the
    execution keeps its completed end, and the retry sends the messages."""
    from dev.bus_calls import finalize
    from shared.bootstrap import Services
    from shared.domain.errors import TransientError
    from shared.domain.messages import StorageObjectData
    from shared.runtime.outbox import OutboxRelay

    class Down:
        def publish(self, event):
            raise ConnectionError("pubsub is down")

    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"m,n\n9,0\n")
    data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]), size=int(obj["size"]))
    relay = OutboxRelay(services.store, Down(), services.queue)
    down = Services(services.settings, store=services.store, blobs=services.blobs, publisher=Down(),
                    queue=services.queue, verifier=services.verifier, relay=relay)
    with pytest.raises(TransientError):
        finalize(down, "evt-1", SOURCE, data)
    (file,) = artifacts_of(services)
    execution = services.store.get_execution("tenant-a", file.produced_by.execution_id)
    assert execution.status.value == "completed"

    assert finalize(services, "evt-1", SOURCE, data).outcome == "duplicate"
    ingested = [e for e in event_tap.pull(timeout=3, min_count=1) if e.event_type == "artifact_ingested"]
    assert [e.json()["data"]["artifact_id"] for e in ingested] == [file.artifact_id]


def test_a_finalize_that_loses_its_upload_to_another_delivery_after_reading_it_ingests_nothing_twice(
        services, function_client, auth, monkeypatch):
    """The batch is conditioned on the upload as read: a delivery that read it before another one moved it fails
    its commit whole (no artifact, no event of its own) and decides again on what the winner wrote."""
    from dev.bus_calls import finalize
    from shared.domain.messages import StorageObjectData

    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"p,q\n5,6\n")
    data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]), size=int(obj["size"]))
    store = services.store
    real_read = store.read_upload
    stale = real_read("tenant-a", upload["upload_id"])  # read while it still awaits its upload
    reads: list[str] = []

    def read_once_stale(tenant_id, upload_id):
        reads.append(upload_id)
        return stale if len(reads) == 1 else real_read(tenant_id, upload_id)

    assert finalize(services, "evt-winner", SOURCE, data).outcome == "ingested"
    monkeypatch.setattr(store, "read_upload", read_once_stale)
    assert finalize(services, "evt-loser", SOURCE, data).outcome == "duplicate"
    assert reads  # it did decide on the stale record first
    assert len(artifacts_of(services)) == 1 and len(events_of(services, "artifact_ingested")) == 1


def test_concurrent_finalize_deliveries_register_one_artifact(services, function_client, auth):
    from dev.bus_calls import finalize
    from shared.domain.messages import StorageObjectData

    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"x,y\n3,4\n")
    data = StorageObjectData(bucket=obj["bucket"], name=obj["name"], generation=str(obj["generation"]), size=int(obj["size"]))
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(finalize(services, f"evt-{i}", SOURCE, data)))
               for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.outcome for r in results).count("ingested") == 1
    assert len(artifacts_of(services)) == 1 and len(events_of(services, "artifact_ingested")) == 1


def test_same_bytes_uploaded_twice_in_a_session_share_one_file_and_one_copy(services, function_client, auth):
    client, fin = function_client(*INGEST), function_client(*FINALIZE)
    first, second = request_upload(client, auth()), request_upload(client, auth())
    finalize_event(fin, put(first, b"dup,dup\n"), "e1")
    finalize_event(fin, put(second, b"dup,dup\n"), "e2")
    s1 = client.get(f"/v1/uploads/{first['upload_id']}", headers=auth()).get_json()
    s2 = client.get(f"/v1/uploads/{second['upload_id']}", headers=auth()).get_json()
    assert s1["status"] == s2["status"] == "ingested" and s1["file_id"] == s2["file_id"]
    names = services.blobs.list_names(services.settings.uploads_bucket, "tenants/tenant-a/")
    assert names == [first["object_name"]]


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (None, "exceeds 100MB"),
])
def test_empty_and_oversized_objects_are_rejected_with_a_reason(services, function_client, auth, data, reason):
    client = function_client(*INGEST)
    upload = request_upload(client, auth(), size=1)
    if data is None:
        blob = services.blobs.client.bucket(upload["bucket"]).blob(upload["object_name"])
        blob.upload_from_string(b"\0" * (104_857_600 + 1), content_type="text/csv")
        blob.reload()
        obj = {"bucket": upload["bucket"], "name": upload["object_name"], "generation": blob.generation, "size": blob.size}
    else:
        obj = put(upload, data)
    assert finalize_event(function_client(*FINALIZE), obj).status_code == 200
    status = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth()).get_json()
    assert status["status"] == UploadStatus.REJECTED.value and reason in status["reason"]
    assert artifacts_of(services) == []
    assert services.blobs.stat(upload["bucket"], upload["object_name"]) is None  # rejected bytes are not kept


def test_objects_without_upload_record_or_outside_layout_are_ignored_with_a_recorded_reason(services, function_client):
    fin = function_client(*FINALIZE)
    bucket = services.settings.uploads_bucket
    for name in ("tenants/tenant-a/sessions/s/uploads/upl_forged", "random/file.csv"):
        services.blobs.write_bytes_if_absent(bucket, name, b"data", "text/csv")
        info = services.blobs.stat(bucket, name)
        obj = {"bucket": bucket, "name": name, "generation": info.generation, "size": info.size}
        assert finalize_event(fin, obj, f"e-{name}").status_code == 200
    assert artifacts_of(services) == []
    reasons = sorted(s.to_dict()["reason"] for s in services.store.client.collection("dedup").stream())
    assert "no upload record for this object" in reasons and "object is outside the uploads layout" in reasons


def test_an_object_deleted_before_its_event_arrives_is_ignored_with_a_reason(services, function_client, auth):
    upload = request_upload(function_client(*INGEST), auth())
    obj = put(upload, b"a,b\n1,2\n")
    assert services.blobs.delete(obj["bucket"], obj["name"])
    assert finalize_event(function_client(*FINALIZE), obj).status_code == 200
    assert artifacts_of(services) == []
    reasons = [s.to_dict()["reason"] for s in services.store.client.collection("dedup").stream()]
    assert reasons == [f"generation {obj['generation']} no longer exists"] * 2  # bucket/name/generation and event id


def test_overwrite_after_ingestion_is_ignored_not_reingested(services, function_client, auth):
    client, fin = function_client(*INGEST), function_client(*FINALIZE)
    upload = request_upload(client, auth())
    finalize_event(fin, put(upload, b"v1,v1\n"), "e1")
    before = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth()).get_json()
    overwritten = put(upload, b"v2,v2\n")  # the emulator does not enforce the signed create-only precondition
    assert finalize_event(fin, overwritten, "e2").status_code == 200
    after = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth()).get_json()
    assert after == before and len(artifacts_of(services)) == 1


def test_another_tenant_cannot_see_an_upload(services, function_client, auth):
    client = function_client(*INGEST)
    upload = request_upload(client, auth(tenant="tenant-a"))
    resp = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth(tenant="tenant-b"))
    assert resp.status_code == 404 and resp.get_json()["error_code"] == "UPLOAD_NOT_FOUND"
    assert client.get("/v1/uploads/..%2F..%2Fx", headers=auth()).status_code == 404


@pytest.mark.parametrize("hostile", ["../../../../etc/passwd", "a\u0000b\u0007c.csv", "x" * 900 + ".csv", "報告書 ✓.csv", "CON"])
def test_hostile_filenames_never_reach_object_names(services, function_client, auth, hostile):
    client = function_client(*INGEST)
    upload = request_upload(client, auth(), filename=hostile, ui_name="report.csv")  # ui_name is refused, not cleaned
    assert upload["object_name"].endswith(upload["upload_id"]) and hostile not in upload["upload_url"]
    finalize_event(function_client(*FINALIZE), put(upload, b"k,v\n1,2\n"))
    status = client.get(f"/v1/uploads/{upload['upload_id']}", headers=auth()).get_json()
    artifact = services.store.get_artifact("tenant-a", status["file_id"])
    assert "/" not in artifact.filename and "\x00" not in artifact.filename and len(artifact.filename) <= 255


def test_asking_for_an_upload_is_one_write_and_its_execution_is_kept_in_the_record(services, function_client, auth):
    """request_upload's execution opens and ends in the commit that creates the upload record, so the record keeps
    it (no execution document); the read API still answers for it, and another tenant still gets 404."""
    from dev.firestore_meter import FirestoreMeter

    with FirestoreMeter() as meter:
        upload = request_upload(function_client(*INGEST), auth())
    assert meter.writes == 1 and set(meter.written) == {"tenants/*/uploads"}
    assert meter.rpcs == {"commit": 1} and meter.transactions == 0  # it reads nothing: one batch
    assert [s.id for s in services.store.tenant("tenant-a").collection("executions").stream()] == []
    read = function_client("read_api", "read_http")
    body = read.get(f"/v1/executions/{upload['execution_id']}", headers=auth()).get_json()
    assert body["intent_type"] == "request_upload" and body["status"] == "completed"
    assert body["result"]["upload_id"] == upload["upload_id"]
    assert read.get(f"/v1/executions/{upload['execution_id']}", headers=auth(tenant="tenant-b")).status_code == 404
    assert services.store.get_upload("tenant-a", upload["upload_id"]).execution_id == upload["execution_id"]
