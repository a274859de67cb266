"""References that never go stale: every path that deletes bytes forgets their Data Brain references, the storage
OBJECT_DELETE consumer covers what the bucket lifecycle removes, and the sweep's reconciler fixes whatever drift is
left (and reports it on the "sweep finished" line that the reference_drift metric reads)."""

from __future__ import annotations

from datetime import timedelta

from shared.bootstrap import Services, messagebus
from shared.domain.messages import RunSweep
from shared.domain.models import utcnow
from shared.usecases.objects import split_gs_uri

INGEST = ("ingest", "ingest_http")
SAVE = ("save", "save_http")
READ = ("read_api", "read_http")
DELETED = ("outbox_relay", "on_object_deleted")
TENANT = "tenant-a"


def ingest(function_client, auth, content: bytes) -> str:
    resp = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "people.csv", "file_content": content.hex()}},
        headers=auth())
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["file_id"]


def references(function_client, auth, uri: str) -> list[dict]:
    resp = function_client(*READ).get("/v1/references", query_string={"uri": uri}, headers=auth())
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["references"]


def deleted_event(client, bucket: str, name: str, generation: str, event_id: str = "del-1"):
    """What Eventarc delivers for google.cloud.storage.object.v1.deleted: the object resource as data."""
    data = {"bucket": bucket, "name": name, "generation": generation, "metageneration": "1", "kind": "storage#object"}
    headers = {"ce-id": event_id, "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.deleted",
               "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}", "ce-subject": f"objects/{name}",
               "Content-Type": "application/json"}
    return client.post("/", json=data, headers=headers)


def location(services: Services, file_id: str) -> str:
    return services.store.get_artifact(TENANT, file_id).storage_location


def test_an_object_the_bucket_lifecycle_deletes_loses_its_reference(services, function_client, auth):
    file_id = ingest(function_client, auth, b"a,b\n1,2\n")
    uri = location(services, file_id)
    assert [r["artifact_id"] for r in references(function_client, auth, uri)] == [file_id]
    bucket, name = split_gs_uri(uri)
    generation = services.blobs.stat(bucket, name).generation
    services.blobs.delete(bucket, name)  # what the lifecycle rule does, without asking us

    resp = deleted_event(function_client(*DELETED, signature_type="cloudevent"), bucket, name, generation)

    assert resp.status_code == 200
    assert references(function_client, auth, uri) == []
    # A redelivery is a no-op.
    assert deleted_event(function_client(*DELETED, signature_type="cloudevent"), bucket, name, generation).status_code == 200


def test_a_delete_notification_for_an_object_that_still_exists_keeps_its_reference(services, function_client, auth):
    file_id = ingest(function_client, auth, b"a,b\n3,4\n")
    uri = location(services, file_id)
    bucket, name = split_gs_uri(uri)

    resp = deleted_event(function_client(*DELETED, signature_type="cloudevent"), bucket, name, "1")  # an old generation

    assert resp.status_code == 200
    assert [r["artifact_id"] for r in references(function_client, auth, uri)] == [file_id]


def test_the_sweep_reconciles_references_whose_objects_vanished_and_reports_the_drift(services, function_client, auth):
    kept = ingest(function_client, auth, b"a,b\n5,6\n")
    lost = ingest(function_client, auth, b"a,b\n7,8\n")
    lost_uri = location(services, lost)
    services.blobs.delete(*split_gs_uri(lost_uri))  # gone, and the notification was lost

    summary = messagebus(services).handle(RunSweep())

    assert summary["references"]["fixed"] == 1 and summary["references"]["reasons"] == {"object_missing": 1}
    assert summary["references"]["checked"] >= 2
    assert references(function_client, auth, lost_uri) == []
    assert [r["artifact_id"] for r in references(function_client, auth, location(services, kept))] == [kept]
    assert messagebus(services).handle(RunSweep())["references"]["fixed"] == 0  # nothing left to fix


def test_delete_and_expiry_forget_the_references_of_every_object_they_remove(services, function_client, auth):
    deleted = ingest(function_client, auth, b"a,b\n9,10\n")
    expiring = ingest(function_client, auth, b"a,b\n11,12\n")
    saved = function_client(*SAVE).post("/v1/intents/save_materialization", headers=auth(),
                                        json={"parameters": {"artifact_id": deleted}})
    assert saved.status_code == 200
    uris = [m.uri for m in services.store.get_artifact(TENANT, deleted).materializations]
    assert len(uris) == 2 and all(references(function_client, auth, u) for u in uris)  # working copy and record
    expiring_uri = location(services, expiring)
    artifact = services.store.get_artifact(TENANT, expiring)
    services.store.run_in_transaction(
        lambda tx: tx.put_artifact(artifact.model_copy(update={"expires_at": utcnow() - timedelta(minutes=1)})))

    assert function_client(*SAVE).delete(f"/v1/artifacts/{deleted}", headers=auth()).status_code == 200
    assert messagebus(services).handle(RunSweep())["retention"] == {"expired": 1}

    for uri in [*uris, expiring_uri]:
        assert references(function_client, auth, uri) == [], uri
        assert services.blobs.stat(*split_gs_uri(uri)) is None


def test_references_live_in_their_artifacts_document_and_cost_no_write_of_their_own(services, function_client, auth):
    """The Data Brain's references are written with their artifact, in its document (no references collection):
    found by uri through the indexed `reference_ids`, listed with the artifact, forgotten one by one without touching
    the rest of it, and sampled across tenants by the sweep."""
    from dev.firestore_meter import FirestoreMeter
    from shared.runtime.data_brain import reference_id_for

    with FirestoreMeter() as meter:
        file_id = ingest(function_client, auth, b"k,v\n1,2\n")
    assert "tenants/*/references" not in meter.written and meter.written["tenants/*/artifacts"] == 1
    uri = location(services, file_id)
    client = services.store.client
    assert [s.id for s in client.collection_group("references").stream()] == []
    stored = client.document(f"tenants/{TENANT}/artifacts/{file_id}").get().to_dict()
    ref_id = reference_id_for(TENANT, uri)
    assert stored["reference_ids"] == [ref_id] and stored["references"][ref_id]["uri"] == uri
    assert [r.uri for r in services.store.list_references(TENANT, file_id)] == [uri]
    assert services.store.get_reference(TENANT, ref_id).artifact_id == file_id
    assert services.store.get_reference("tenant-b", ref_id) is None  # another tenant's registry is not yours
    assert any(r.reference_id == ref_id for r in services.store.sample_references("ref_", 50))

    (reference,) = services.store.list_references(TENANT, file_id)
    messagebus(services).unit_of_work().commit(
        lambda tx: tx.delete_reference(TENANT, file_id, reference.reference_id), blind=True)
    assert references(function_client, auth, uri) == []
    after = client.document(f"tenants/{TENANT}/artifacts/{file_id}").get().to_dict()
    assert after["reference_ids"] == [] and after["references"] == {}
    assert services.store.get_artifact(TENANT, file_id).storage_location == uri  # the artifact itself is untouched
