"""Regenerable derived artifacts (issue 21 item 3), over the emulators: an expired parse is rebuilt from its recorded
intent, options and input, byte for byte, and linked to the original; what cannot be reproduced is 409
NOT_REPRODUCIBLE before any work, or a failed execution with both artifacts kept in the lineage."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from shared.bootstrap import messagebus
from shared.domain.messages import ParseTask, RunParseTask, RunSweep
from shared.domain.models import utcnow
from shared.domain.states import LifecycleState, PayloadState
from shared.usecases.objects import split_gs_uri

INGEST = ("ingest", "ingest_http")
PROFILE = ("profile_selection", "profile_selection_http")
READ = ("read_api", "read_http")
TENANT = "tenant-a"
CSV = b"id,name,amount\n1,alpha,3.5\n2,beta,4.25\n3,gamma,10\n4,delta,\n"


def run_task(services, intent_id: str) -> object:
    tasks = [ParseTask.model_validate(r.payload) for r in services.store.outbox_records() if r.kind == "command"]
    return messagebus(services).handle(RunParseTask(next(t for t in tasks if t.intent_id == intent_id)))


def parsed_and_expired(services, function_client, auth, **options) -> tuple[str, str]:
    """A file parsed with recorded options, whose parse then expired and was swept (its payload is gone)."""
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "data.csv", "filename": "data.csv", "file_content": CSV.hex()}})
    file_id = resp.get_json()["file_id"]
    resp = function_client(*PROFILE).post("/v1/intents/parse_content", headers=auth(), json={"parameters": {
        "file_id": file_id, "ingestion_profile": "structured", "parse_options": options}})
    assert resp.status_code == 202, resp.get_json()
    run_task(services, resp.get_json()["intent_id"])
    parsed_id = services.store.get_intent(TENANT, resp.get_json()["intent_id"]).result_artifact_id
    parsed = services.store.get_artifact(TENANT, parsed_id)
    services.store.run_in_transaction(lambda tx: tx.put_artifact(parsed.model_copy(update={
        "expires_at": utcnow() - timedelta(seconds=1)})))
    messagebus(services).handle(RunSweep())
    expired = services.store.get_artifact(TENANT, parsed_id)
    assert expired.lifecycle_state == LifecycleState.DELETED and expired.payload_state == PayloadState.EXPIRED
    assert all(services.blobs.stat(*split_gs_uri(o["uri"])) is None for o in expired.outputs)
    return file_id, parsed_id


def regenerate(function_client, auth, artifact_id: str):
    return function_client(*PROFILE).post(f"/v1/artifacts/{artifact_id}/regenerate", headers=auth())


def test_an_expired_parse_is_regenerated_byte_for_byte_and_linked_to_the_original(services, function_client, auth):
    file_id, original_id = parsed_and_expired(services, function_client, auth, delimiter=",")
    original = services.store.get_artifact(TENANT, original_id)

    read = function_client(*READ).get(f"/v1/artifacts/{original_id}?include_payload=true", headers=auth())
    assert read.status_code == 409 and read.get_json()["error_code"] == "PAYLOAD_EXPIRED"
    assert read.get_json()["details"] == {"regenerable": True, "regenerate": f"/v1/artifacts/{original_id}/regenerate"}

    resp = regenerate(function_client, auth, original_id)

    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["regenerates"] == original_id and body["file_id"] == file_id
    intent = services.store.get_intent(TENANT, body["intent_id"])
    assert intent.context["parse_options"] == {"delimiter": ","}  # the recorded options, not new ones
    run_task(services, body["intent_id"])
    done = services.store.get_intent(TENANT, body["intent_id"])
    assert done.status.value == "completed" and done.error_code is None
    regenerated = services.store.get_artifact(TENANT, done.result_artifact_id)
    assert regenerated.artifact_id != original_id
    assert regenerated.lineage.regenerated_from == original_id and regenerated.lineage.reproduced is True
    assert {o["name"]: o["sha256"] for o in regenerated.outputs} == {o["name"]: o["sha256"] for o in original.outputs}
    for output in regenerated.outputs:  # the bytes themselves, read back from storage
        with services.blobs.open_read(*split_gs_uri(output["uri"])) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == output["sha256"]
    chain = function_client(*READ).get(f"/v1/artifacts/{regenerated.artifact_id}/lineage", headers=auth()).get_json()
    assert chain["chain"][0]["regenerated_from"] == original_id and chain["chain"][0]["reproduced"] is True
    payload = function_client(*READ).get(f"/v1/artifacts/{regenerated.artifact_id}?include_payload=true", headers=auth())
    assert payload.status_code == 200, payload.get_json()


def test_outputs_that_hash_differently_fail_not_reproducible_and_the_lineage_keeps_both(services, function_client, auth):
    _, original_id = parsed_and_expired(services, function_client, auth)
    original = services.store.get_artifact(TENANT, original_id)
    tampered = [{**o, "sha256": "0" * 64} for o in original.outputs]  # as if the parser had written other bytes
    services.store.run_in_transaction(lambda tx: tx.put_artifact(original.model_copy(update={"outputs": tampered})))

    body = regenerate(function_client, auth, original_id).get_json()
    run_task(services, body["intent_id"])

    done = services.store.get_intent(TENANT, body["intent_id"])
    assert done.status.value == "failed" and done.error_code == "NOT_REPRODUCIBLE"
    execution = function_client(*READ).get(f"/v1/executions/{body['execution_id']}", headers=auth()).get_json()
    assert execution["status"] == "failed" and execution["error_code"] == "NOT_REPRODUCIBLE"
    kept = services.store.get_artifact(TENANT, done.result_artifact_id)
    assert kept.lineage.regenerated_from == original_id and kept.lineage.reproduced is False
    assert services.store.get_artifact(TENANT, original_id) is not None  # both stay


def test_regenerating_without_its_input_or_under_another_producer_is_409_not_reproducible(services, function_client, auth):
    file_id, original_id = parsed_and_expired(services, function_client, auth)
    original = services.store.get_artifact(TENANT, original_id)
    services.store.run_in_transaction(lambda tx: tx.put_artifact(original.model_copy(update={
        "produced_by": original.produced_by.model_copy(update={"version": "parse_content/0 pyarrow/1.0.0"})})))
    other = regenerate(function_client, auth, original_id)
    assert other.status_code == 409 and other.get_json()["error_code"] == "NOT_REPRODUCIBLE"
    assert "parse_content/0" in other.get_json()["error"]
    read = function_client(*READ).get(f"/v1/artifacts/{original_id}?include_payload=true", headers=auth()).get_json()
    assert read["error_code"] == "PAYLOAD_EXPIRED"  # the read says why it is not offered
    assert read["details"] == {"regenerable": False, "reason_code": "NOT_REPRODUCIBLE"}

    services.store.run_in_transaction(lambda tx: tx.put_artifact(original))
    commands = len([r for r in services.store.outbox_records() if r.kind == "command"])
    source = services.store.get_artifact(TENANT, file_id)
    services.blobs.delete(*split_gs_uri(source.storage_location))  # the input is gone
    gone = regenerate(function_client, auth, original_id)
    assert gone.status_code == 409 and gone.get_json()["error_code"] == "NOT_REPRODUCIBLE"
    assert len([r for r in services.store.outbox_records() if r.kind == "command"]) == commands  # nothing dispatched


def test_only_an_expired_regenerable_derivation_is_regenerated(services, function_client, auth):
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "f.csv", "filename": "f.csv", "file_content": CSV.hex()}})
    file_id = resp.get_json()["file_id"]
    not_derived = regenerate(function_client, auth, file_id)
    assert not_derived.status_code == 409 and not_derived.get_json()["error_code"] == "NOT_REGENERABLE"
    assert regenerate(function_client, auth, "parsed_nope").status_code == 404
    other_tenant = function_client(*PROFILE).post(f"/v1/artifacts/{file_id}/regenerate", headers=auth(tenant="tenant-b"))
    assert other_tenant.status_code == 404
