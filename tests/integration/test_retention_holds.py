"""Retention that holds, in storage and in the API: regulatory locks, legal holds, permanent records and release.

fake-gcs-server stores an object's `retention` (mode, retainUntilTime) and answers it back, so the lock is read back
from storage here. It neither stores `temporaryHold` nor enforces either one (a locked or held object deletes
fine there), so for holds the test checks the request our adapter sends against the documented JSON API:
`PATCH /storage/v1/b/{bucket}/o/{object}` with `{"temporaryHold": true|false}`
(https://cloud.google.com/storage/docs/json_api/v1/objects/patch, https://cloud.google.com/storage/docs/holding-objects).
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta

import pytest

from dev.token import mint_token
from shared.bootstrap import Services, messagebus
from shared.domain.holds import stamp
from shared.domain.messages import RunSweep
from shared.domain.models import utcnow
from shared.domain.retention import add_years
from shared.usecases.objects import split_gs_uri

INGEST = ("ingest", "ingest_http")
SAVE = ("save", "save_http")
READ = ("read_api", "read_http")
TENANT = "tenant-a"


def ingest(function_client, auth, content: bytes = b"id,name\n1,alpha\n") -> str:
    resp = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "people.csv", "file_content": content.hex(),
                                                        "mime_type": "text/csv"}},
        headers=auth())
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["file_id"]


def save(function_client, auth, artifact_id: str, **params):
    return function_client(*SAVE).post("/v1/intents/save_materialization",
                                       json={"parameters": {"artifact_id": artifact_id, **params}}, headers=auth())


def record_objects(services: Services, artifact_id: str) -> list[tuple[str, str]]:
    artifact = services.store.get_artifact(TENANT, artifact_id)
    return [split_gs_uri(m.uri) for m in artifact.materializations if m.persistent]


@pytest.fixture
def patches(services):
    """The JSON API PATCH requests the storage client really sends (a response hook on its own session)."""
    sent: list[tuple[str, dict]] = []

    def hook(response, *args, **kwargs):
        request = response.request
        if request.method == "PATCH":
            sent.append((urllib.parse.unquote(urllib.parse.urlsplit(request.url).path), json.loads(request.body or b"{}")))

    services.blobs.client._http.hooks["response"].append(hook)
    return sent


def test_a_regulatory_record_is_locked_in_storage_for_seven_years_read_back_from_storage(services, function_client, auth):
    file_id = ingest(function_client, auth)
    before = utcnow()

    resp = save(function_client, auth, file_id, retention_policy="regulatory_7y")

    assert resp.status_code == 200, resp.get_json()
    artifact = services.store.get_artifact(TENANT, file_id)
    assert artifact.retain_until is not None
    assert add_years(before, 7) <= artifact.retain_until <= add_years(utcnow(), 7)
    assert artifact.expires_at > artifact.retain_until  # the sweep never tries before storage allows it
    objects = record_objects(services, file_id)
    assert objects and all(b == services.settings.records_bucket for b, _ in objects)
    for bucket, name in objects:
        blob = services.blobs.client.bucket(bucket).get_blob(name)  # what storage itself says
        assert blob.retention.mode == "Locked"
        assert blob.retention.retain_until_time == artifact.retain_until.replace(microsecond=0) or \
            abs((blob.retention.retain_until_time - artifact.retain_until).total_seconds()) < 1


def test_deleting_a_regulatory_record_early_is_409_retention_locked_with_the_date(services, function_client, auth):
    file_id = ingest(function_client, auth)
    assert save(function_client, auth, file_id, retention_policy="regulatory_7y").status_code == 200
    until = services.store.get_artifact(TENANT, file_id).retain_until

    resp = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth())

    assert resp.status_code == 409
    body = resp.get_json()
    assert body["error_code"] == "RETENTION_LOCKED"
    assert stamp(until) in body["error"] and body["details"]["retain_until"] == stamp(until)
    assert resp.get_json()["details"]["retain_until"].endswith("Z")
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state.value == "READY"
    assert all(services.blobs.stat(b, n) is not None for b, n in record_objects(services, file_id))


def test_a_legal_hold_holds_the_objects_refuses_delete_and_survives_the_sweep(services, function_client, auth, patches):
    file_id = ingest(function_client, auth)
    assert save(function_client, auth, file_id, retention_policy="ephemeral_30d").status_code == 200
    objects = record_objects(services, file_id)

    held = function_client(*SAVE).post(f"/v1/artifacts/{file_id}/hold", headers=auth())

    assert held.status_code == 200, held.get_json()
    assert held.get_json()["legal_hold"] is True
    for bucket, name in objects:
        assert (f"/storage/v1/b/{bucket}/o/{name}", {"temporaryHold": True}) in patches
    refused = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth())
    assert refused.status_code == 409 and refused.get_json()["error_code"] == "LEGAL_HOLD"

    # Its retention runs out while it is held: the sweep must not expire it.
    artifact = services.store.get_artifact(TENANT, file_id)
    past = utcnow() - timedelta(days=1)
    services.store.run_in_transaction(lambda tx: tx.put_artifact(artifact.model_copy(update={"held_expires_at": past})))
    messagebus(services).handle(RunSweep())
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state.value == "READY"
    assert all(services.blobs.stat(b, n) is not None for b, n in objects)

    cleared = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}/hold", headers=auth())
    assert cleared.status_code == 200 and cleared.get_json()["legal_hold"] is False
    for bucket, name in objects:
        assert (f"/storage/v1/b/{bucket}/o/{name}", {"temporaryHold": False}) in patches
    assert services.store.get_artifact(TENANT, file_id).expires_at == past  # the suspended expiry is back
    messagebus(services).handle(RunSweep())
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state.value == "DELETED"
    assert all(services.blobs.stat(b, n) is None for b, n in objects)


def test_a_permanent_record_is_deleted_only_after_a_tenant_admin_releases_it(services, function_client, auth):
    file_id = ingest(function_client, auth)
    assert save(function_client, auth, file_id, retention_policy="permanent").status_code == 200
    assert services.store.get_artifact(TENANT, file_id).expires_at is None

    refused = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth())
    assert refused.status_code == 409 and refused.get_json()["error_code"] == "NOT_RELEASED"

    not_admin = function_client(*SAVE).post(f"/v1/artifacts/{file_id}/release", headers=auth())
    assert not_admin.status_code == 403 and not_admin.get_json()["error_code"] == "TENANT_ADMIN_REQUIRED"

    admin = {"Authorization": "Bearer " + mint_token(TENANT, "boss", "session-9", extra_claims={"roles": ["tenant_admin"]})}
    released = function_client(*SAVE).post(f"/v1/artifacts/{file_id}/release", headers=admin)
    assert released.status_code == 200, released.get_json()
    assert released.get_json()["released_at"] is not None
    assert services.store.get_artifact(TENANT, file_id).released_by == "boss"

    deleted = function_client(*SAVE).delete(f"/v1/artifacts/{file_id}", headers=auth())
    assert deleted.status_code == 200, deleted.get_json()
    assert deleted.get_json()["lifecycle_state"] == "DELETED"


def test_another_tenants_artifact_cannot_be_held_or_released(services, function_client, auth):
    file_id = ingest(function_client, auth)
    resp = function_client(*SAVE).post(f"/v1/artifacts/{file_id}/hold", headers=auth(tenant="tenant-b"))
    assert resp.status_code == 404 and resp.get_json()["error_code"] == "ARTIFACT_NOT_FOUND"
    admin_b = {"Authorization": "Bearer " + mint_token("tenant-b", "boss", "s", extra_claims={"roles": ["tenant_admin"]})}
    resp = function_client(*SAVE).post(f"/v1/artifacts/{file_id}/release", headers=admin_b)
    assert resp.status_code == 404


def test_a_reference_record_keeps_no_copy_verifies_its_hash_and_refuses_a_replaced_object(
        services, function_client, auth, patches):
    file_id = ingest(function_client, auth)
    source = services.store.get_artifact(TENANT, file_id).storage_location

    resp = save(function_client, auth, file_id, materialization_type="reference")

    assert resp.status_code == 200, resp.get_json()
    artifact = services.store.get_artifact(TENANT, file_id)
    assert [(m.materialization_type, m.uri, m.persistent) for m in artifact.materializations] == [
        ("reference", source, True)]
    assert artifact.materializations[0].content_hash == artifact.file_hash
    assert services.blobs.list_names(services.settings.records_bucket, f"tenants/{TENANT}/records/{file_id}/") == []
    bucket, name = split_gs_uri(source)
    assert (f"/storage/v1/b/{bucket}/o/{name}", {"temporaryHold": True}) in patches  # safe from the lifecycle rule
    refs = function_client(*READ).get(f"/v1/references?uri={source}", headers=auth()).get_json()["references"]
    assert [(r["artifact_id"], r["persistent"]) for r in refs] == [(file_id, True)]
    read = function_client(*READ).get(f"/v1/artifacts/{file_id}?include_payload=true", headers=auth())
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["payload"]["parts"][0]["content"] == "id,name\n1,alpha\n"

    services.blobs.client.bucket(bucket).blob(name).upload_from_string(b"id,name\n1,forged\n")  # replaced in storage

    read = function_client(*READ).get(f"/v1/artifacts/{file_id}?include_payload=true", headers=auth())
    assert read.status_code == 409 and read.get_json()["error_code"] == "REFERENCE_CHANGED"


def test_a_reference_is_refused_when_the_source_no_longer_hashes_to_its_record(services, function_client, auth):
    file_id = ingest(function_client, auth)
    bucket, name = split_gs_uri(services.store.get_artifact(TENANT, file_id).storage_location)
    services.blobs.client.bucket(bucket).blob(name).upload_from_string(b"tampered")

    resp = save(function_client, auth, file_id, materialization_type="reference")

    assert resp.status_code == 409 and resp.get_json()["error_code"] == "REFERENCE_CHANGED"
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state.value == "PENDING"


def test_regulatory_retention_needs_a_locked_copy_so_reference_and_summary_are_refused(services, function_client, auth):
    file_id = ingest(function_client, auth)
    for mtype in ("reference", "summary"):
        resp = save(function_client, auth, file_id, materialization_type=mtype, retention_policy="regulatory_7y")
        assert resp.status_code == 409 and resp.get_json()["error_code"] == "NOT_LOCKABLE"
