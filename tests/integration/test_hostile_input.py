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


# ---- issue 9: what once answered 5xx, or was silently accepted --------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
READS = ("read_api", "read_http")


def _shaped(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, (resp.status_code, body)
    assert body["error_code"] == code, body
    assert body["execution_id"] and body["intent_type"] and body["error"], body
    return body


def test_json_nested_100000_deep_is_400_not_a_recursion_error(services, function_client, auth):
    ingest = function_client(*INGEST)
    deep_objects = '{"a":' * 100_000 + "1" + "}" * 100_000
    for raw in ('{"parameters": ' + deep_objects + "}",
                '{"parameters": {"ui_name": "a", "file_content": "00"}, "metadata": {"m": ' + DEEP + "}}",
                '{"parameters": {"ui_name": "a", "file_content": "00"}, "metadata": {"m": ' + "[" * 200 + "]" * 200 + "}}"):
        resp = ingest.post("/v1/intents/ingest_file", headers=auth(), data=raw, content_type="application/json")
        _shaped(resp, 400, "INVALID_JSON")
    pending = function_client(*PROFILE).post(
        "/v1/pending-intents", headers=auth(), content_type="application/json",
        data='{"intent_type": "parse_content", "target_artifact_id": "f", "context": ' + DEEP + "}")
    _shaped(pending, 400, "INVALID_JSON")


def test_an_overlong_target_artifact_id_filter_is_400(services, function_client, auth):
    resp = function_client(*PROFILE).get("/v1/pending-intents?target_artifact_id=" + "x" * 1600, headers=auth())
    body = _shaped(resp, 400, "INVALID_TARGET_ARTIFACT_ID")
    assert "x" * 100 not in body["error"]


def test_a_token_whose_exp_is_not_a_number_is_401(services, function_client):
    from dev.token import mint_token

    for claims in ({"exp": "tomorrow"}, {"exp": None}, {"iat": [1]}, {"tenant_id": None, "firebase": "tenant"}):
        token = mint_token("tenant-a", "user-1", "session-1", extra_claims=claims)
        resp = function_client(*READS).get("/v1/artifacts", headers={"Authorization": f"Bearer {token}"})
        _shaped(resp, 401, "INVALID_TOKEN")


def test_an_oversized_bearer_token_or_idempotency_key_is_refused_in_our_shape(services, function_client, auth):
    resp = function_client(*READS).get("/v1/artifacts", headers={"Authorization": "Bearer " + "t" * 100_000})
    _shaped(resp, 401, "INVALID_TOKEN")
    body = {"parameters": {"ui_name": "a", "file_content": "00"}}
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(**{"Idempotency-Key": "k" * 10_000}),
                                         json=body)
    _shaped(resp, 400, "INVALID_IDEMPOTENCY_KEY")


def test_trace_on_a_route_is_405_in_our_shape(services, function_client, auth):
    resp = function_client(*READS).open("/v1/artifacts", method="TRACE", headers=auth())
    _shaped(resp, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("name", ["a\x00b.csv", "\x1b[31mred\x1b[0m.csv", "report\u202egpj.exe", "two\nlines.csv",
                                  "iso\u2066late.csv", "del\x7f.csv"])
def test_control_and_bidi_characters_in_ui_name_are_refused(services, function_client, auth, name):
    ingest = function_client(*INGEST)
    inline = ingest.post("/v1/intents/ingest_file", headers=auth(), json={
        "parameters": {"ui_name": name, "file_content": b"x".hex()}})
    body = _shaped(inline, 422, "INVALID_UI_NAME")
    assert "ui_name" in body["error"] and "U+" in body["error"]
    upload = ingest.post("/v1/intents/request_upload", headers=auth(), json={
        "parameters": {"ui_name": name, "file_size": 3, "mime_type": "text/csv"}})
    _shaped(upload, 422, "INVALID_UI_NAME")


def test_ui_name_in_any_script_with_emoji_is_accepted(services, function_client, auth):
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={
        "parameters": {"ui_name": "Résumé 履歴書 \U0001f469\u200d\U0001f4bb.txt", "file_content": b"cv".hex()}})
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("size", [True, "12", 1.5, None])
def test_file_size_must_be_an_integer(services, function_client, auth, size):
    resp = function_client(*INGEST).post("/v1/intents/request_upload", headers=auth(), json={
        "parameters": {"ui_name": "a.csv", "file_size": size, "mime_type": "text/csv"}})
    _shaped(resp, 422, "INVALID_FILE_SIZE")


@pytest.mark.parametrize("payload", [[[1, 2]], {"rows": [[1], [2]]}, {" ": 1}, {"a": [{"b": [[0]]}]}])
def test_api_payload_follows_the_openapi_json_value(services, function_client, auth, payload):
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={
        "parameters": {"ui_name": "api", "ingestion_type": "api", "api_payload": payload}})
    _shaped(resp, 422, "INVALID_API_PAYLOAD")


def test_error_codes_never_come_from_a_callers_field_name(services, function_client, auth):
    from shared.domain.errors import ERROR_CODES

    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={
        "parameters": {"ui_name": "a", "file_content": "00", "EVIL FIELD!": 1}})
    body = _shaped(resp, 422, "UNKNOWN_FIELD")
    assert body["error_code"] in ERROR_CODES


def test_ids_echoed_in_errors_are_cut_short(services, function_client, auth):
    long_id = "file_" + "z" * 5000
    resp = function_client(*READS).get(f"/v1/artifacts/{long_id}", headers=auth())
    body = _shaped(resp, 404, "ARTIFACT_NOT_FOUND")
    assert len(body["error"]) < 200
    resp = function_client(*PROFILE).post("/v1/intents/parse_content", headers=auth(), json={
        "parameters": {"file_id": "y" * 128, "ingestion_profile": "structured"}})
    assert resp.status_code == 404 and len(resp.get_json()["error"]) < 200
