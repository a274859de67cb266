"""The execution engine against the emulators: validation, the execution log, identity, idempotency, transitions."""

from __future__ import annotations

from shared.bootstrap import messagebus
from shared.domain.intents import Intent
from shared.domain.lineage import derived_lineage, root_lineage, walk_provenance
from shared.domain.models import Artifact, PendingIntent, ProducedBy
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.edges.http import outcome_response

INGEST = ("ingest", "ingest_http")


def _stages(services, tenant, execution_id):
    execution = services.store.get_execution(tenant, execution_id)
    return execution, [s.stage for s in execution.stages]


def test_bad_parameters_get_422_with_error_shape_and_a_failed_execution(services, function_client, auth):
    client = function_client(*INGEST)
    resp = client.post("/v1/intents/ingest_file", json={"parameters": {"file_content": "00"}}, headers=auth())
    assert resp.status_code == 422
    body = resp.get_json()
    assert set(body) >= {"error", "error_code", "execution_id", "intent_type"}
    assert body["error_code"] == "MISSING_UI_NAME" and body["intent_type"] == "ingest_file"
    execution, stages = _stages(services, "tenant-a", body["execution_id"])
    assert stages == ["accept_intent", "create_execution", "failed"]
    assert execution.status == ExecutionStatus.FAILED and "ui_name" in execution.error


def test_execution_log_records_every_stage_of_a_successful_intent(services, function_client, auth):
    client = function_client(*INGEST)
    resp = client.post("/v1/intents/ingest_file", json={"parameters": {"ui_name": "a.txt", "file_content": b"hello".hex()}},
                       headers=auth())
    assert resp.status_code == 201, resp.get_json()
    execution, stages = _stages(services, "tenant-a", resp.get_json()["execution_id"])
    assert stages == ["accept_intent", "create_execution", "execute_intent", "handle_artifacts", "publish_events", "complete_execution"]
    assert execution.status == ExecutionStatus.COMPLETED
    times = [s.at for s in execution.stages]
    assert times == sorted(times)


def test_unknown_intent_type_is_a_404_and_is_logged(services):
    intent = Intent(intent_id="i1", intent_type="teleport", tenant_id="tenant-a", session_id="s", user_id="u")
    status, body = outcome_response(messagebus(services).execute(intent))
    assert status == 404 and body["error_code"] == "UNKNOWN_INTENT_TYPE"
    execution, stages = _stages(services, "tenant-a", body["execution_id"])
    assert stages == ["accept_intent", "create_execution", "failed"] and execution.error_code == "UNKNOWN_INTENT_TYPE"


def test_missing_bad_and_foreign_tokens_get_401(services, function_client, token_factory):
    from dev.token import mint_token

    client = function_client(*INGEST)
    body = {"parameters": {"ui_name": "a", "file_content": "00"}}
    missing = client.post("/v1/intents/ingest_file", json=body)
    assert missing.status_code == 401 and missing.get_json()["error_code"] == "MISSING_TOKEN"
    garbage = client.post("/v1/intents/ingest_file", json=body, headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401 and garbage.get_json()["error_code"] == "INVALID_TOKEN"
    expired = mint_token("tenant-a", "u", "s", ttl_seconds=-3600)
    assert client.post("/v1/intents/ingest_file", json=body, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    wrong_audience = mint_token("tenant-a", "u", "s", audience="someone-else")
    assert client.post("/v1/intents/ingest_file", json=body,
                       headers={"Authorization": f"Bearer {wrong_audience}"}).status_code == 401


def test_token_signed_by_another_key_is_rejected(services, function_client, tmp_path):
    from dev.token import mint_token

    forged = mint_token("tenant-a", "u", "s", key_dir=tmp_path / "other-issuer")
    resp = function_client(*INGEST).get("/v1/uploads/upl_x", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401


def test_tenant_never_comes_from_the_body(services, function_client, auth):
    resp = function_client(*INGEST).post(
        "/v1/intents/ingest_file",
        json={"parameters": {"ui_name": "a", "file_content": b"x".hex()}, "metadata": {"tenant_id": "tenant-b"}},
        headers=auth(tenant="tenant-a"))
    file_id = resp.get_json()["file_id"]
    assert services.store.get_artifact("tenant-a", file_id) is not None
    assert services.store.get_artifact("tenant-b", file_id) is None


def test_idempotency_key_returns_the_first_response_with_no_second_side_effect(services, function_client, auth):
    client = function_client(*INGEST)
    body = {"parameters": {"ui_name": "a.csv", "file_size": 10, "mime_type": "text/csv"}}
    first = client.post("/v1/intents/request_upload", json=body, headers=auth(**{"Idempotency-Key": "k-1"}))
    second = client.post("/v1/intents/request_upload", json=body, headers=auth(**{"Idempotency-Key": "k-1"}))
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    uploads = list(services.store.tenant("tenant-a").collection("uploads").stream())
    assert len(uploads) == 1
    reused = client.post("/v1/intents/request_upload", json={"parameters": {**body["parameters"], "file_size": 11}},
                         headers=auth(**{"Idempotency-Key": "k-1"}))
    assert reused.status_code == 422 and reused.get_json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    other_tenant = client.post("/v1/intents/request_upload", json=body, headers=auth(tenant="tenant-b", **{"Idempotency-Key": "k-1"}))
    assert other_tenant.status_code == 201
    assert other_tenant.get_json()["upload_id"] != first.get_json()["upload_id"]


def test_illegal_intent_transition_is_refused(services, function_client, auth):
    done = PendingIntent(intent_id="intent_done", tenant_id="tenant-a", session_id="s", target_artifact_id="file_x",
                         status=IntentStatus.COMPLETED, context={"ingestion_profile": "structured"})
    services.store.run_in_transaction(lambda tx: tx.put_intent(done))
    resp = function_client("profile_selection", "profile_selection_http").delete(
        "/v1/pending-intents/intent_done", headers=auth())
    assert resp.status_code == 409
    assert resp.get_json()["error_code"] == "ILLEGAL_TRANSITION"
    assert services.store.get_intent("tenant-a", "intent_done").status == IntentStatus.COMPLETED


def _artifact(artifact_id, lineage, kind="parsed_content"):
    return Artifact(artifact_id=artifact_id, artifact_type=kind, tenant_id="tenant-a", session_id="s",
                    storage_location=f"gs://b/{artifact_id}", boundary_contract_id="bc",
                    produced_by=ProducedBy(intent="x", execution_id="e"), lineage=lineage)


def test_lineage_and_provenance_walk_three_generations_in_firestore(services):
    root = _artifact("file_root", root_lineage("file_root"), "file")
    g1 = _artifact("gen_1", derived_lineage([root], "parse_content", "exec_1"))
    g2 = _artifact("gen_2", derived_lineage([g1], "normalize", "exec_2"))
    g3 = _artifact("gen_3", derived_lineage([g2], "summarize", "exec_3"))

    def write(tx):
        for a in (root, g1, g2, g3):
            tx.put_artifact(a)

    services.store.run_in_transaction(write)
    start = services.store.get_artifact("tenant-a", "gen_3")
    chain = walk_provenance(start, lambda i: services.store.get_artifact("tenant-a", i))
    assert [(a.artifact_id, a.lineage.generation, a.lineage.derivation_run_id) for a in chain] == [
        ("gen_3", 3, "exec_3"), ("gen_2", 2, "exec_2"), ("gen_1", 1, "exec_1"), ("file_root", 0, None)]
    assert {a.lineage.root_artifact_id for a in chain} == {"file_root"}
    assert services.store.list_children("tenant-a", "gen_1")[0].artifact_id == "gen_2"


def test_sweep_fails_an_abandoned_execution_but_not_a_live_parse(services):
    from datetime import timedelta

    from dev.bus_calls import sweep
    from shared.domain.models import Execution, StageEntry, utcnow

    long_ago = utcnow() - timedelta(seconds=services.settings.abandoned_after_seconds + 60)
    live_intent = PendingIntent(intent_id="intent_live", tenant_id="tenant-a", session_id="s", target_artifact_id="f",
                                status=IntentStatus.IN_PROGRESS, context={"ingestion_profile": "structured"},
                                lease_expires_at=utcnow() + timedelta(minutes=5))
    services.store.run_in_transaction(lambda tx: tx.put_intent(live_intent))
    for execution_id, intent_id in (("exec_dead", None), ("exec_parse", "intent_live")):
        services.store.write_batch(lambda tx, e=execution_id, i=intent_id: tx.create_execution(Execution(
            execution_id=e, tenant_id="tenant-a", intent_type="parse_content" if i else "ingest_file",
            intent_id=i, status=ExecutionStatus.RUNNING, updated_at=long_ago,
            stages=[StageEntry(stage="accepted", at=long_ago), StageEntry(stage="started", at=long_ago)])))
    fresh = Execution(execution_id="exec_fresh", tenant_id="tenant-a", intent_type="ingest_file", status=ExecutionStatus.RUNNING)
    services.store.write_batch(lambda tx: tx.create_execution(fresh))

    summary = sweep(services)
    assert summary["executions"] == {"abandoned": 1, "alive": 1}
    dead = services.store.get_execution("tenant-a", "exec_dead")
    assert dead.status == ExecutionStatus.FAILED and dead.error_code == "ABANDONED" and dead.stages[-1].stage == "failed"
    assert services.store.get_execution("tenant-a", "exec_parse").status == ExecutionStatus.RUNNING
    assert services.store.get_execution("tenant-a", "exec_fresh").status == ExecutionStatus.RUNNING
    assert sweep(services)["executions"] == {"alive": 1}  # nothing is failed twice
