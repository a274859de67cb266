"""The races of issue 9 on the local stack, through the gateway: every caller gets a success or a 4xx that says what
happened (never a 5xx), and the data holds: no duplicate, no lost work.

Bounded: about 70 requests and 8 tiny parses; `pytest -s` prints each race's status counts."""

from __future__ import annotations

import uuid

from races import CSV, Api, assert_clean, race


def _tenant(stack, token_factory, prefix: str, session: str = "s1") -> Api:
    return Api(stack.gateway_url, token_factory(f"{prefix}-{uuid.uuid4().hex[:8]}", "user-1", session))


def test_eight_tenants_choose_a_profile_and_parse_at_once(stack, token_factory):
    apis = [_tenant(stack, token_factory, f"race{i}") for i in range(8)]
    files = [api.ingest(CSV + f"Z-{i},1,1\n".encode()) for i, api in enumerate(apis)]
    chosen = race("8 tenants choose a profile", [
        (lambda api=api, f=f: api("POST", "/v1/pending-intents", json={
            "intent_type": "parse_content", "target_artifact_id": f, "context": {"ingestion_profile": "structured"}}))
        for api, f in zip(apis, files, strict=True)])
    assert_clean(chosen, {201})
    parsed = race("8 tenants parse", [
        (lambda api=api, f=f: api("POST", "/v1/intents/parse_content", json={"parameters": {"file_id": f}}))
        for api, f in zip(apis, files, strict=True)])
    assert_clean(parsed, {202})
    for api, resp in zip(apis, parsed.answers, strict=True):  # no lost work: every parse completes
        done = api.wait(f"/v1/executions/{resp.json()['execution_id']}", lambda b: b["status"] in ("completed", "failed"))
        assert done["status"] == "completed", done


def test_twenty_inline_ingests_of_the_same_bytes_give_one_file(stack, token_factory):
    api = _tenant(stack, token_factory, "same")
    body = {"parameters": {"ui_name": "same.csv", "file_content": CSV.hex(), "mime_type": "text/csv"}}
    result = race("20 ingest_file of the same bytes", [
        (lambda: api("POST", "/v1/intents/ingest_file", json=body)) for _ in range(20)])
    assert_clean(result, {200, 201})
    assert len({r.json()["file_id"] for r in result.answers}) == 1
    files = api("GET", "/v1/artifacts?artifact_type=file").json()["artifacts"]
    assert len(files) == 1, files


def test_ten_saves_of_one_artifact_make_one_record(stack, token_factory):
    api = _tenant(stack, token_factory, "save")
    file_id = api.ingest()
    result = race("10 saves of one artifact", [
        (lambda: api("POST", "/v1/intents/save_materialization", json={"parameters": {"artifact_id": file_id}}))
        for _ in range(10)])
    assert_clean(result, {200})
    record = api("GET", f"/v1/artifacts/{file_id}").json()
    assert record["lifecycle_state"] == "READY"
    assert sum(1 for m in record["materializations"] if m["persistent"]) == 1, record["materializations"]


def test_ten_profile_selections_for_one_file_leave_exactly_one_pending(stack, token_factory):
    api = _tenant(stack, token_factory, "choose")
    file_id = api.ingest()
    profiles = ["structured", "unstructured", "hybrid"]
    result = race("10 profile selections for one file", [
        (lambda p=profiles[i % 3]: api("POST", "/v1/pending-intents", json={
            "intent_type": "parse_content", "target_artifact_id": file_id, "context": {"ingestion_profile": p}}))
        for i in range(10)])
    assert_clean(result, {201, 409})
    intents = api("GET", f"/v1/pending-intents?target_artifact_id={file_id}").json()["intents"]
    pending = [i for i in intents if i["status"] == "pending"]
    created = [r.json()["intent_id"] for r in result.answers if r.status_code == 201]
    assert len(pending) == 1 and pending[0]["intent_id"] in created, intents
    assert len(intents) == len(created)  # every accepted choice is on record; the others are cancelled
    assert {i["status"] for i in intents} <= {"pending", "cancelled"}


def test_ten_deletes_of_one_artifact_leave_one_tombstone(stack, token_factory):
    api = _tenant(stack, token_factory, "delete")
    file_id = api.ingest()
    result = race("10 deletes of one artifact", [(lambda: api("DELETE", f"/v1/artifacts/{file_id}")) for _ in range(10)])
    assert_clean(result, {200})
    assert api("GET", f"/v1/artifacts/{file_id}").json()["lifecycle_state"] == "DELETED"
