"""The read API against the emulators: artifacts, payloads, pagination, lineage, executions, tenancy, expiry."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from shared.bootstrap import Services
from shared.domain.lineage import derived_lineage, root_lineage
from shared.domain.models import Artifact, Materialization, ProducedBy, utcnow
from shared.domain.states import LifecycleState
from shared.usecases.objects import gs_uri, inline_object, parsed_prefix, split_gs_uri

INGEST = ("ingest", "ingest_http")
SAVE = ("save", "save_http")
READ = ("read_api", "read_http")
TENANT = "tenant-a"


def put(services: Services, artifact: Artifact) -> Artifact:
    services.store.run_in_transaction(lambda tx: tx.put_artifact(artifact))
    return artifact


def make_file(services: Services, *, tenant: str = TENANT, session: str = "session-1", content: bytes = b"a,b\n1,2\n",
              created_offset: timedelta = timedelta(0), expires_in: timedelta | None = timedelta(days=7),
              mime: str = "text/csv") -> Artifact:
    file_id = f"file_{uuid.uuid4().hex}"
    bucket = services.settings.uploads_bucket
    name = inline_object(tenant, session, file_id)
    services.blobs.write_bytes_if_absent(bucket, name, content, mime)
    now = utcnow() + created_offset
    return put(services, Artifact(
        artifact_id=file_id, artifact_type="file", tenant_id=tenant, session_id=session, created_at=now, updated_at=now,
        file_reference=f"file:{tenant}:{session}:{file_id}", storage_location=gs_uri(bucket, name),
        materializations=[Materialization(materialization_id=f"mat_{file_id}", uri=gs_uri(bucket, name), format=mime,
                                          size_bytes=len(content))],
        boundary_contract_id=f"bc_{file_id}", produced_by=ProducedBy(intent="ingest_file", execution_id="exec_ingest"),
        lineage=root_lineage(file_id), mime_type=mime, file_size=len(content),
        expires_at=(now + expires_in) if expires_in is not None else None,
    ))


def make_parsed(services: Services, parent: Artifact, outputs: dict[str, bytes], *,
                created_offset: timedelta = timedelta(0), run: str = "run_1") -> Artifact:
    s = services.settings
    parsed_id = f"parsed_{uuid.uuid4().hex}"
    prefix = parsed_prefix(parent.tenant_id, parsed_id)
    outs, mats = [], []
    for i, (name, data) in enumerate(outputs.items()):
        fmt, content_type = (("parquet", "application/vnd.apache.parquet") if name.endswith(".parquet")
                             else ("jsonl", "application/x-ndjson"))
        services.blobs.write_bytes_if_absent(s.derived_bucket, prefix + name, data, content_type)
        uri = gs_uri(s.derived_bucket, prefix + name)
        outs.append({"name": name, "uri": uri, "format": fmt, "content_type": content_type, "record_count": 2,
                     "bytes_written": len(data)})
        mats.append(Materialization(materialization_id=f"mat_{parsed_id}_{i}", uri=uri, format=fmt, size_bytes=len(data)))
    now = utcnow() + created_offset
    return put(services, Artifact(
        artifact_id=parsed_id, artifact_type="parsed_content", tenant_id=parent.tenant_id, session_id=parent.session_id,
        created_at=now, updated_at=now, storage_location=outs[0]["uri"], materializations=mats,
        boundary_contract_id=parent.boundary_contract_id,
        produced_by=ProducedBy(intent="parse_content", execution_id=f"exec_{run}"),
        lineage=derived_lineage([parent], "parse_content", run), parent_artifacts=[parent.artifact_id],
        regenerable=True, outputs=outs, expires_at=now + timedelta(days=7),
    ))


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


CHUNKS = [{"chunk_index": 0, "text": "alpha"}, {"chunk_index": 1, "text": "beta"}]


@pytest.fixture
def read(function_client, auth):
    client = function_client(*READ)

    def get(path: str, tenant: str = TENANT, **query):
        return client.get(path, query_string=query, headers=auth(tenant=tenant))

    return get


def test_get_artifact_returns_the_document_with_the_contract_fields(services, read):
    file = make_file(services)
    resp = read(f"/v1/artifacts/{file.artifact_id}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["artifact_id"] == file.artifact_id and body["lifecycle_state"] == "PENDING"
    assert body["payload_state"] == "live" and "payload" not in body
    for field in ("artifact_type", "tenant_id", "session_id", "created_at", "updated_at", "file_reference",
                  "storage_location", "materializations", "boundary_contract_id", "produced_by", "semantic_descriptor",
                  "lineage", "parent_artifacts", "retention_policy", "regenerable"):
        assert field in body, field
    assert body["lineage"]["generation"] == 0 and body["lineage"]["derived_from"] == []


def test_include_payload_inlines_small_jsonl_chunks_and_signs_a_url_for_parquet(services, read):
    parsed = make_parsed(services, make_file(services), {"structured.parquet": parquet([{"a": 1}, {"a": 2}]),
                                                         "chunks.jsonl": jsonl(CHUNKS)})
    resp = read(f"/v1/artifacts/{parsed.artifact_id}", include_payload="true")

    assert resp.status_code == 200, resp.get_json()
    parts = {p["name"]: p for p in resp.get_json()["payload"]["parts"]}
    assert parts["chunks.jsonl"]["delivery"] == "inline" and parts["chunks.jsonl"]["content"] == CHUNKS
    table_part = parts["structured.parquet"]
    assert table_part["delivery"] == "signed_url" and "content" not in table_part
    assert "X-Goog-Signature=" in table_part["download_url"] and "X-Goog-Expires=300" in table_part["download_url"]
    downloaded = requests.get(table_part["download_url"], timeout=10)
    assert downloaded.status_code == 200
    assert pq.read_table(io.BytesIO(downloaded.content)).num_rows == 2


def test_a_payload_over_the_inline_limit_gets_a_short_lived_signed_url(services, read):
    big = jsonl([{"chunk_index": i, "text": "x" * 200} for i in range(2000)])  # ~ 450 KB
    assert len(big) > services.settings.inline_payload_max_bytes
    parsed = make_parsed(services, make_file(services), {"chunks.jsonl": big})

    (part,) = read(f"/v1/artifacts/{parsed.artifact_id}", include_payload="true").get_json()["payload"]["parts"]

    assert part["delivery"] == "signed_url" and part["size_bytes"] == len(big)
    assert f"X-Goog-Expires={services.settings.download_url_ttl_seconds}" in part["download_url"]
    assert requests.get(part["download_url"], timeout=10).content == big


def test_a_saved_artifact_serves_its_record_copy(services, read, function_client, auth):
    file = make_file(services, content=b"k,v\n1,2\n")
    assert function_client(*SAVE).post("/v1/intents/save_materialization",
                                       json={"parameters": {"artifact_id": file.artifact_id}},
                                       headers=auth()).status_code == 200
    services.blobs.delete(*split_gs_uri(file.storage_location))  # the working copy expires; the record stays

    body = read(f"/v1/artifacts/{file.artifact_id}", include_payload="true").get_json()

    assert body["lifecycle_state"] == "READY" and body["payload_state"] == "live"
    (part,) = body["payload"]["parts"]
    assert part["persistent"] is True and part["delivery"] == "inline" and part["content"] == "k,v\n1,2\n"


def test_expired_working_material_is_reported_and_never_served(services, read):
    past = make_file(services, created_offset=-timedelta(days=8), expires_in=timedelta(days=7))
    gone = make_file(services)
    services.blobs.delete(*split_gs_uri(gone.storage_location))  # what the bucket lifecycle rule does
    live = make_file(services)

    for artifact in (past, gone):
        assert read(f"/v1/artifacts/{artifact.artifact_id}").get_json()["payload_state"] == "expired"
        resp = read(f"/v1/artifacts/{artifact.artifact_id}", include_payload="true")
        assert resp.status_code == 409 and resp.get_json()["error_code"] == "PAYLOAD_EXPIRED"
    assert read(f"/v1/artifacts/{live.artifact_id}").get_json()["payload_state"] == "live"
    listed = {a["artifact_id"]: a["payload_state"] for a in read("/v1/artifacts").get_json()["artifacts"]}
    assert listed[past.artifact_id] == "expired" and listed[live.artifact_id] == "live"


def test_list_paginates_with_cursors_across_pages_and_honours_filters(services, read):
    wanted = []
    for i in range(7):  # files of session-1, newest last
        wanted.append(make_file(services, created_offset=timedelta(seconds=i)))
    noise_parent = make_file(services, session="session-2", created_offset=timedelta(seconds=20))
    make_parsed(services, wanted[0], {"chunks.jsonl": jsonl(CHUNKS)}, created_offset=timedelta(seconds=30))
    make_file(services, tenant="tenant-b", created_offset=timedelta(seconds=40))
    put(services, wanted[3].model_copy(update={"lifecycle_state": LifecycleState.READY}))

    seen, token, pages = [], None, 0
    while True:
        query = {"artifact_type": "file", "session_id": "session-1", "page_size": "3"}
        if token:
            query["page_token"] = token
        resp = read("/v1/artifacts", **query)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert len(body["artifacts"]) <= 3
        seen += [a["artifact_id"] for a in body["artifacts"]]
        token, pages = body["next_page_token"], pages + 1
        if token is None:
            break
    assert pages == 3
    assert seen == [a.artifact_id for a in reversed(wanted)]  # newest first, each once
    assert noise_parent.artifact_id not in seen

    ready = read("/v1/artifacts", lifecycle_state="READY").get_json()
    assert [a["artifact_id"] for a in ready["artifacts"]] == [wanted[3].artifact_id] and ready["next_page_token"] is None
    parsed = read("/v1/artifacts", artifact_type="parsed_content").get_json()["artifacts"]
    assert [a["artifact_type"] for a in parsed] == ["parsed_content"]
    everything = read("/v1/artifacts").get_json()["artifacts"]
    assert len(everything) == 9 and all(a["tenant_id"] == TENANT for a in everything)


@pytest.mark.parametrize("query, code", [
    ({"page_size": "0"}, "INVALID_PAGE_SIZE"), ({"page_size": "101"}, "INVALID_PAGE_SIZE"),
    ({"page_size": "ten"}, "INVALID_PAGE_SIZE"), ({"page_token": "bm90LWEtdG9rZW4"}, "INVALID_PAGE_TOKEN"),
    ({"lifecycle_state": "ALIVE"}, "INVALID_LIFECYCLE_STATE"), ({"artifact_type": "video"}, "INVALID_ARTIFACT_TYPE"),
])
def test_bad_list_parameters_are_a_clear_400(services, read, query, code):
    resp = read("/v1/artifacts", **query)
    assert resp.status_code == 400
    assert resp.get_json()["error_code"] == code and resp.get_json()["intent_type"] == "list_artifacts"


def test_another_tenants_page_token_is_not_a_way_in(services, read):
    for i in range(3):
        make_file(services, tenant="tenant-b", created_offset=timedelta(seconds=i))
    token = read("/v1/artifacts", tenant="tenant-b", page_size="1").get_json()["next_page_token"]
    assert token
    resp = read("/v1/artifacts", page_token=token)
    assert resp.status_code == 400 and resp.get_json()["error_code"] == "INVALID_PAGE_TOKEN"


def test_lineage_resolves_three_generations_nearest_first(services, read):
    file = make_file(services)
    parsed = make_parsed(services, file, {"chunks.jsonl": jsonl(CHUNKS)}, run="run_1")
    refined = make_parsed(services, parsed, {"chunks.jsonl": jsonl(CHUNKS[:1])}, run="run_2")

    resp = read(f"/v1/artifacts/{refined.artifact_id}/lineage")

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["artifact_id"] == refined.artifact_id
    chain = body["chain"]
    assert [c["artifact_id"] for c in chain] == [refined.artifact_id, parsed.artifact_id, file.artifact_id]
    assert [c["generation"] for c in chain] == [2, 1, 0]
    assert {c["root_artifact_id"] for c in chain} == {file.artifact_id}
    assert chain[0]["derived_from"] == [parsed.artifact_id] and chain[0]["derivation_run_id"] == "run_2"
    assert chain[1] == {
        "artifact_id": parsed.artifact_id, "artifact_type": "parsed_content", "lifecycle_state": "PENDING",
        "derived_from": [file.artifact_id], "derivation_intent": "parse_content", "derivation_run_id": "run_1",
        "generation": 1, "root_artifact_id": file.artifact_id,
    }
    assert chain[2]["derived_from"] == [] and chain[2]["derivation_intent"] is None


def test_execution_returns_status_and_ordered_stages(services, read, function_client, auth):
    ingested = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "a.txt", "file_content": b"hello".hex()}},
        headers=auth())
    execution_id = ingested.get_json()["execution_id"]

    resp = read(f"/v1/executions/{execution_id}")

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["execution_id"] == execution_id and body["status"] == "completed"
    assert body["intent_type"] == "ingest_file" and "error" not in body and "tenant_id" not in body
    assert [s["stage"] for s in body["stages"]] == ["accept_intent", "create_execution", "execute_intent",
                                                   "handle_artifacts", "publish_events", "complete_execution"]
    assert all(s["at"] for s in body["stages"])

    failed = function_client(*INGEST).post("/v1/intents/ingest_file", json={"parameters": {"file_content": "00"}},
                                           headers=auth()).get_json()
    failed_body = read(f"/v1/executions/{failed['execution_id']}").get_json()
    assert failed_body["status"] == "failed" and "ui_name" in failed_body["error"]
    assert failed_body["stages"][-1]["stage"] == "failed"


def test_another_tenant_gets_404_on_every_read(services, read, function_client, auth):
    file = make_file(services)
    execution_id = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "a.txt", "file_content": b"hi".hex()}},
        headers=auth()).get_json()["execution_id"]

    for path, code in ((f"/v1/artifacts/{file.artifact_id}", "ARTIFACT_NOT_FOUND"),
                       (f"/v1/artifacts/{file.artifact_id}/lineage", "ARTIFACT_NOT_FOUND"),
                       (f"/v1/executions/{execution_id}", "EXECUTION_NOT_FOUND"),
                       ("/v1/artifacts/file_never_was", "ARTIFACT_NOT_FOUND"),
                       ("/v1/executions/exec_never_was", "EXECUTION_NOT_FOUND")):
        resp = read(path, tenant="tenant-b")
        assert resp.status_code == 404, path
        assert resp.get_json()["error_code"] == code
        assert read(path).status_code == (404 if "never_was" in path else 200), path
    assert read(f"/v1/artifacts/{file.artifact_id}", tenant="tenant-b", include_payload="true").status_code == 404
    assert read("/v1/artifacts", tenant="tenant-b").get_json() == {"artifacts": [], "next_page_token": None}


def test_reads_need_a_token_but_the_openapi_document_is_public(services, function_client):
    client = function_client(*READ)
    resp = client.get("/v1/artifacts")
    assert resp.status_code == 401 and resp.get_json()["error_code"] == "MISSING_TOKEN"
    doc = client.get("/v1/openapi.json")
    assert doc.status_code == 200 and doc.get_json()["openapi"].startswith("3.1")
    assert "/v1/artifacts/{artifact_id}/lineage" in doc.get_json()["paths"]


# pure rules, no I/O

def _pure_file(state: LifecycleState, expires_at, materializations=None) -> Artifact:
    return Artifact(
        artifact_id="file_x", artifact_type="file", tenant_id=TENANT, session_id="s", lifecycle_state=state,
        storage_location="gs://u/f", boundary_contract_id="bc", expires_at=expires_at,
        produced_by=ProducedBy(intent="ingest_file", execution_id="e"), lineage=root_lineage("file_x"),
        materializations=materializations or [Materialization(materialization_id="m", uri="gs://u/f", format="text/csv")],
    )


def test_payload_state_rules():
    from shared.domain.states import PayloadState
    from shared.usecases.reads import effective_payload_state

    now = utcnow()
    past, future = now - timedelta(seconds=1), now + timedelta(days=1)
    assert effective_payload_state(_pure_file(LifecycleState.PENDING, future), now) == PayloadState.LIVE
    assert effective_payload_state(_pure_file(LifecycleState.PENDING, past), now) == PayloadState.EXPIRED
    assert effective_payload_state(_pure_file(LifecycleState.PENDING, future), now, objects_present=False) == \
        PayloadState.EXPIRED
    assert effective_payload_state(_pure_file(LifecycleState.READY, past), now) == PayloadState.LIVE  # records keep
    assert effective_payload_state(_pure_file(LifecycleState.DELETED, None), now) == PayloadState.DELETED


def test_a_saved_artifact_serves_its_record_copies_and_working_material_its_working_copies():
    from shared.usecases.reads import payload_materializations

    mats = [Materialization(materialization_id="w", uri="gs://u/f", format="text/csv"),
            Materialization(materialization_id="r", uri="gs://r/f", format="text/csv", persistent=True)]
    assert [m.materialization_id for m in payload_materializations(_pure_file(LifecycleState.READY, None, mats))] == ["r"]
    assert [m.materialization_id for m in payload_materializations(
        _pure_file(LifecycleState.PENDING, None, mats[:1]))] == ["w"]


@pytest.mark.parametrize("raw, size", [(None, 50), ("1", 1), ("100", 100)])
def test_page_size_defaults_to_50_and_accepts_1_to_100(raw, size):
    from shared.usecases.reads import parse_page_size

    assert parse_page_size(raw) == size
