"""The whole product through the gateway, on the local stack: signed upload → bridge → finalize → pending intent →
another session resumes → Cloud Tasks → worker → save → lineage. Also the auto-dispatch path and the routing table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

ROUTES = json.loads((Path(__file__).resolve().parents[2] / "infra" / "routes.json").read_text())["routes"]
CSV = b"sku,qty,price\nA-1,3,9.99\nB-2,5,1.50\nC-3,1,100\n"


class Api:
    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=60, **kwargs)

    def wait(self, path: str, done, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self("GET", path).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out on {path}: {body}"
            time.sleep(0.25)


def upload(api: Api, data: bytes, **params) -> dict:
    resp = api("POST", "/v1/intents/request_upload", json={"parameters": {
        "ui_name": "items.csv", "file_size": len(data), "mime_type": "text/csv", **params}})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert requests.put(body["upload_url"], data=data, headers=body["headers"], timeout=30).status_code == 200
    return body


def test_full_journey_from_signed_upload_to_record_of_fact(stack, fresh_state, token_factory):
    day1 = Api(stack.gateway_url, token_factory("journey-t", "ann", "monday"))
    up = upload(day1, CSV)
    status = day1.wait(f"/v1/uploads/{up['upload_id']}", lambda b: b["status"] != "awaiting_upload")
    assert status["status"] == "ingested", status  # the bridge delivered the finalize CloudEvent
    file_id = status["file_id"]
    assert day1("GET", f"/v1/artifacts/{file_id}").json()["lifecycle_state"] == "PENDING"

    chosen = day1("POST", "/v1/pending-intents", json={"intent_type": "parse_content", "target_artifact_id": file_id,
                                                       "context": {"ingestion_profile": "structured"}})
    assert chosen.status_code == 201, chosen.text

    day2 = Api(stack.gateway_url, token_factory("journey-t", "ann", "tuesday"))
    listed = day2("GET", f"/v1/pending-intents?target_artifact_id={file_id}&status=pending").json()["intents"]
    assert [i["intent_id"] for i in listed] == [chosen.json()["intent_id"]]
    submitted = day2("POST", "/v1/intents/parse_content", json={"parameters": {"file_id": file_id}})
    assert submitted.status_code == 202, submitted.text
    execution = day2.wait(f"/v1/executions/{submitted.json()['execution_id']}",
                          lambda b: b["status"] in ("completed", "failed"), timeout=90)
    assert execution["status"] == "completed", execution  # Cloud Tasks dispatched the worker over HTTP
    parsed_id = execution["result"]["artifact_id"]

    for artifact_id in (file_id, parsed_id):
        saved = day2("POST", "/v1/intents/save_materialization", json={"parameters": {"artifact_id": artifact_id}})
        assert saved.status_code == 200, saved.text
    record = day2("GET", f"/v1/artifacts/{parsed_id}").json()
    assert record["lifecycle_state"] == "READY"
    assert any(m["persistent"] for m in record["materializations"])
    chain = day2("GET", f"/v1/artifacts/{parsed_id}/lineage").json()["chain"]
    assert [(h["artifact_id"], h["generation"]) for h in chain] == [(parsed_id, 1), (file_id, 0)]
    assert chain[0]["derivation_intent"] == "parse_content" and chain[0]["root_artifact_id"] == file_id

    other = Api(stack.gateway_url, token_factory("someone-else", "eve", "s"))
    assert other("GET", f"/v1/executions/{submitted.json()['execution_id']}").status_code == 404
    assert other("GET", f"/v1/artifacts/{parsed_id}").status_code == 404


def test_upload_with_a_profile_parses_by_itself(stack, fresh_state, token_factory):
    api = Api(stack.gateway_url, token_factory("journey-t", "bob", "s1"))
    up = upload(api, CSV, ingestion_profile="structured")
    intent = api.wait("/v1/pending-intents?status=completed",
                      lambda b: any(i["intent_id"] == up["pending_intent_id"] for i in b["intents"]), timeout=90)
    done = next(i for i in intent["intents"] if i["intent_id"] == up["pending_intent_id"])
    assert done["result_artifact_id"].startswith("parsed_")


def test_gateway_routes_exactly_the_routing_table(stack, token_factory):
    api = Api(stack.gateway_url, token_factory("journey-t", "ann", "s"))
    for route in ROUTES:
        path = route["path"].replace("{", "x").replace("}", "")
        resp = api(route["method"], path, json={} if route["method"] == "POST" else None)
        assert resp.status_code != 404 or resp.json()["error_code"] != "ROUTE_NOT_FOUND", route
    legacy = api("POST", "/api/v1/content/upload-file", data=b"bytes")
    assert legacy.status_code == 404 and legacy.json()["error_code"] == "ROUTE_NOT_FOUND"
    assert requests.get(stack.gateway_url + "/v1/artifacts", timeout=10).status_code == 401
