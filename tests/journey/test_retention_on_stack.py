"""Retention, holds, materialization types and references through the gateway, on the local stack.

A regulatory record cannot be deleted early through any route (DELETE, a journey's discard, the sweep), and
`GET /v1/references` answers nothing for an object that no longer exists."""

from __future__ import annotations

import time
from datetime import timedelta

import requests

from dev.token import mint_token
from shared.domain.models import utcnow

CSV = b"sku,qty\nA-1,3\nB-2,5\n"


class Api:
    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=60, **kwargs)


def ingest(api: Api, data: bytes = CSV, name: str = "items.csv") -> str:
    resp = api("POST", "/v1/intents/ingest_file", json={"parameters": {
        "ui_name": name, "file_content": data.hex(), "mime_type": "text/csv"}})
    assert resp.status_code == 201, resp.text
    return resp.json()["file_id"]


def save(api: Api, artifact_id: str, **params) -> requests.Response:
    return api("POST", "/v1/intents/save_materialization", json={"parameters": {"artifact_id": artifact_id, **params}})


def sweep(stack) -> dict:
    resp = requests.post(stack.function_urls["outbox-sweep"] + "/", timeout=120)  # as Cloud Scheduler calls it
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_regulatory_record_cannot_be_deleted_early_through_any_route(stack, fresh_state):
    api = Api(stack.gateway_url, mint_token("ret-t", "ann", "s1"))
    admin = Api(stack.gateway_url, mint_token("ret-t", "boss", "s2", extra_claims={"roles": ["tenant_admin"]}))
    file_id = ingest(api)
    saved = save(api, file_id, retention_policy="regulatory_7y")
    assert saved.status_code == 200, saved.text
    record = saved.json()["artifact"]
    until = record["retain_until"]
    assert until and record["expires_at"] > until

    for who in (api, admin):  # not even a tenant admin
        refused = who("DELETE", f"/v1/artifacts/{file_id}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error_code"] == "RETENTION_LOCKED" and until in refused.json()["error"]
    released = admin("POST", f"/v1/artifacts/{file_id}/release")
    assert released.status_code == 409 and released.json()["error_code"] == "NOT_PERMANENT"
    assert sweep(stack)["retention"].get("expired", 0) == 0
    body = api("GET", f"/v1/artifacts/{file_id}?include_payload=true").json()
    assert body["lifecycle_state"] == "READY" and body["payload"]["parts"][0]["content"] == CSV.decode()
    for mat in (m for m in body["materializations"] if m["persistent"]):
        refs = api("GET", "/v1/references", params={"uri": mat["uri"]}).json()["references"]
        assert [r["artifact_id"] for r in refs] == [file_id]


def test_a_legal_hold_blocks_delete_until_cleared_and_a_permanent_record_needs_a_release(stack, fresh_state):
    api = Api(stack.gateway_url, mint_token("hold-t", "ann", "s1"))
    admin = Api(stack.gateway_url, mint_token("hold-t", "boss", "s2", extra_claims={"roles": ["tenant_admin"]}))
    file_id = ingest(api)
    assert save(api, file_id, retention_policy="permanent").status_code == 200

    held = api("POST", f"/v1/artifacts/{file_id}/hold")
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    assert api("DELETE", f"/v1/artifacts/{file_id}").json()["error_code"] == "LEGAL_HOLD"
    assert api("POST", f"/v1/artifacts/{file_id}/release").status_code == 403  # not an admin
    assert admin("POST", f"/v1/artifacts/{file_id}/release").status_code == 200
    assert api("DELETE", f"/v1/artifacts/{file_id}").json()["error_code"] == "LEGAL_HOLD"  # the hold still wins
    assert api("DELETE", f"/v1/artifacts/{file_id}/hold").json()["legal_hold"] is False

    uris = [m["uri"] for m in api("GET", f"/v1/artifacts/{file_id}").json()["materializations"]]
    deleted = api("DELETE", f"/v1/artifacts/{file_id}")
    assert deleted.status_code == 200 and deleted.json()["lifecycle_state"] == "DELETED"
    for uri in uris:
        assert api("GET", "/v1/references", params={"uri": uri}).json()["references"] == []


def test_reference_and_summary_materializations_through_the_gateway(stack, fresh_state):
    api = Api(stack.gateway_url, mint_token("mat-t", "ann", "s1"))
    file_id = ingest(api)
    saved = save(api, file_id, materialization_type="reference")
    assert saved.status_code == 200, saved.text
    mats = saved.json()["materializations"]
    assert [(m["materialization_type"], m["persistent"]) for m in mats] == [("reference", True)]
    assert mats[0]["content_hash"].startswith("sha256:") and mats[0]["uri"].startswith("gs://")
    assert api("GET", f"/v1/artifacts/{file_id}?include_payload=true").json()["payload"]["parts"][0]["content"] == \
        CSV.decode()

    # A parse of the saved file, then its summary: descriptor and statistics, no payload left anywhere.
    parse = api("POST", "/v1/intents/parse_content", json={"parameters": {"file_id": file_id,
                                                                          "ingestion_profile": "structured"}})
    assert parse.status_code == 202, parse.text
    deadline = time.monotonic() + 90
    while (execution := api("GET", f"/v1/executions/{parse.json()['execution_id']}").json())["status"] not in (
            "completed", "failed"):
        assert time.monotonic() < deadline, execution
        time.sleep(0.25)
    assert execution["status"] == "completed", execution
    parsed_id = execution["result"]["artifact_id"]
    working = [m["uri"] for m in api("GET", f"/v1/artifacts/{parsed_id}").json()["materializations"]]
    summary = save(api, parsed_id, materialization_type="summary")
    assert summary.status_code == 200, summary.text
    assert [(m["materialization_type"], m["storage_type"]) for m in summary.json()["materializations"]] == [
        ("summary", "firestore")]
    part = api("GET", f"/v1/artifacts/{parsed_id}?include_payload=true").json()["payload"]["parts"][0]
    assert part["delivery"] == "inline" and part["content"]["record_count"] == 2
    for uri in working:
        assert api("GET", "/v1/references", params={"uri": uri}).json()["references"] == []


def test_expiry_by_the_sweep_leaves_no_reference_behind(stack, fresh_state, emulators):
    from google.cloud import firestore

    api = Api(stack.gateway_url, mint_token("exp-t", "ann", "s1"))
    file_id = ingest(api)
    uri = api("GET", f"/v1/artifacts/{file_id}").json()["storage_location"]
    assert api("GET", "/v1/references", params={"uri": uri}).json()["references"]
    client = firestore.Client(project=emulators.project_id)
    client.document(f"tenants/exp-t/artifacts/{file_id}").update({"expires_at": utcnow() - timedelta(minutes=1)})

    deadline = time.monotonic() + 60
    while api("GET", f"/v1/artifacts/{file_id}").json()["lifecycle_state"] != "DELETED":
        sweep(stack)
        assert time.monotonic() < deadline
    assert api("GET", "/v1/references", params={"uri": uri}).json()["references"] == []


def test_an_object_the_bucket_lifecycle_deletes_is_forgotten_through_the_storage_delete_trigger(stack, fresh_state, emulators):
    """fake-gcs-server publishes OBJECT_DELETE (-event.list finalize,delete); the local Eventarc bridge turns it into
    google.cloud.storage.object.v1.deleted for the references-uploads consumer, as the deployed trigger does."""
    from dev.provision import storage_client

    api = Api(stack.gateway_url, mint_token("gone-t", "ann", "s1"))
    file_id = ingest(api)
    uri = api("GET", f"/v1/artifacts/{file_id}").json()["storage_location"]
    assert api("GET", "/v1/references", params={"uri": uri}).json()["references"]
    bucket, name = uri.removeprefix("gs://").split("/", 1)
    storage_client(emulators.topology).bucket(bucket).blob(name).delete()  # what the lifecycle rule does, unasked

    deadline = time.monotonic() + 60
    while api("GET", "/v1/references", params={"uri": uri}).json()["references"]:
        assert time.monotonic() < deadline, "the deletion consumer never forgot the reference"
        time.sleep(0.5)
