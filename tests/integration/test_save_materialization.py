"""save_materialization against the emulators: PENDING becomes READY with a server-side record copy and one event."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.bootstrap import Services, get_services, set_services
from shared.domain.lineage import derived_lineage, root_lineage
from shared.domain.models import Artifact, Materialization, ProducedBy, utcnow
from shared.domain.states import ExecutionStatus, LifecycleState
from shared.usecases.objects import dataset_name, gs_uri, parsed_prefix, record_prefix, split_gs_uri, table_object

INGEST = ("ingest", "ingest_http")
SAVE = ("save", "save_http")
TENANT = "tenant-a"


def ingest(function_client, auth, content: bytes = b"id,name\n1,alpha\n2,beta\n", tenant: str = TENANT) -> dict:
    resp = function_client(*INGEST).post(
        "/v1/intents/ingest_file", json={"parameters": {"ui_name": "people.csv", "file_content": content.hex(),
                                                        "mime_type": "text/csv"}},
        headers=auth(tenant=tenant))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def save(function_client, auth, artifact_id: str, tenant: str = TENANT, key: str | None = None, **params):
    headers = auth(tenant=tenant, **({"Idempotency-Key": key} if key else {}))
    return function_client(*SAVE).post("/v1/intents/save_materialization",
                                       json={"parameters": {"artifact_id": artifact_id, **params}}, headers=headers)


def put(services: Services, artifact: Artifact) -> Artifact:
    services.store.run_in_transaction(lambda tx: tx.put_artifact(artifact))
    return artifact


def parquet_bytes(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def make_parsed(services: Services, source: Artifact, *, expires_in: timedelta = timedelta(days=7)) -> Artifact:
    """A parsed_content artifact as the parse worker writes it: outputs in the derived bucket, PENDING."""
    s = services.settings
    parsed_id = f"parsed_{uuid.uuid4().hex}"
    prefix = parsed_prefix(source.tenant_id, parsed_id)
    rows = [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}]
    files = {
        "structured.parquet": (parquet_bytes(rows), "parquet", "application/vnd.apache.parquet"),
        "chunks.jsonl": ("".join(json.dumps({"chunk": i, "text": r["name"]}) + "\n" for i, r in enumerate(rows)).encode(),
                         "jsonl", "application/x-ndjson"),
    }
    outputs, mats = [], []
    for i, (name, (data, fmt, content_type)) in enumerate(files.items()):
        services.blobs.write_bytes_if_absent(s.derived_bucket, prefix + name, data, content_type)
        uri = gs_uri(s.derived_bucket, prefix + name)
        outputs.append({"name": name, "uri": uri, "format": fmt, "content_type": content_type, "record_count": 2,
                        "bytes_written": len(data)})
        mats.append(Materialization(materialization_id=f"mat_{parsed_id}_{i}", uri=uri, format=fmt, size_bytes=len(data)))
    return put(services, Artifact(
        artifact_id=parsed_id, artifact_type="parsed_content", tenant_id=source.tenant_id, session_id=source.session_id,
        storage_location=outputs[0]["uri"], materializations=mats, boundary_contract_id=source.boundary_contract_id,
        produced_by=ProducedBy(intent="parse_content", execution_id="exec_parse"),
        lineage=derived_lineage([source], "parse_content", "run_1"), parent_artifacts=[source.artifact_id],
        regenerable=True, outputs=outputs, expires_at=utcnow() + expires_in,
    ))


def record_names(services: Services, artifact_id: str, tenant: str = TENANT) -> list[str]:
    return services.blobs.list_names(services.settings.records_bucket, record_prefix(tenant, artifact_id))


def saved_events(services: Services, artifact_id: str) -> list:
    return [r for r in services.store.outbox_records()
            if r.payload.get("event_type") == "artifact_saved" and r.payload["data"]["artifact_id"] == artifact_id]


def without_execution(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "execution_id"}


def test_save_makes_a_file_ready_with_a_server_side_record_copy(services, function_client, auth, event_tap):
    content = b"id,name\n1,alpha\n"
    file_id = ingest(function_client, auth, content)["file_id"]

    resp = save(function_client, auth, file_id)

    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["lifecycle_state"] == "READY" and body["materialization_pending"] is False
    assert body["retention_policy"] == "standard" and body["intent_type"] == "save_materialization"
    stored = services.store.get_artifact(TENANT, file_id)
    assert stored.lifecycle_state == LifecycleState.READY and stored.expires_at is None
    records = [m for m in stored.materializations if m.persistent]
    assert len(records) == 1 and [m.persistent for m in stored.materializations] == [False, True]
    bucket, name = split_gs_uri(records[0].uri)
    assert bucket == services.settings.records_bucket and name.startswith(record_prefix(TENANT, file_id))
    assert stored.storage_location == records[0].uri
    with services.blobs.open_read(bucket, name) as stream:
        assert stream.read() == content
    event = event_tap.wait_for("artifact_saved")
    assert event.json()["data"]["artifact_id"] == file_id and event.json()["data"]["lifecycle_state"] == "READY"
    execution = services.store.get_execution(TENANT, body["execution_id"])
    assert [s.stage for s in execution.stages] == ["accept_intent", "create_execution", "execute_intent", "handle_artifacts",
                                                   "publish_events", "complete_execution"]


def test_saving_again_returns_the_same_result_with_no_second_copy_and_no_second_event(
        services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth)["file_id"]
    first = save(function_client, auth, file_id)
    assert first.status_code == 200
    (name,) = record_names(services, file_id)
    generation = services.blobs.stat(services.settings.records_bucket, name).generation

    second = save(function_client, auth, file_id)

    assert second.status_code == 200
    assert without_execution(second.get_json()) == without_execution(first.get_json())
    assert record_names(services, file_id) == [name]
    assert services.blobs.stat(services.settings.records_bucket, name).generation == generation  # not rewritten
    assert len(saved_events(services, file_id)) == 1
    event_tap.pull(timeout=2.0, min_count=10)
    assert [e.event_type for e in event_tap.seen].count("artifact_saved") == 1


class CommitCrash(Exception):
    """The save's transaction never commits: the process died after the copy."""


class CrashBeforeCommit:
    """The real store, except that the next commit (a transaction or a batch) dies before it is sent."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def run_in_transaction(self, fn):
        raise CommitCrash("the process died between the copy and the commit")

    write_batch = run_in_transaction


def test_a_crash_between_copy_and_commit_is_repaired_by_a_retry(services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth)["file_id"]
    set_services(Services(services.settings, store=CrashBeforeCommit(services.store)))
    try:
        crashed = save(function_client, auth, file_id, key="save-1")
    finally:
        set_services(None)
    assert crashed.status_code == 500 and crashed.get_json()["error_code"] == "INTERNAL"
    assert len(record_names(services, file_id)) == 1  # the copy happened ...
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state == LifecycleState.PENDING  # ... the commit did not
    assert saved_events(services, file_id) == []

    retried = save(function_client, auth, file_id, key="save-1")  # the client retries with the same key

    assert retried.status_code == 200, retried.get_json()
    stored = get_services().store.get_artifact(TENANT, file_id)
    assert stored.lifecycle_state == LifecycleState.READY
    assert len([m for m in stored.materializations if m.persistent]) == 1
    assert len(record_names(services, file_id)) == 1
    assert len(saved_events(services, file_id)) == 1
    event_tap.pull(timeout=2.0, min_count=10)
    assert [e.event_type for e in event_tap.seen].count("artifact_saved") == 1


def test_unknown_and_other_tenants_artifacts_are_404(services, function_client, auth):
    file_id = ingest(function_client, auth)["file_id"]
    for artifact_id, tenant in ((file_id, "tenant-b"), ("file_does_not_exist", TENANT), ("../../etc", TENANT)):
        resp = save(function_client, auth, artifact_id, tenant=tenant)
        assert resp.status_code == 404, (artifact_id, tenant)
        assert resp.get_json()["error_code"] == "ARTIFACT_NOT_FOUND"
        assert set(resp.get_json()) >= {"error", "error_code", "execution_id", "intent_type"}
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state == LifecycleState.PENDING
    assert record_names(services, file_id) == []


@pytest.mark.parametrize("state, code", [(LifecycleState.REJECTED, "ARTIFACT_REJECTED"),
                                         (LifecycleState.DELETED, "ARTIFACT_DELETED")])
def test_rejected_or_deleted_artifacts_cannot_be_saved(services, function_client, auth, state, code):
    file_id = ingest(function_client, auth)["file_id"]
    put(services, services.store.get_artifact(TENANT, file_id).model_copy(update={"lifecycle_state": state}))

    resp = save(function_client, auth, file_id)

    assert resp.status_code == 409 and resp.get_json()["error_code"] == code
    assert record_names(services, file_id) == []
    execution = services.store.get_execution(TENANT, resp.get_json()["execution_id"])
    assert execution.status == ExecutionStatus.FAILED and execution.error_code == code


def test_boundary_contract_is_checked_against_the_artifacts(services, function_client, auth):
    ingested = ingest(function_client, auth)
    contract = ingested["artifacts"]["artifact"]["semantic_payload"]["boundary_contract_id"]

    wrong = save(function_client, auth, ingested["file_id"], boundary_contract_id="bc_someone_else")
    assert wrong.status_code == 409 and wrong.get_json()["error_code"] == "BOUNDARY_CONTRACT_MISMATCH"
    assert record_names(services, ingested["file_id"]) == []

    right = save(function_client, auth, ingested["file_id"], boundary_contract_id=contract)
    assert right.status_code == 200 and right.get_json()["boundary_contract_id"] == contract


def test_retention_policy_comes_from_the_request(services, function_client, auth):
    file_id = ingest(function_client, auth)["file_id"]
    bad = save(function_client, auth, file_id, retention_policy="forever-and-ever")
    assert bad.status_code == 422 and bad.get_json()["error_code"] == "INVALID_RETENTION_POLICY"

    resp = save(function_client, auth, file_id, retention_policy="regulatory_7y")

    assert resp.status_code == 200 and resp.get_json()["retention_policy"] == "regulatory_7y"
    assert services.store.get_artifact(TENANT, file_id).retention_policy == "regulatory_7y"


def test_parsed_content_with_an_unsaved_source_is_refused_until_the_source_is_saved(
        services, function_client, auth, event_tap):
    file_id = ingest(function_client, auth)["file_id"]
    parsed = make_parsed(services, services.store.get_artifact(TENANT, file_id))

    refused = save(function_client, auth, parsed.artifact_id)

    assert refused.status_code == 409 and refused.get_json()["error_code"] == "SOURCE_NOT_SAVED"
    assert "save the source file first" in refused.get_json()["error"].lower()
    assert refused.get_json()["details"] == {"unsaved_sources": [file_id]}
    assert record_names(services, parsed.artifact_id) == []

    assert save(function_client, auth, file_id).status_code == 200
    resp = save(function_client, auth, parsed.artifact_id)

    assert resp.status_code == 200, resp.get_json()
    stored = services.store.get_artifact(TENANT, parsed.artifact_id)
    assert stored.lifecycle_state == LifecycleState.READY and stored.regenerable is True
    prefix = record_prefix(TENANT, parsed.artifact_id)
    # the table lands at the documented Hive layout; the other outputs under the artifact's record prefix
    table = table_object(TENANT, dataset_name(stored.ui_name), parsed.artifact_id)
    assert table == f"tables/dataset={dataset_name(stored.ui_name)}/tenant_id={TENANT}/artifact_id={parsed.artifact_id}/data.parquet"
    assert sorted(record_names(services, parsed.artifact_id)) == [prefix + "chunks.jsonl"]
    assert services.blobs.stat(services.settings.records_bucket, table) is not None
    assert [o["record_uri"] for o in stored.outputs] == [
        gs_uri(services.settings.records_bucket, table if o["format"] == "parquet" else prefix + o["name"])
        for o in stored.outputs]
    assert stored.lineage == parsed.lineage  # saving never rewrites provenance
    with services.blobs.open_read(*split_gs_uri(stored.outputs[0]["record_uri"])) as stream:
        assert pq.read_table(stream).num_rows == 2
    event_tap.wait_for("artifact_saved", predicate=lambda e: e.json()["data"]["artifact_id"] == parsed.artifact_id)


def test_expired_working_material_cannot_be_saved(services, function_client, auth):
    file_id = ingest(function_client, auth)["file_id"]
    artifact = services.store.get_artifact(TENANT, file_id)
    put(services, artifact.model_copy(update={"expires_at": utcnow() - timedelta(minutes=1)}))

    resp = save(function_client, auth, file_id)

    assert resp.status_code == 409 and resp.get_json()["error_code"] == "PAYLOAD_EXPIRED"
    assert record_names(services, file_id) == []


def test_working_payload_removed_by_the_lifecycle_rule_cannot_be_saved(services, function_client, auth):
    file_id = ingest(function_client, auth)["file_id"]
    artifact = services.store.get_artifact(TENANT, file_id)
    services.blobs.delete(*split_gs_uri(artifact.storage_location))

    resp = save(function_client, auth, file_id)

    assert resp.status_code == 409 and resp.get_json()["error_code"] == "PAYLOAD_EXPIRED"
    assert services.store.get_artifact(TENANT, file_id).lifecycle_state == LifecycleState.PENDING


# pure rules, no I/O

def _artifact(mats: list[str], tenant: str = TENANT) -> Artifact:
    return Artifact(
        artifact_id="parsed_x", artifact_type="parsed_content", tenant_id=tenant, session_id="s",
        storage_location=mats[0], boundary_contract_id="bc_x", produced_by=ProducedBy(intent="parse_content", execution_id="e"),
        materializations=[Materialization(materialization_id=f"m{i}", uri=u, format="jsonl") for i, u in enumerate(mats)],
        lineage=derived_lineage([Artifact(
            artifact_id="file_x", artifact_type="file", tenant_id=tenant, session_id="s", storage_location="gs://u/f",
            boundary_contract_id="bc_x", produced_by=ProducedBy(intent="ingest_file", execution_id="e"),
            lineage=root_lineage("file_x"))], "parse_content", "run"),
    )


def test_record_copy_names_depend_on_the_artifact_alone_and_never_collide():
    from shared.usecases.save import record_copies

    artifact = _artifact(["gs://d/tenants/t/parsed/p/chunks.jsonl", "gs://u/other/chunks.jsonl",
                          "gs://d/tenants/t/parsed/p/structured.parquet"])
    first = [c.name for c in record_copies(artifact, "records")]
    assert first == [c.name for c in record_copies(artifact, "records")]  # a retry picks the same names
    assert len(set(first)) == 3 and all(n.startswith(record_prefix(TENANT, "parsed_x")) for n in first)


def test_a_derived_artifact_needs_every_source_ready():
    from shared.domain.errors import Conflict
    from shared.usecases.save import check_sources

    artifact = _artifact(["gs://d/x"])
    source = Artifact(artifact_id="file_x", artifact_type="file", tenant_id=TENANT, session_id="s",
                      storage_location="gs://u/f", boundary_contract_id="bc_x",
                      produced_by=ProducedBy(intent="ingest_file", execution_id="e"), lineage=root_lineage("file_x"))
    for parent in (source, None, source.model_copy(update={"lifecycle_state": LifecycleState.REJECTED})):
        with pytest.raises(Conflict) as refused:
            check_sources(artifact, [parent])
        assert refused.value.code == "SOURCE_NOT_SAVED"
    check_sources(artifact, [source.model_copy(update={"lifecycle_state": LifecycleState.READY})])
