"""Input that once reached Firestore or Cloud Storage unchecked: every one is now a 4xx with an error_code."""

from __future__ import annotations

import pytest

INGEST = ("ingest", "ingest_http")
PROFILE = ("profile_selection", "profile_selection_http")


@pytest.mark.parametrize(("options", "code"), [
    ({"\r": 1}, "INVALID_MAP"),
    ({"rows": [[1, 2], [3]]}, "INVALID_MAP"),
    ({"__name__": 1}, "INVALID_MAP"),
    ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}, "INVALID_MAP"),
])
def test_free_form_maps_that_firestore_cannot_store_are_422(services, function_client, auth, options, code):
    ingest = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "a.csv", "file_content": b"a".hex(), "ingestion_options": options}})
    assert ingest.status_code == 422 and ingest.get_json()["error_code"] == code
    metadata = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={
        "parameters": {"ui_name": "a.csv", "file_content": b"a".hex()}, "metadata": options})
    assert metadata.status_code == 422


def test_non_ascii_mime_types_are_422(services, function_client, auth):
    for intent, params in (("ingest_file", {"ui_name": "a", "file_content": "00", "mime_type": "téxt/csv"}),
                           ("request_upload", {"ui_name": "a", "file_size": 3, "mime_type": "text/çsv"})):
        resp = function_client(*INGEST).post(f"/v1/intents/{intent}", headers=auth(), json={"parameters": params})
        assert resp.status_code == 422 and resp.get_json()["error_code"] == "INVALID_MIME_TYPE", resp.get_json()


def test_control_characters_in_a_path_id_get_the_json_404(services, function_client, auth):
    resp = function_client(*INGEST).get("/v1/uploads/abc%0Adef", headers=auth())
    assert resp.status_code == 404 and resp.get_json()["error_code"] in ("ROUTE_NOT_FOUND", "UPLOAD_NOT_FOUND")
    resp = function_client(*PROFILE).delete("/v1/pending-intents/%0A", headers=auth())
    assert resp.status_code == 404 and resp.is_json


def test_bytes_ingested_again_after_a_delete_come_back_as_working_material(services, function_client, auth):
    from shared.domain.states import LifecycleState

    client = function_client(*INGEST)
    body = {"parameters": {"ui_name": "a.csv", "file_content": b"again".hex()}}
    file_id = client.post("/v1/intents/ingest_file", headers=auth(), json=body).get_json()["file_id"]
    deleted = function_client("save", "save_http").delete(f"/v1/artifacts/{file_id}", headers=auth())
    assert deleted.status_code == 200, deleted.get_json()
    assert services.store.get_artifact("tenant-a", file_id).lifecycle_state == LifecycleState.DELETED
    again = client.post("/v1/intents/ingest_file", headers=auth(), json=body).get_json()
    assert again["file_id"] == file_id and again["deduplicated"] is False
    revived = services.store.get_artifact("tenant-a", file_id)
    assert revived.lifecycle_state == LifecycleState.PENDING and revived.deleted_at is None
    bucket, name = revived.storage_location[5:].split("/", 1)
    assert services.blobs.stat(bucket, name) is not None
