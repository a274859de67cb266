"""Firestore adapter: the artifact registry, pending intents, execution log, uploads, idempotency, dedup and outbox.

Layout (every tenant's data lives under its tenant):
  tenants/{tenant}/artifacts|intents|executions|uploads|idempotency|journeys/{id}
  tenants/{tenant}/intent_slots/{intent_type}:{target_artifact_id}   which intent of a file is pending / running
  outbox/{record_id}   dedup/{key}   (cross-tenant machinery; each record carries its tenant_id)
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_common import COMMIT_ATTEMPTS, DocumentGate, safe_id, with_backoff
from shared.adapters.firestore_documents import execution_of
from shared.adapters.firestore_outbox import FirestoreOutbox
from shared.adapters.firestore_references import REFERENCES, FirestoreReferences, artifact_of, stored_references
from shared.adapters.firestore_tx import FirestoreTx
from shared.adapters.firestore_uploads import FirestoreUploads, upload_of
from shared.domain.errors import BadRequest
from shared.domain.journey_model import Journey
from shared.domain.models import Artifact, Execution, PendingIntent, Upload
from shared.domain.states import IntentStatus
from shared.logs import get_logger
from shared.ports import AlreadyStored, IdempotencyRecord, OutboxRecord, Page, RecordChanged, Tx, Versioned

T = TypeVar("T")
log = get_logger(__name__)
# Contention is retried inside the request's budget with jittered exponential backoff, then answered 503.
TRANSACTION_BUDGET_SECONDS = 15.0


class FirestoreStore(FirestoreOutbox, FirestoreReferences, FirestoreUploads):
    def __init__(self, client: firestore.Client, dedup_ttl_days: int = 7,
                 transaction_budget: float = TRANSACTION_BUDGET_SECONDS):
        self.client = client
        self.dedup_ttl_days = dedup_ttl_days
        self.transaction_budget = transaction_budget
        self.gate = DocumentGate()

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

    def _read_versioned(self, ref: firestore.DocumentReference | None) -> tuple[dict[str, Any], Any] | None:
        if ref is None:
            return None
        snap = ref.get()
        return (snap.to_dict() or {}, snap.update_time) if snap.exists else None

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
                return _body(self.client.transaction(max_attempts=COMMIT_ATTEMPTS))
            finally:
                if not nested:
                    self.gate.leave()

        try:
            result = with_backoff(attempt, self.transaction_budget, deadline)
        except gexc.AlreadyExists as exc:  # a create-only write found its document: nothing was committed
            raise AlreadyStored(str(exc)) from exc
        except gexc.FailedPrecondition as exc:  # an adopted document changed since it was read: nothing was committed
            raise RecordChanged(str(exc)) from exc
        return result, holder["tx"].staged

    def write_batch(self, fn: Callable[[Tx], T]) -> tuple[T, list[OutboxRecord]]:
        """Blind writes (no reads) committed together as one batch: one commit RPC, nothing to begin."""
        batch = self.client.batch()
        tx = FirestoreTx(self, batch, blind=True)  # type: ignore[arg-type]  # a WriteBatch buffers writes alike
        value = fn(tx)
        tx.flush()
        try:
            with_backoff(batch.commit, self.transaction_budget)
        except gexc.AlreadyExists as exc:  # a create-only write found its document: the batch wrote nothing
            raise AlreadyStored(str(exc)) from exc
        except gexc.FailedPrecondition as exc:  # an adopted document changed since it was read: nothing written
            raise RecordChanged(str(exc)) from exc
        return value, tx.staged

    # artifacts
    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        return artifact_of(self._read(self.ref(tenant_id, "artifacts", artifact_id)))

    def read_artifact(self, tenant_id: str, artifact_id: str) -> Versioned[Artifact] | None:
        found = self._read_versioned(self.ref(tenant_id, "artifacts", artifact_id))
        artifact = artifact_of(found[0]) if found else None
        return Versioned(artifact, found[1], {REFERENCES: stored_references(found[0])}) if found and artifact else None

    def list_artifacts(
        self, tenant_id: str, *, artifact_type: str | None, lifecycle_state: str | None, session_id: str | None,
        page_size: int, page_token: str | None,
    ) -> Page:
        col = self.tenant(tenant_id).collection("artifacts")
        query: Any = col
        for field, value in (("artifact_type", artifact_type), ("lifecycle_state", lifecycle_state), ("session_id", session_id)):
            if value is not None:
                query = query.where(filter=FieldFilter(field, "==", value))
        return _page(query, col, artifact_of, page_size, page_token)

    def list_children(self, tenant_id: str, artifact_id: str) -> list[Artifact]:
        query = self.tenant(tenant_id).collection("artifacts").where(
            filter=FieldFilter("lineage.derived_from", "array_contains", artifact_id)
        )
        return [a for a in (artifact_of(s.to_dict()) for s in query.limit(100).stream()) if a is not None]

    def expired_artifacts(self, now: datetime, limit: int) -> list[Artifact]:
        """Artifacts whose retention ran out, across tenants, oldest first (the sweep expires them)."""
        query = (
            self.client.collection_group("artifacts")
            .where(filter=FieldFilter("expires_at", "<=", now))
            .order_by("expires_at")
            .limit(limit)
        )
        return [a for a in (artifact_of(s.to_dict()) for s in query.stream()) if a is not None]

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
        return _page(query, col, PendingIntent.model_validate, page_size, page_token)

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
        return [e for e in (execution_of(s.to_dict()) for s in query.stream()) if e is not None]

    # uploads
    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        return upload_of(self._read(self.ref(tenant_id, "uploads", upload_id)))

    def read_upload(self, tenant_id: str, upload_id: str) -> Versioned[Upload] | None:
        found = self._read_versioned(self.ref(tenant_id, "uploads", upload_id))
        upload = upload_of(found[0]) if found else None
        return Versioned(upload, found[1]) if found and upload else None

    def seen_and_upload(self, keys: list[str], tenant_id: str | None, upload_id: str | None) -> tuple[bool, Upload | None]:
        """Whether any dedup key was recorded, and the upload record: one batched read."""
        refs = [self.client.collection("dedup").document(k) for k in keys]
        upload_ref = self.ref(tenant_id, "uploads", upload_id) if tenant_id and upload_id else None
        found = {snap.reference.path: snap for snap in self.client.get_all([*refs, *([upload_ref] if upload_ref else [])])}
        seen = any(found[r.path].exists for r in refs)
        upload_snap = found.get(upload_ref.path) if upload_ref else None
        upload = upload_of(upload_snap.to_dict()) if upload_snap is not None and upload_snap.exists else None
        return seen, upload

    # executions
    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        """From its own document, or from the upload record that keeps it (shared/adapters/firestore_uploads.py)."""
        return execution_of(self._read(self.ref(tenant_id, "executions", execution_id))
                            or self.kept_execution(tenant_id, execution_id))

    # idempotency of HTTP submissions: records only (the policy is shared.edges.idempotency)
    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        ref = self.ref(tenant_id, "idempotency", key)
        snap = ref.get() if ref is not None else None
        if snap is None or not snap.exists:
            return None
        data = snap.to_dict() or {}
        return IdempotencyRecord(
            request_hash=data.get("request_hash", ""), started_at=data["started_at"], expire_at=data["expire_at"],
            completed=data.get("state") == "completed", status_code=data.get("status"), body=data.get("body"),
            version=snap.update_time)

    def put_idempotency(self, tenant_id: str, key: str, record: IdempotencyRecord, *,
                        replacing: IdempotencyRecord | None = None, conditional: bool = False) -> None:
        """A conditional put is a create when nothing was there, else an update that holds only while the record is
        still the version read (Firestore preconditions: no transaction, one write); RecordChanged otherwise."""
        ref = self.ref_required(tenant_id, "idempotency", key)
        doc = {"state": "completed" if record.completed else "in_progress", "request_hash": record.request_hash,
               "started_at": record.started_at, "expire_at": record.expire_at, "status": record.status_code,
               "body": record.body}
        try:
            if not conditional:
                ref.set(doc)
            elif replacing is None:
                ref.create(doc)
            else:
                ref.update(doc, option=self.client.write_option(last_update_time=replacing.version))
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound) as exc:
            raise RecordChanged(str(exc)) from exc

    def delete_idempotency(self, tenant_id: str, key: str) -> None:
        self.ref_required(tenant_id, "idempotency", key).delete()

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


def _page(query: Any, col: Any, parse: Callable[[Any], Any], page_size: int, page_token: str | None) -> Page:
    """Newest first, with an opaque cursor (the last document seen), never an offset."""
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING)
    if page_token:
        cursor_id = _decode_token(page_token)
        snap = col.document(cursor_id).get() if safe_id(cursor_id) else None
        if snap is None or not snap.exists:
            raise BadRequest("page_token is not valid", code="INVALID_PAGE_TOKEN")
        query = query.start_after(snap)
    snaps = list(query.limit(page_size + 1).stream())
    items = [parse(s.to_dict()) for s in snaps[:page_size]]
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
