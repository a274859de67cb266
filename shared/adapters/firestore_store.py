"""Firestore adapter: the artifact registry, pending intents, execution log, uploads, idempotency, dedup and outbox.

Layout (every tenant's data lives under its tenant):
  tenants/{tenant}/artifacts|intents|executions|uploads|idempotency|journeys/{id}
  tenants/{tenant}/intent_slots/{intent_type}:{target_artifact_id}   which intent of a file is pending / running
  outbox/{record_id}   dedup/{key}   (cross-tenant machinery; each record carries its tenant_id)
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import exponential_sleep_generator
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.domain.errors import BadRequest, Conflict, TransientError, ValidationFailed
from shared.domain.journeys import Journey
from shared.domain.models import Artifact, Command, Event, Execution, PendingIntent, Reference, StageEntry, Upload, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.logs import current_origin, current_traceparent, get_logger
from shared.ports import OutboxRecord, Page, Tx

T = TypeVar("T")
log = get_logger(__name__)
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")
IDEMPOTENCY_STALE_AFTER = timedelta(minutes=5)
# The outbox is one top-level collection written at event rate; a shard field ahead of created_at in its index
# spreads those writes over 16 key ranges instead of one ever-increasing one (~500 writes/s each).
OUTBOX_SHARDS = 16
# Contention is retried inside the request's budget with jittered exponential backoff, then answered 503.
TRANSACTION_BUDGET_SECONDS = 15.0
_COMMIT_ATTEMPTS = 3  # commits the client retries at once (keeping its place in line) before we back off
_EXCEEDED = "Failed to commit transaction in"  # the client's ValueError once its commit attempts are spent
_CONTENTION = (gexc.Aborted, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError)
LIVE_SLOTS = {IntentStatus.PENDING: "pending_intent_id", IntentStatus.IN_PROGRESS: "running_intent_id"}


def slot_id(intent_type: str, target_artifact_id: str) -> str:
    return f"{intent_type}:{target_artifact_id}"


class _DocumentGate:
    """In-process single flight per document: transactions of this instance that start by reading the same document
    take turns, instead of all locking it in Firestore and aborting one another (each abort costs seconds on the
    emulator). Transactions on different documents never wait for each other. One gate per transaction at most,
    so gates cannot deadlock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._held = threading.local()

    def enter(self, path: str, deadline: float) -> None:
        if getattr(self._held, "lock", None) is not None:
            return
        with self._guard:
            lock = self._locks.get(path)
            if lock is None:
                lock = threading.Lock()
                self._locks[path] = lock
        if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TransientError(f"{path} is busy with concurrent changes")
        self._held.lock = lock

    def holding(self) -> bool:
        return getattr(self._held, "lock", None) is not None

    def leave(self) -> None:
        lock = getattr(self._held, "lock", None)
        self._held.lock = None
        if lock is not None:
            lock.release()


def _is_contention(exc: BaseException) -> bool:
    return isinstance(exc, _CONTENTION) or (isinstance(exc, ValueError) and str(exc).startswith(_EXCEEDED))


def outbox_shard(record_id: str) -> int:
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) % OUTBOX_SHARDS



def safe_id(value: str | None) -> bool:
    return bool(value) and bool(_SAFE_ID.match(value or "")) and ".." not in (value or "")


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _doc(model: Any) -> dict[str, Any]:
    return _plain(model.model_dump(mode="python", by_alias=True))


def _in_journey[J: (Event, Command, Upload)](record: J) -> J:
    """What this invocation stages or creates carries its trace and the journey's first execution, unless it
    already does (an update keeps the journey it was created in)."""
    if record.trace_context and record.origin_execution_id:
        return record
    return record.model_copy(update={"trace_context": record.trace_context or current_traceparent(),
                                     "origin_execution_id": record.origin_execution_id or current_origin()})


def _stage_doc(entry: StageEntry) -> dict[str, Any]:
    return _plain(entry.model_dump(mode="python"))


def _exec_update(
    entry: StageEntry | list[StageEntry], status: ExecutionStatus | None, error: str | None, error_code: str | None,
    result: dict[str, Any] | None, intent_id: str | None = None,
) -> dict[str, Any]:
    entries = entry if isinstance(entry, list) else [entry]
    data: dict[str, Any] = {"stages": firestore.ArrayUnion([_stage_doc(e) for e in entries]), "updated_at": entries[-1].at}
    if status is not None:
        data["status"] = status.value
    if error is not None:
        data["error"] = error
        data["error_code"] = error_code
    if result is not None:
        data["result"] = _plain(result)
    if intent_id is not None:
        data["intent_id"] = intent_id
    return data


class FirestoreTx:
    """Implements the Tx port over one firestore.Transaction."""

    def __init__(self, store: FirestoreStore, transaction: firestore.Transaction, deadline: float = float("inf")):
        self._s = store
        self._t = transaction
        self._deadline = deadline
        self._staged: list[OutboxRecord] = []
        self._owner: tuple[str, str] | None = None

    # reads
    def _get(self, ref: firestore.DocumentReference | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        self._s.gate.enter(ref.path, self._deadline)
        snap = ref.get(transaction=self._t)
        return snap.to_dict() if snap.exists else None

    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        data = self._get(self._s.ref(tenant_id, "artifacts", artifact_id))
        return Artifact.model_validate(data) if data else None

    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None:
        data = self._get(self._s.ref(tenant_id, "intents", intent_id))
        return PendingIntent.model_validate(data) if data else None

    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        data = self._get(self._s.ref(tenant_id, "uploads", upload_id))
        return Upload.model_validate(data) if data else None

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        data = self._get(self._s.ref(tenant_id, "executions", execution_id))
        return Execution.model_validate(data) if data else None

    def seen(self, key: str) -> bool:
        ref = self._s.client.collection("dedup").document(key)
        self._s.gate.enter(ref.path, self._deadline)
        return bool(ref.get(transaction=self._t).exists)

    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None:
        data = self._get(self._s.ref(tenant_id, "journeys", journey_id))
        return Journey.model_validate(data) if data else None

    # writes (buffered until commit)
    def put_artifact(self, artifact: Artifact) -> None:
        self._t.set(self._s.ref_required(artifact.tenant_id, "artifacts", artifact.artifact_id), _doc(artifact))

    def put_reference(self, reference: Reference) -> None:
        self._t.set(self._s.ref_required(reference.tenant_id, "references", reference.reference_id), _doc(reference))

    def delete_reference(self, tenant_id: str, reference_id: str) -> None:
        self._t.delete(self._s.ref_required(tenant_id, "references", reference_id))

    def create_artifact(self, artifact: Artifact) -> None:
        self._t.create(self._s.ref_required(artifact.tenant_id, "artifacts", artifact.artifact_id), _doc(artifact))

    def create_execution(self, execution: Execution) -> None:
        self._t.create(self._s.ref_required(execution.tenant_id, "executions", execution.execution_id), _doc(execution))

    def intents_of(self, tenant_id: str, intent_type: str, target_artifact_id: str) -> tuple[PendingIntent | None, PendingIntent | None]:
        """The pending and the running intent of one file, read by id through its slot document: no query inside a
        transaction (a query locks a key range and makes unrelated writers contend)."""
        slot = self._get(self._s.ref(tenant_id, "intent_slots", slot_id(intent_type, target_artifact_id))) or {}
        found: list[PendingIntent | None] = []
        for field, status in (("pending_intent_id", IntentStatus.PENDING), ("running_intent_id", IntentStatus.IN_PROGRESS)):
            intent = self.get_intent(tenant_id, slot[field]) if slot.get(field) else None
            # A pointer outlives its intent's state (the intent moved on); only an intent still in that state counts.
            found.append(intent if intent is not None and intent.status == status else None)
        return found[0], found[1]

    def put_intent(self, intent: PendingIntent) -> None:
        self._t.set(self._s.ref_required(intent.tenant_id, "intents", intent.intent_id), _doc(intent))
        field = LIVE_SLOTS.get(intent.status)
        if field and intent.target_artifact_id:
            # Every writer keeps the slot in step, in the same transaction, with a blind write (no extra read).
            ref = self._s.ref(intent.tenant_id, "intent_slots", slot_id(intent.intent_type, intent.target_artifact_id))
            if ref is not None:
                self._t.set(ref, {field: intent.intent_id, "updated_at": utcnow()}, merge=True)

    def put_upload(self, upload: Upload) -> None:
        upload = _in_journey(upload)
        self._t.set(self._s.ref_required(upload.tenant_id, "uploads", upload.upload_id), _doc(upload))

    def put_journey(self, journey: Journey) -> None:
        self._t.set(self._s.ref_required(journey.tenant_id, "journeys", journey.journey_id), _doc(journey))

    def mark_seen(self, key: str, info: dict[str, Any]) -> None:
        expire = utcnow() + timedelta(days=self._s.dedup_ttl_days)
        self._t.set(self._s.client.collection("dedup").document(key), {**_plain(info), "seen_at": utcnow(), "expire_at": expire})

    def _stage(self, record_id: str, kind: str, tenant_id: str, execution_id: str, payload: dict[str, Any]) -> None:
        """Buffered until the step ends: then ONE outbox document carries every message of the commit (`flush`)."""
        if any(r.record_id == record_id for r in self._staged):
            return  # the same stable id staged twice in one commit is one message
        self._staged.append(OutboxRecord(record_id=record_id, kind=kind, status="pending", payload=payload, attempts=0,
                                         created_at=utcnow(), lease_until=None))
        self._owner = self._owner or (tenant_id, execution_id)

    def flush(self) -> None:
        """Write the commit's outbox document. Its id is the message's id when there is one (stable across a retried
        commit), else a hash of all of them; the committer delivers it right after commit, the sweep after its grace."""
        if not self._staged:
            return
        ids = [r.record_id for r in self._staged]
        document_id = ids[0] if len(ids) == 1 else "batch_" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:40]
        self._staged = [replace(r, document_id=document_id) for r in self._staged]
        first = self._staged[0]
        tenant_id, execution_id = self._owner or ("", "")
        self._t.set(self._s.client.collection("outbox").document(document_id), {
            "record_id": document_id, "status": "pending", "attempts": 0, "created_at": first.created_at,
            "lease_until": None, "tenant_id": tenant_id, "execution_id": execution_id,
            "shard": outbox_shard(document_id),
            "messages": [{"record_id": r.record_id, "kind": r.kind, "payload": r.payload} for r in self._staged]})

    def stage_event(self, event: Event) -> None:
        event = _in_journey(event)
        self._stage(event.event_id, "event", event.tenant_id, event.execution_id, event.model_dump(mode="json"))

    def stage_command(self, command: Command) -> None:
        command = _in_journey(command)
        self._stage(command.command_id, "command", command.tenant_id, command.execution_id, command.model_dump(mode="json"))

    def stage_lineage(self, tenant_id: str, execution_id: str, events: list[dict[str, Any]]) -> None:
        """OpenLineage RunEvents ride in the commit's one outbox document, as one more message: no document of their
        own unless the commit stages nothing else. The id follows from the events, so a retried commit stages the same."""
        if events:
            record_id = "lineage_" + hashlib.sha256("\n".join(
                e["run"]["runId"] + e["eventType"] for e in events).encode()).hexdigest()[:40]
            self._stage(record_id, "lineage", tenant_id, execution_id, {"events": events})

    def log_stage(
        self, tenant_id: str, execution_id: str, entry: StageEntry | list[StageEntry], *, status: ExecutionStatus | None = None,
        error: str | None = None, error_code: str | None = None, result: dict[str, Any] | None = None,
        intent_id: str | None = None,
    ) -> None:
        ref = self._s.ref_required(tenant_id, "executions", execution_id)
        self._t.update(ref, _exec_update(entry, status, error, error_code, result, intent_id))

    @property
    def staged(self) -> list[OutboxRecord]:
        return list(self._staged)


class FirestoreStore:
    def __init__(self, client: firestore.Client, dedup_ttl_days: int = 7,
                 transaction_budget: float = TRANSACTION_BUDGET_SECONDS):
        self.client = client
        self.dedup_ttl_days = dedup_ttl_days
        self.transaction_budget = transaction_budget
        self.gate = _DocumentGate()

    # references
    def tenant(self, tenant_id: str) -> firestore.DocumentReference:
        return self.client.collection("tenants").document(tenant_id)

    def ref(self, tenant_id: str, kind: str, doc_id: str | None) -> firestore.DocumentReference | None:
        """None for an id that cannot exist, so a hostile id is simply not found."""
        if not (safe_id(tenant_id) and safe_id(doc_id)):
            return None
        return self.tenant(tenant_id).collection(kind).document(doc_id)

    def ref_required(self, tenant_id: str, kind: str, doc_id: str) -> firestore.DocumentReference:
        ref = self.ref(tenant_id, kind, doc_id)
        if ref is None:
            raise BadRequest(f"invalid {kind} id", code="INVALID_ID")
        return ref

    def _read(self, ref: firestore.DocumentReference | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        snap = ref.get()
        return snap.to_dict() if snap.exists else None

    # transactions
    def run_in_transaction(self, fn: Callable[[Tx], T]) -> tuple[T, list[OutboxRecord]]:
        holder: dict[str, FirestoreTx] = {}
        deadline = time.monotonic() + self.transaction_budget
        attempts = {"retries": 0}

        @firestore.transactional
        def _body(transaction: firestore.Transaction) -> T:
            if "tx" in holder:  # the client or our backoff runs an aborted step again: the contention_retries metric
                attempts["retries"] += 1
                log.warning("transaction retried after contention", extra={"fields": {"retry": attempts["retries"]}})
            tx = FirestoreTx(self, transaction, deadline)
            holder["tx"] = tx  # a retried attempt replaces the previous one's staged records
            value = fn(tx)
            tx.flush()
            return value

        def attempt() -> T:
            nested = self.gate.holding()  # a transaction run inside another's step keeps the outer one's turn
            try:
                return _body(self.client.transaction(max_attempts=_COMMIT_ATTEMPTS))
            finally:
                if not nested:
                    self.gate.leave()

        result = self._with_backoff(attempt, deadline)
        return result, holder["tx"].staged

    def write_batch(self, fn: Callable[[Tx], T]) -> tuple[T, list[OutboxRecord]]:
        """Blind writes (no reads) committed together as one batch: one commit RPC, nothing to begin."""
        batch = self.client.batch()
        tx = FirestoreTx(self, batch)  # type: ignore[arg-type]  # a WriteBatch buffers set/create/update/delete alike
        value = fn(tx)
        tx.flush()
        self._with_backoff(batch.commit)
        return value, tx.staged

    def _with_backoff(self, attempt: Callable[[], T], deadline: float | None = None) -> T:
        """Run a transaction again after contention, with jittered exponential backoff, while the budget lasts;
        then TransientError (503 with Retry-After at the edge). Other errors pass through untouched."""
        deadline = deadline if deadline is not None else time.monotonic() + self.transaction_budget
        delays = exponential_sleep_generator(initial=0.05, maximum=2.0)
        while True:
            try:
                return attempt()
            except Exception as exc:
                if not _is_contention(exc):
                    raise
                delay = next(delays)
                if time.monotonic() + delay > deadline:
                    raise TransientError(f"transaction contention outlasted {self.transaction_budget:.0f}s: {exc}") from exc
                time.sleep(delay)

    # artifacts
    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        data = self._read(self.ref(tenant_id, "artifacts", artifact_id))
        return Artifact.model_validate(data) if data else None

    def list_artifacts(
        self, tenant_id: str, *, artifact_type: str | None, lifecycle_state: str | None, session_id: str | None,
        page_size: int, page_token: str | None,
    ) -> Page:
        col = self.tenant(tenant_id).collection("artifacts")
        query: Any = col
        for field, value in (("artifact_type", artifact_type), ("lifecycle_state", lifecycle_state), ("session_id", session_id)):
            if value is not None:
                query = query.where(filter=FieldFilter(field, "==", value))
        return _page(query, col, Artifact, page_size, page_token)

    def list_children(self, tenant_id: str, artifact_id: str) -> list[Artifact]:
        query = self.tenant(tenant_id).collection("artifacts").where(
            filter=FieldFilter("lineage.derived_from", "array_contains", artifact_id)
        )
        return [Artifact.model_validate(s.to_dict()) for s in query.limit(100).stream()]

    def expired_artifacts(self, now: datetime, limit: int) -> list[Artifact]:
        """Artifacts whose retention ran out, across tenants, oldest first (the sweep expires them)."""
        query = (
            self.client.collection_group("artifacts")
            .where(filter=FieldFilter("expires_at", "<=", now))
            .order_by("expires_at")
            .limit(limit)
        )
        return [Artifact.model_validate(s.to_dict()) for s in query.stream()]

    # Data Brain references
    def get_reference(self, tenant_id: str, reference_id: str) -> Reference | None:
        data = self._read(self.ref(tenant_id, "references", reference_id))
        return Reference.model_validate(data) if data else None

    def list_references(self, tenant_id: str, artifact_id: str, limit: int = 100) -> list[Reference]:
        query = self.tenant(tenant_id).collection("references").where(filter=FieldFilter("artifact_id", "==", artifact_id))
        return [Reference.model_validate(s.to_dict()) for s in query.limit(limit).stream()]

    # intents
    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None:
        data = self._read(self.ref(tenant_id, "intents", intent_id))
        return PendingIntent.model_validate(data) if data else None

    def list_intents(
        self, tenant_id: str, *, target_artifact_id: str | None, status: str | None, page_size: int,
        page_token: str | None = None,
    ) -> Page:
        col = self.tenant(tenant_id).collection("intents")
        query: Any = col
        if target_artifact_id is not None:
            query = query.where(filter=FieldFilter("target_artifact_id", "==", target_artifact_id))
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", status))
        return _page(query, col, PendingIntent, page_size, page_token)

    def expired_leases(self, now: datetime, limit: int) -> list[PendingIntent]:
        query = (
            self.client.collection_group("intents")
            .where(filter=FieldFilter("status", "==", IntentStatus.IN_PROGRESS.value))
            .where(filter=FieldFilter("lease_expires_at", "<=", now))
            .order_by("lease_expires_at")
            .limit(limit)
        )
        return [PendingIntent.model_validate(s.to_dict()) for s in query.stream()]

    def stale_executions(self, status: str, updated_before: datetime, limit: int) -> list[Execution]:
        query = (
            self.client.collection_group("executions")
            .where(filter=FieldFilter("status", "==", status))
            .where(filter=FieldFilter("updated_at", "<=", updated_before))
            .order_by("updated_at")
            .limit(limit)
        )
        return [Execution.model_validate(s.to_dict()) for s in query.stream()]

    # uploads
    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        data = self._read(self.ref(tenant_id, "uploads", upload_id))
        return Upload.model_validate(data) if data else None

    def seen_and_upload(self, keys: list[str], tenant_id: str | None, upload_id: str | None) -> tuple[bool, Upload | None]:
        """Whether any dedup key was recorded, and the upload record: one batched read."""
        refs = [self.client.collection("dedup").document(k) for k in keys]
        upload_ref = self.ref(tenant_id, "uploads", upload_id) if tenant_id and upload_id else None
        found = {snap.reference.path: snap for snap in self.client.get_all([*refs, *([upload_ref] if upload_ref else [])])}
        seen = any(found[r.path].exists for r in refs)
        upload_snap = found.get(upload_ref.path) if upload_ref else None
        upload = Upload.model_validate(upload_snap.to_dict()) if upload_snap is not None and upload_snap.exists else None
        return seen, upload

    # executions
    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        data = self._read(self.ref(tenant_id, "executions", execution_id))
        return Execution.model_validate(data) if data else None

    # idempotency of HTTP submissions
    def begin_idempotent(self, tenant_id: str, key: str, request_hash: str, ttl_days: int) -> dict[str, Any] | None:
        ref = self.ref_required(tenant_id, "idempotency", key)

        @firestore.transactional
        def _begin(transaction: firestore.Transaction) -> dict[str, Any] | None:
            snap = ref.get(transaction=transaction)
            now = utcnow()
            if snap.exists:
                data = snap.to_dict() or {}
                if data.get("request_hash") != request_hash:
                    raise ValidationFailed(
                        "This Idempotency-Key was already used with a different request.",
                        code="IDEMPOTENCY_KEY_REUSED",
                    )
                if data.get("state") == "completed":
                    return {"status": data["status"], "body": data["body"]}
                if now - data["started_at"] < IDEMPOTENCY_STALE_AFTER:
                    raise Conflict("A request with this Idempotency-Key is still in progress.", code="IDEMPOTENCY_IN_PROGRESS")
            transaction.set(ref, {
                "state": "in_progress", "request_hash": request_hash, "started_at": now,
                "expire_at": now + timedelta(days=ttl_days),
            })
            return None

        return self._with_backoff(lambda: _begin(self.client.transaction(max_attempts=_COMMIT_ATTEMPTS)))

    def finish_idempotent(self, tenant_id: str, key: str, status: int, body: dict[str, Any]) -> None:
        self.ref_required(tenant_id, "idempotency", key).update(
            {"state": "completed", "status": status, "body": body, "completed_at": utcnow()}
        )

    def abandon_idempotent(self, tenant_id: str, key: str) -> None:
        self.ref_required(tenant_id, "idempotency", key).delete()

    # outbox
    def _records(self, data: dict[str, Any]) -> list[OutboxRecord]:
        """The messages of one outbox document (a document written before messages rode together holds one)."""
        messages = data.get("messages") or [{"record_id": data["record_id"], "kind": data["kind"], "payload": data["payload"]}]
        return [OutboxRecord(
            record_id=m["record_id"], kind=m["kind"], status=data["status"], payload=m["payload"],
            attempts=int(data.get("attempts", 0)), created_at=data["created_at"], lease_until=data.get("lease_until"),
            document_id=data["record_id"]) for m in messages]

    def claim_outbox(self, document_id: str, lease_seconds: int) -> list[OutboxRecord] | None:
        ref = self.client.collection("outbox").document(document_id)

        @firestore.transactional
        def _claim(transaction: firestore.Transaction) -> list[OutboxRecord] | None:
            snap = ref.get(transaction=transaction)
            if not snap.exists:
                return None
            data = snap.to_dict() or {}
            now = utcnow()
            if data["status"] == "delivered":
                return None
            if data["status"] == "delivering" and data.get("lease_until") and data["lease_until"] > now:
                return None
            update = {"status": "delivering", "lease_until": now + timedelta(seconds=lease_seconds),
                      "attempts": int(data.get("attempts", 0)) + 1}
            transaction.update(ref, update)
            return self._records({**data, **update})

        return self._with_backoff(lambda: _claim(self.client.transaction(max_attempts=_COMMIT_ATTEMPTS)))

    def mark_delivered(self, record_id: str, ttl_days: int) -> None:
        now = utcnow()
        self.client.collection("outbox").document(record_id).update(
            {"status": "delivered", "delivered_at": now, "lease_until": None, "expire_at": now + timedelta(days=ttl_days)}
        )

    def release_outbox(self, record_id: str, error: str) -> None:
        self.client.collection("outbox").document(record_id).update(
            {"status": "pending", "lease_until": None, "last_error": error[:1000]}
        )

    def pending_outbox(self, older_than: datetime, limit: int) -> list[str]:
        found: list[tuple[datetime, str]] = []
        for status in ("pending", "delivering"):
            for shard in range(OUTBOX_SHARDS):
                query = (
                    self.client.collection("outbox")
                    .where(filter=FieldFilter("status", "==", status))
                    .where(filter=FieldFilter("shard", "==", shard))
                    .where(filter=FieldFilter("created_at", "<=", older_than))
                    .order_by("created_at")
                    .limit(limit)
                )
                found.extend((s.get("created_at"), s.id) for s in query.stream())
        return [record_id for _, record_id in sorted(found)[:limit]]  # oldest first across shards

    def oldest_pending_outbox(self) -> datetime | None:
        """When the oldest undelivered record was committed: one indexed query per status, one document each."""
        oldest: list[datetime] = []
        for status in ("pending", "delivering"):
            query = (self.client.collection("outbox").where(filter=FieldFilter("status", "==", status))
                     .order_by("created_at").limit(1))
            oldest.extend(s.get("created_at") for s in query.stream())
        return min(oldest, default=None)

    def outbox_records(self) -> Iterator[OutboxRecord]:
        for snap in self.client.collection("outbox").stream():
            yield from self._records(snap.to_dict() or {})

    # journeys
    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None:
        data = self._read(self.ref(tenant_id, "journeys", journey_id))
        return Journey.model_validate(data) if data else None

    def find_journeys(self, tenant_id: str, *, upload_id: str | None = None, intent_id: str | None = None,
                      status: str | None = None, limit: int = 20) -> list[Journey]:
        """Journeys that wait on an upload or follow an intent; read outside any transaction, then re-read by id."""
        if not safe_id(tenant_id):
            return []
        query: Any = self.tenant(tenant_id).collection("journeys")
        for name, value in (("upload_id", upload_id), ("intent_id", intent_id), ("status", status)):
            if value is not None:
                query = query.where(filter=FieldFilter(name, "==", value))
        return [Journey.model_validate(s.to_dict()) for s in query.limit(limit).stream()]

    def stale_journeys(self, updated_before: datetime, limit: int) -> list[Journey]:
        query = (
            self.client.collection_group("journeys")
            .where(filter=FieldFilter("active", "==", True))
            .where(filter=FieldFilter("updated_at", "<=", updated_before))
            .order_by("updated_at")
            .limit(limit)
        )
        return [Journey.model_validate(s.to_dict()) for s in query.stream()]


def _page(query: Any, col: Any, model: Any, page_size: int, page_token: str | None) -> Page:
    """Newest first, with an opaque cursor (the last document seen), never an offset."""
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING)
    if page_token:
        cursor_id = _decode_token(page_token)
        snap = col.document(cursor_id).get() if safe_id(cursor_id) else None
        if snap is None or not snap.exists:
            raise BadRequest("page_token is not valid", code="INVALID_PAGE_TOKEN")
        query = query.start_after(snap)
    snaps = list(query.limit(page_size + 1).stream())
    items = [model.model_validate(s.to_dict()) for s in snaps[:page_size]]
    token = _encode_token(snaps[page_size - 1].id) if len(snaps) > page_size and items else None
    return Page(items=items, next_page_token=token)


def _encode_token(artifact_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": artifact_id}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        return str(json.loads(base64.urlsafe_b64decode(padded.encode()))["after"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("page_token is not valid", code="INVALID_PAGE_TOKEN") from None
