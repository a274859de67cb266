"""Profile selection, parse_content, the parse worker and auto-dispatch (issue 4), in-process over the emulators."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from shared.bootstrap import messagebus
from shared.domain.errors import TransientError
from shared.domain.messages import ParseTask, RunParseTask
from shared.domain.models import utcnow
from shared.domain.states import ExecutionStatus, IntentStatus, LifecycleState

INGEST = ("ingest", "ingest_http")
PROFILE = ("profile_selection", "profile_selection_http")
CSV = b"id,name,amount\n1,alpha,3.5\n2,beta,4.25\n3,gamma,10\n"


def ingest(function_client, headers, content: bytes = CSV, ui_name: str = "data.csv") -> str:
    resp = function_client(*INGEST).post("/v1/intents/ingest_file", headers=headers,
                                         json={"parameters": {"ui_name": ui_name, "filename": ui_name, "file_content": content.hex()}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["file_id"]


def select(function_client, headers, file_id: str, profile: str = "structured", **options):
    return function_client(*PROFILE).post("/v1/pending-intents", headers=headers, json={
        "intent_type": "parse_content", "target_artifact_id": file_id,
        "context": {"ingestion_profile": profile, "parse_options": options}})


def submit(function_client, headers, file_id: str, **params):
    return function_client(*PROFILE).post("/v1/intents/parse_content", headers=headers,
                                          json={"parameters": {"file_id": file_id, **params}})


def pending_tasks(services) -> list[ParseTask]:
    return [ParseTask.model_validate(r.payload) for r in services.store.outbox_records() if r.kind == "command"]


def run_worker(services, task: ParseTask | None = None):
    task = task or pending_tasks(services)[-1]
    return messagebus(services).handle(RunParseTask(task))


def stages(services, tenant, execution_id) -> list[str]:
    return [s.stage for s in services.store.get_execution(tenant, execution_id).stages]


# ---- profile selection -------------------------------------------------------------------------------------------

def test_profile_lives_on_the_pending_intent_never_on_the_artifact(services, function_client, auth):
    file_id = ingest(function_client, auth())
    resp = select(function_client, auth(), file_id, "hybrid", delimiter=",")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "pending" and body["context"] == {"ingestion_profile": "hybrid", "parse_options": {"delimiter": ","}}
    stored = services.store.get_intent("tenant-a", body["intent_id"])
    assert stored.context["ingestion_profile"] == "hybrid" and stored.target_artifact_id == file_id
    raw = services.store.tenant("tenant-a").collection("artifacts").document(file_id).get().to_dict()
    assert "ingestion_profile" not in str(raw)


def test_pending_intents_are_listed_from_any_session_of_the_tenant(services, function_client, auth):
    file_id = ingest(function_client, auth(session="monday"))
    created = select(function_client, auth(session="monday"), file_id).get_json()
    client = function_client(*PROFILE)
    listed = client.get(f"/v1/pending-intents?target_artifact_id={file_id}&status=pending", headers=auth(session="tuesday"))
    assert listed.status_code == 200
    intents = listed.get_json()["intents"]
    assert [i["intent_id"] for i in intents] == [created["intent_id"]]
    for key in ("intent_id", "intent_type", "status", "target_artifact_id", "context", "session_id", "created_at", "updated_at"):
        assert key in intents[0]
    assert intents[0]["session_id"] == "monday"
    foreign = client.get(f"/v1/pending-intents?target_artifact_id={file_id}", headers=auth(tenant="tenant-b")).get_json()
    assert foreign == {"intents": [], "next_page_token": None}
    bad = client.get("/v1/pending-intents?status=sleeping", headers=auth())
    assert bad.status_code == 422 and bad.get_json()["error_code"] == "INVALID_STATUS"


def test_pending_intents_page_with_cursors(services, function_client, auth):
    client = function_client(*PROFILE)
    created = []
    for i in range(5):
        file_id = ingest(function_client, auth(), f"n\n{i}\n".encode())
        created.append(select(function_client, auth(), file_id).get_json()["intent_id"])
    seen, token = [], None
    while True:
        query = "status=pending&page_size=2" + (f"&page_token={token}" if token else "")
        page = client.get(f"/v1/pending-intents?{query}", headers=auth(session="other")).get_json()
        assert len(page["intents"]) <= 2
        seen += [i["intent_id"] for i in page["intents"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == list(reversed(created))  # newest first, each exactly once
    bad = client.get("/v1/pending-intents?page_token=garbage", headers=auth())
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "INVALID_PAGE_TOKEN"
    assert client.get("/v1/pending-intents?page_size=0", headers=auth()).get_json()["error_code"] == "INVALID_PAGE_SIZE"


def test_cancel_moves_a_pending_intent_to_cancelled(services, function_client, auth):
    file_id = ingest(function_client, auth())
    intent_id = select(function_client, auth(), file_id).get_json()["intent_id"]
    resp = function_client(*PROFILE).delete(f"/v1/pending-intents/{intent_id}", headers=auth(session="other"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert function_client(*PROFILE).delete(f"/v1/pending-intents/{intent_id}", headers=auth()).status_code == 200
    foreign = function_client(*PROFILE).delete(f"/v1/pending-intents/{intent_id}", headers=auth(tenant="tenant-b"))
    assert foreign.status_code == 404


def test_profile_for_a_missing_or_foreign_file_is_404_and_unknown_profile_is_422(services, function_client, auth):
    file_id = ingest(function_client, auth(tenant="tenant-a"))
    assert select(function_client, auth(), "file_nope").status_code == 404
    foreign = select(function_client, auth(tenant="tenant-b"), file_id)
    assert foreign.status_code == 404 and foreign.get_json()["error_code"] == "ARTIFACT_NOT_FOUND"
    unknown = select(function_client, auth(), file_id, "telepathic")
    assert unknown.status_code == 422 and "ingestion_profile" in unknown.get_json()["error"]


def test_a_second_pending_intent_replaces_the_first(services, function_client, auth):
    file_id = ingest(function_client, auth())
    first = select(function_client, auth(), file_id, "structured").get_json()
    second = select(function_client, auth(session="s2"), file_id, "unstructured").get_json()
    assert second["replaced_intent_ids"] == [first["intent_id"]]
    old = services.store.get_intent("tenant-a", first["intent_id"])
    assert old.status == IntentStatus.CANCELLED and old.superseded_by == second["intent_id"]
    pending = function_client(*PROFILE).get(f"/v1/pending-intents?target_artifact_id={file_id}&status=pending", headers=auth())
    assert [i["intent_id"] for i in pending.get_json()["intents"]] == [second["intent_id"]]


# ---- parse_content and the worker ----------------------------------------------------------------------------------

def test_parse_resumes_the_pending_intent_in_another_session_and_writes_lineage(services, function_client, auth):
    file_id = ingest(function_client, auth(session="monday"))
    intent_id = select(function_client, auth(session="monday"), file_id, "structured").get_json()["intent_id"]
    resp = submit(function_client, auth(session="tuesday"), file_id)
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["intent_id"] == intent_id and body["status"] == "in_progress" and body["resumed_pending_intent"] is True
    task = pending_tasks(services)[0]
    assert task.payload["intent_id"] == intent_id

    result = run_worker(services, task)
    assert result.status == "completed", result
    intent = services.store.get_intent("tenant-a", intent_id)
    assert intent.status == IntentStatus.COMPLETED
    parsed = services.store.get_artifact("tenant-a", intent.result_artifact_id)
    assert parsed.artifact_type == "parsed_content" and parsed.lifecycle_state == LifecycleState.PENDING
    assert parsed.lineage.model_dump() == {"derived_from": [file_id], "derivation_intent": "parse_content",
                                           "derivation_run_id": body["execution_id"], "generation": 1,
                                           "root_artifact_id": file_id, "regenerated_from": None, "reproduced": None}
    assert parsed.parent_artifacts == [file_id]
    descriptor = parsed.semantic_descriptor.model_dump(by_alias=True)
    assert descriptor["record_count"] == 3
    assert [f["name"] for f in descriptor["schema"]] == ["id", "name", "amount"]
    # The parser's guesses travel to the artifact, each with its confidence and the option that overrides it.
    assert descriptor["guesses"]["encoding"]["value"] and "confidence" in descriptor["guesses"]["encoding"]
    assert descriptor["guesses"]["delimiter"]["value"] == ","
    assert parsed.storage_location.startswith(f"gs://{services.settings.derived_bucket}/tenants/tenant-a/parsed/")
    with services.blobs.open_read(services.settings.derived_bucket, parsed.storage_location.split("/", 3)[3]) as fh:
        table = pq.read_table(io.BytesIO(fh.read()))
    assert table.num_rows == 3 and table.column("name").to_pylist() == ["alpha", "beta", "gamma"]
    assert stages(services, "tenant-a", body["execution_id"]) == [
        "accept_intent", "create_execution", "execute_intent", "publish_events", "dispatched", "claimed", "handle_artifacts",
        "publish_events", "complete_execution"]
    assert services.store.get_execution("tenant-a", body["execution_id"]).status == ExecutionStatus.COMPLETED
    completed = [r for r in services.store.outbox_records() if r.payload.get("event_type") == "parse_completed"]
    assert len(completed) == 1
    source = services.store.get_artifact("tenant-a", file_id)
    assert source.lifecycle_state == LifecycleState.PENDING and "ingestion_profile" not in str(source.model_dump())


def test_parse_without_a_pending_intent_needs_a_profile(services, function_client, auth):
    file_id = ingest(function_client, auth())
    missing = submit(function_client, auth(), file_id)
    assert missing.status_code == 422 and missing.get_json()["error_code"] == "MISSING_INGESTION_PROFILE"
    explicit = submit(function_client, auth(), file_id, ingestion_profile="unstructured")
    assert explicit.status_code == 202
    busy = submit(function_client, auth(), file_id, ingestion_profile="unstructured")
    assert busy.status_code == 409 and busy.get_json()["error_code"] == "PARSE_IN_PROGRESS"
    assert submit(function_client, auth(tenant="tenant-b"), file_id, ingestion_profile="structured").status_code == 404


def test_a_duplicate_delivery_or_second_worker_does_nothing(services, function_client, auth):
    file_id = ingest(function_client, auth())
    submit(function_client, auth(), file_id, ingestion_profile="structured")
    task = pending_tasks(services)[0]
    intent = services.store.get_intent("tenant-a", task.intent_id)
    held = intent.model_copy(update={"lease_owner": "worker_other", "lease_expires_at": utcnow() + timedelta(minutes=5)})
    services.store.run_in_transaction(lambda tx: tx.put_intent(held))
    held_answer = run_worker(services, task)  # 503: Cloud Tasks retries once a dead holder's short lease lapses
    assert held_answer.status == "retry" and "another worker holds the lease" in held_answer.detail["reason"]
    assert services.store.get_intent("tenant-a", task.intent_id).attempts == 0

    expired = held.model_copy(update={"lease_expires_at": utcnow() - timedelta(seconds=1)})
    services.store.run_in_transaction(lambda tx: tx.put_intent(expired))
    assert run_worker(services, task).status == "completed"  # an expired lease is reclaimed
    assert run_worker(services, task).status == "duplicate"  # and a redelivery after completion is a no-op
    assert len([a for a in services.store.list_children("tenant-a", file_id)]) == 1


class FlakyBlobs:
    """Wraps the real blob store; the first N reads fail the way an unavailable dependency does."""

    def __init__(self, inner, failures: int):
        self._inner = inner
        self.failures = failures

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def open_read(self, *args, **kwargs):
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("storage unavailable")
        return self._inner.open_read(*args, **kwargs)


def _with_blobs(services, blobs):
    from shared.bootstrap import Services

    return Services(services.settings, store=services.store, blobs=blobs, publisher=services.publisher,
                    queue=services.queue, verifier=services.verifier, relay=services.relay)


def test_transient_failure_releases_the_lease_for_a_retry(services, function_client, auth):
    file_id = ingest(function_client, auth())
    execution_id = submit(function_client, auth(), file_id, ingestion_profile="structured").get_json()["execution_id"]
    flaky = _with_blobs(services, FlakyBlobs(services.blobs, failures=1))
    first = run_worker(flaky)
    assert first.status == "retry"
    intent = services.store.get_intent("tenant-a", pending_tasks(services)[0].intent_id)
    assert intent.status == IntentStatus.IN_PROGRESS and intent.lease_owner is None and intent.attempts == 1
    assert run_worker(flaky).status == "completed"
    assert "attempt_failed" in stages(services, "tenant-a", execution_id)


def test_attempts_run_out_into_failed_with_intent_failed_event(services, function_client, auth):
    file_id = ingest(function_client, auth())
    execution_id = submit(function_client, auth(), file_id, ingestion_profile="structured").get_json()["execution_id"]
    flaky = _with_blobs(services, FlakyBlobs(services.blobs, failures=100))
    results = [run_worker(flaky).status for _ in range(services.settings.max_parse_attempts + 1)]
    assert results == ["retry"] * services.settings.max_parse_attempts + ["failed"]
    intent = services.store.get_intent("tenant-a", pending_tasks(services)[0].intent_id)
    assert intent.status == IntentStatus.FAILED and intent.error_code == "MAX_ATTEMPTS_EXCEEDED"
    execution = services.store.get_execution("tenant-a", execution_id)
    assert execution.status == ExecutionStatus.FAILED and "attempts" in execution.error
    assert [r for r in services.store.outbox_records() if r.payload.get("event_type") == "intent_failed"]


def test_sweep_redispatches_a_lapsed_lease_then_gives_up(services, function_client, auth):
    from shared.domain.messages import RunSweep

    file_id = ingest(function_client, auth())
    submit(function_client, auth(), file_id, ingestion_profile="structured")
    intent_id = pending_tasks(services)[0].intent_id
    intent = services.store.get_intent("tenant-a", intent_id)
    lapsed = intent.model_copy(update={"attempts": 1, "lease_owner": "worker_dead", "lease_expires_at": utcnow() - timedelta(seconds=1)})
    services.store.run_in_transaction(lambda tx: tx.put_intent(lapsed))
    assert messagebus(services).handle(RunSweep())["leases"] == {"redispatched": 1}
    assert len({t.command_id for t in pending_tasks(services)}) == 2  # a new task name for the new round
    final = services.store.get_intent("tenant-a", intent_id).model_copy(update={
        "attempts": services.settings.max_parse_attempts, "lease_expires_at": utcnow() - timedelta(seconds=1)})
    services.store.run_in_transaction(lambda tx: tx.put_intent(final))
    assert messagebus(services).handle(RunSweep())["leases"] == {"failed": 1}
    assert services.store.get_intent("tenant-a", intent_id).status == IntentStatus.FAILED


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["sku", "qty"])
    ws.append(["A-1", 3])
    ws.append(["B-2", 5])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("content", "name", "profile", "expect"), [
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF", "report.pdf", "unstructured", "failed"),
    (b'id,name\n1,"unterminated\n2,ok\n', "broken.csv", "structured", "failed"),
    ("id,name\n1,Müller\n2,Đặng\n3,Ørsted\n".encode("latin-1", errors="replace"), "latin.csv", "structured", "completed"),
    (None, "sheet.csv", "structured", "completed"),
])
def test_real_files_parse_or_fail_permanently_without_touching_the_source(services, function_client, auth,
                                                                          content, name, profile, expect):
    content = _xlsx_bytes() if content is None else content
    file_id = ingest(function_client, auth(), content, name)
    before = services.store.get_artifact("tenant-a", file_id)
    execution_id = submit(function_client, auth(), file_id, ingestion_profile=profile).get_json()["execution_id"]
    result = run_worker(services)
    assert result.status == expect, result
    execution = services.store.get_execution("tenant-a", execution_id)
    intent = services.store.get_intent("tenant-a", pending_tasks(services)[0].intent_id)
    if expect == "failed":
        assert intent.status == IntentStatus.FAILED and intent.last_error and intent.attempts == 1  # no retry of the hopeless
        assert execution.status == ExecutionStatus.FAILED and execution.error == intent.last_error
    else:
        parsed = services.store.get_artifact("tenant-a", intent.result_artifact_id)
        assert parsed.semantic_descriptor.record_count in (2, 3)
        if name == "sheet.csv":
            assert parsed.detected_type == "xlsx"  # the content decides, not the name
    assert services.store.get_artifact("tenant-a", file_id) == before


def test_upload_with_a_profile_is_dispatched_when_it_is_ingested(services, function_client, auth):
    import base64

    import requests

    from shared.domain.messages import IngestUploadedObject, MessagePublished, StorageObjectData

    upload = function_client(*INGEST).post("/v1/intents/request_upload", headers=auth(), json={"parameters": {
        "ui_name": "orders.csv", "file_size": len(CSV), "mime_type": "text/csv", "ingestion_profile": "structured"}}).get_json()
    assert upload["pending_intent_id"]
    requests.put(upload["upload_url"], data=CSV, headers=upload["headers"], timeout=30).raise_for_status()
    info = services.blobs.stat(upload["bucket"], upload["object_name"])
    result = messagebus(services).handle(IngestUploadedObject("ce-9", "//storage.googleapis.com/projects/_/buckets/local-uploads",
                             StorageObjectData(bucket=info.bucket, name=info.name, generation=info.generation, size=info.size)))
    ingested = next(r for r in services.store.outbox_records() if r.payload.get("event_type") == "artifact_ingested")
    message = MessagePublished.model_validate({"message": {
        "data": base64.b64encode(json.dumps(ingested.payload).encode()).decode(), "attributes": {}}})
    from dev.firestore_meter import FirestoreMeter

    with FirestoreMeter() as meter:
        assert messagebus(services).handle(message.event()) == "dispatched"
    # The waiting intent is found through the upload record, by id: no query inside the transaction.
    assert meter.queries_in_transaction == 0 and meter.transactions == 1
    assert messagebus(services).handle(message.event()) == "duplicate"
    intent = services.store.get_intent("tenant-a", upload["pending_intent_id"])
    assert intent.status == IntentStatus.IN_PROGRESS and intent.target_artifact_id == result.file_id
    assert run_worker(services).status == "completed"
    assert services.store.get_intent("tenant-a", upload["pending_intent_id"]).status == IntentStatus.COMPLETED


def test_a_claim_writes_only_the_intent_and_its_log_entries_commit_with_the_attempts_end(services, function_client, auth):
    """The worker's claim is one write (the intent's lease); the execution log gets the claim with the attempt's end,
    and an attempt whose worker died holding the lease is logged by the claim that takes over."""
    from dev.firestore_meter import FirestoreMeter

    file_id = ingest(function_client, auth())
    execution_id = submit(function_client, auth(), file_id, ingestion_profile="structured").get_json()["execution_id"]
    task = pending_tasks(services)[0]
    intent = services.store.get_intent("tenant-a", task.intent_id)
    dead = intent.model_copy(update={"attempts": 1, "lease_owner": "worker_dead", "lease_expires_at": utcnow() - timedelta(seconds=1)})
    services.store.run_in_transaction(lambda tx: tx.put_intent(dead))
    with FirestoreMeter() as meter:
        assert run_worker(services, task).status == "completed"
    assert meter.written["tenants/*/executions"] == 1 and meter.written["tenants/*/intents"] == 2  # claim + end
    log = services.store.get_execution("tenant-a", execution_id).stages
    names = [s.stage for s in log]
    assert names[names.index("attempt_failed"):names.index("attempt_failed") + 2] == ["attempt_failed", "claimed"]
    lapsed, claimed = log[names.index("attempt_failed")], log[names.index("claimed")]
    assert lapsed.detail["worker"] == "worker_dead" and lapsed.detail["attempt"] == 1 and claimed.detail["attempt"] == 2
    assert names[-1] == "complete_execution"


def _completion_messages(services, execution_id):
    return [r for r in services.store.outbox_records() if r.kind == "event" and r.payload["event_type"] == "parse_completed"
            and r.payload["execution_id"] == execution_id]


def test_a_completion_cloud_tasks_will_retry_holds_its_messages_for_that_retry(services, function_client, auth, event_tap):
    """Not on the queue's last attempt, the completion's messages ride in the execution's ending update, held for
    Cloud Tasks: no outbox document, no delivery mark, never swept. A worker that dies before sending them is
    retried; the retry finds the intent completed and sends them, under the same event id."""
    from tests.integration.test_outbox import SimulatedCrash, crashing_services

    file_id = ingest(function_client, auth())
    execution_id = submit(function_client, auth(), file_id, ingestion_profile="structured").get_json()["execution_id"]
    task = pending_tasks(services)[0]
    event_tap.pull(timeout=1)  # what the ingest and the dispatch sent
    with pytest.raises(SimulatedCrash):
        messagebus(crashing_services(services, "before_publish")).handle(RunParseTask(task, retry_count=0))
    (held,) = _completion_messages(services, execution_id)
    assert held.status == "trigger" and held.document_id == f"tenants/tenant-a/executions/{execution_id}#end"
    assert services.relay.sweep(grace_seconds=0).delivered == []  # the retry's, not the sweep's
    assert services.store.get_execution("tenant-a", execution_id).status == ExecutionStatus.COMPLETED

    retry = messagebus(services).handle(RunParseTask(task, retry_count=1))  # Cloud Tasks' retry of the task
    assert retry.status == "duplicate"
    sent = [e for e in event_tap.pull(timeout=3, min_count=1) if e.event_type == "parse_completed"]
    assert [e.event_id for e in sent] == [held.record_id]


def test_a_completion_on_the_queues_last_attempt_leaves_its_messages_to_the_sweep(services, function_client, auth, event_tap):
    """No retry follows the last attempt (or an attempt that does not say which it is), so nothing would send
    held messages again: they go to an outbox document that the sweep delivers."""
    from tests.integration.test_outbox import SimulatedCrash, crashing_services

    file_id = ingest(function_client, auth())
    execution_id = submit(function_client, auth(), file_id, ingestion_profile="structured").get_json()["execution_id"]
    task = pending_tasks(services)[0]
    last = services.settings.parse_task_attempts - 1
    with pytest.raises(SimulatedCrash):
        messagebus(crashing_services(services, "before_publish")).handle(RunParseTask(task, retry_count=last))
    (record,) = _completion_messages(services, execution_id)
    assert record.status == "pending" and "/" not in record.document_id
    assert record.record_id in services.relay.sweep(grace_seconds=0).delivered
    assert any(e.event_id == record.record_id for e in event_tap.pull(timeout=3, min_count=1))
