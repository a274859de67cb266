"""In-memory implementations of our own ports (every repository, and the commit), for use-case tests that need no
emulator. They pass the same contract tests as the Firestore adapter (tests/integration/test_record_contracts.py),
and the use-case tests in tests/runtime/test_usecases_in_memory.py run on them."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.adapters.memory_tx import Key, MemoryTx
from shared.domain.journey_model import Journey
from shared.domain.models import Artifact, Execution, PendingIntent, Reference, Upload, utcnow
from shared.domain.states import IntentStatus
from shared.ports import AlreadyStored, IdempotencyRecord, OutboxRecord, Page, RecordChanged, Store, Tx, Versioned

T = TypeVar("T")
ATTEMPTS = 5  # as Firestore retries a transaction whose reads changed


class MemoryIdempotencyRecords:
    """get / put / delete of Idempotency-Key records, with the conditional put every store offers: create when
    nothing was there, else replace only the version that was read."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}
        self._versions = 0
        self._lock = threading.Lock()

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        return self.records.get((tenant_id, key))

    def put_idempotency(self, tenant_id: str, key: str, record: IdempotencyRecord, *,
                        replacing: IdempotencyRecord | None = None, conditional: bool = False) -> None:
        with self._lock:
            current = self.records.get((tenant_id, key))
            if conditional and (current.version if current else None) != (replacing.version if replacing else None):
                raise RecordChanged(key)
            self._versions += 1
            self.records[(tenant_id, key)] = replace(record, version=self._versions)

    def delete_idempotency(self, tenant_id: str, key: str) -> None:
        with self._lock:
            self.records.pop((tenant_id, key), None)


def _page(items: list[Any], key: Callable[[Any], str], page_size: int, page_token: str | None) -> Page:
    """Newest first, with an opaque cursor (the last id seen), as the Firestore adapter pages."""
    items = sorted(items, key=lambda i: i.created_at, reverse=True)
    if page_token:
        after = base64.urlsafe_b64decode(page_token.encode()).decode()
        ids = [key(i) for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:page_size]
    token = base64.urlsafe_b64encode(key(page[-1]).encode()).decode() if len(items) > page_size and page else None
    return Page(items=page, next_page_token=token)


class MemoryStore(MemoryIdempotencyRecords):
    """The Store port in memory: documents as models, each with a version that every commit that writes it bumps."""

    def __init__(self) -> None:
        super().__init__()
        self.docs: dict[Key, tuple[Any, int]] = {}
        self.outbox: dict[str, dict[str, Any]] = {}
        self._clock = 0
        self._commit_lock = threading.RLock()

    # documents
    def entry(self, key: Key) -> tuple[Any, int]:
        value, version = self.docs.get(key, (None, 0))
        return (value.model_copy(deep=True) if hasattr(value, "model_copy") else value), version

    def value(self, key: Key) -> Any:
        return self.entry(key)[0]

    def all(self, kind: str, tenant_id: str | None = None) -> list[Any]:
        return [self.value(k) for k in list(self.docs) if k[0] == kind and tenant_id in (None, k[1])]

    # commits
    def _apply(self, tx: MemoryTx) -> None:
        for key, version in tx.adopted.items():
            if self.docs.get(key, (None, 0))[1] != version:
                raise RecordChanged(str(key))
        for op, key, _ in tx.writes:
            if op == "create" and key in self.docs:
                raise AlreadyStored(str(key))
        for op, key, value in tx.writes:
            self._clock += 1
            if op == "delete":
                self.docs.pop(key, None)
            elif op == "outbox":
                self.outbox[key[2]] = {"status": value[0].status, "attempts": 0, "created_at": value[0].created_at,
                                       "lease_until": None, "messages": value}
            elif op == "log":
                execution = self.value(key)
                if execution is None:
                    raise RecordChanged(f"{key} does not exist")  # Firestore: NotFound for an update
                entries, changes = value
                updated = execution.model_copy(update={**changes, "stages": [*execution.stages, *entries],
                                                       "updated_at": entries[-1].at})
                self.docs[key] = (Execution.model_validate(updated.model_dump()), self._clock)
            elif op in ("ref", "unref"):
                refs = dict(self.value(key) or {})
                if op == "ref":
                    refs[value.reference_id] = value
                else:
                    refs.pop(value, None)
                self.docs[key] = (refs, self._clock)
            else:
                self.docs[key] = (value.model_copy(deep=True) if hasattr(value, "model_copy") else value, self._clock)

    def run_in_transaction(self, fn: Callable[[MemoryTx], T]) -> tuple[T, list[OutboxRecord]]:
        for _ in range(ATTEMPTS):
            tx = MemoryTx(self)
            value = fn(tx)
            tx.flush()
            with self._commit_lock:
                if any(self.docs.get(k, (None, 0))[1] != v for k, v in tx.reads.items()):
                    continue  # what it read changed: run the step again, on what is there now
                self._apply(tx)
                return value, tx.staged
        raise RecordChanged("contention outlasted the transaction's attempts")

    def write_batch(self, fn: Callable[[MemoryTx], T]) -> tuple[T, list[OutboxRecord]]:
        tx = MemoryTx(self, blind=True)
        value = fn(tx)
        tx.flush()
        with self._commit_lock:
            self._apply(tx)
        return value, tx.staged

    # artifacts and their references
    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        value: Artifact | None = self.value(("artifacts", tenant_id, artifact_id))
        return value

    def read_artifact(self, tenant_id: str, artifact_id: str) -> Versioned[Artifact] | None:
        value, version = self.entry(("artifacts", tenant_id, artifact_id))
        return Versioned(value, version) if value is not None else None

    def list_artifacts(self, tenant_id: str, *, artifact_type: str | None, lifecycle_state: str | None,
                       session_id: str | None, page_size: int, page_token: str | None) -> Page:
        found = [a for a in self.all("artifacts", tenant_id) if artifact_type in (None, a.artifact_type)
                 and lifecycle_state in (None, a.lifecycle_state.value) and session_id in (None, a.session_id)]
        return _page(found, lambda a: a.artifact_id, page_size, page_token)

    def list_children(self, tenant_id: str, artifact_id: str) -> list[Artifact]:
        return [a for a in self.all("artifacts", tenant_id) if artifact_id in a.lineage.derived_from][:100]

    def expired_artifacts(self, now: datetime, limit: int) -> list[Artifact]:
        found = [a for a in self.all("artifacts") if a.expires_at is not None and a.expires_at <= now]
        return sorted(found, key=lambda a: a.expires_at)[:limit]

    def _references(self, tenant_id: str | None = None) -> list[Reference]:
        return [r for refs in self.all("references", tenant_id) for _, r in sorted((refs or {}).items())]

    def get_reference(self, tenant_id: str, reference_id: str) -> Reference | None:
        return next((r for r in self._references(tenant_id) if r.reference_id == reference_id), None)

    def list_references(self, tenant_id: str, artifact_id: str, limit: int = 100) -> list[Reference]:
        return [r for _, r in sorted((self.value(("references", tenant_id, artifact_id)) or {}).items())][:limit]

    def sample_references(self, start_at: str, limit: int) -> list[Reference]:
        ordered = sorted(self._references(), key=lambda r: r.reference_id)
        return ([r for r in ordered if r.reference_id >= start_at] + [r for r in ordered if r.reference_id < start_at])[:limit]

    # intents
    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None:
        value: PendingIntent | None = self.value(("intents", tenant_id, intent_id))
        return value

    def list_intents(self, tenant_id: str, *, target_artifact_id: str | None, status: str | None, page_size: int,
                     page_token: str | None = None) -> Page:
        found = [i for i in self.all("intents", tenant_id) if target_artifact_id in (None, i.target_artifact_id)
                 and status in (None, i.status.value)]
        return _page(found, lambda i: i.intent_id, page_size, page_token)

    def expired_leases(self, now: datetime, limit: int) -> list[PendingIntent]:
        found = [i for i in self.all("intents") if i.status == IntentStatus.IN_PROGRESS
                 and i.lease_expires_at is not None and i.lease_expires_at <= now]
        return sorted(found, key=lambda i: i.lease_expires_at)[:limit]

    # uploads, executions, journeys
    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        value: Upload | None = self.value(("uploads", tenant_id, upload_id))
        return value

    def read_upload(self, tenant_id: str, upload_id: str) -> Versioned[Upload] | None:
        value, version = self.entry(("uploads", tenant_id, upload_id))
        return Versioned(value, version) if value is not None else None

    def seen_and_upload(self, keys: list[str], tenant_id: str | None, upload_id: str | None) -> tuple[bool, Upload | None]:
        seen = any(("dedup", "", k) in self.docs for k in keys)
        return seen, self.get_upload(tenant_id, upload_id) if tenant_id and upload_id else None

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        value: Execution | None = self.value(("executions", tenant_id, execution_id))
        return value

    def stale_executions(self, status: str, updated_before: datetime, limit: int) -> list[Execution]:
        found = [e for e in self.all("executions") if e.status.value == status and e.updated_at <= updated_before]
        return sorted(found, key=lambda e: e.updated_at)[:limit]

    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None:
        value: Journey | None = self.value(("journeys", tenant_id, journey_id))
        return value

    def find_journeys(self, tenant_id: str, *, upload_id: str | None = None, intent_id: str | None = None,
                      status: str | None = None, limit: int = 20) -> list[Journey]:
        return [j for j in self.all("journeys", tenant_id) if upload_id in (None, j.upload_id)
                and intent_id in (None, j.intent_id) and status in (None, j.status.value)][:limit]

    def stale_journeys(self, updated_before: datetime, limit: int) -> list[Journey]:
        found = [j for j in self.all("journeys") if j.active and j.updated_at <= updated_before]
        return sorted(found, key=lambda j: j.updated_at)[:limit]

    # the outbox
    def _records(self, document_id: str, data: dict[str, Any]) -> list[OutboxRecord]:
        return [replace(r, status=data["status"], attempts=data["attempts"], lease_until=data["lease_until"],
                        document_id=document_id) for r in data["messages"]]

    def claim_outbox(self, document_id: str, lease_seconds: int) -> list[OutboxRecord] | None:
        with self._commit_lock:
            data, now = self.outbox.get(document_id), utcnow()
            if data is None or data["status"] in ("delivered", "trigger") or (
                    data["status"] == "delivering" and data["lease_until"] and data["lease_until"] > now):
                return None
            data.update(status="delivering", lease_until=now + timedelta(seconds=lease_seconds), attempts=data["attempts"] + 1)
            return self._records(document_id, data)

    def mark_delivered(self, record_id: str, ttl_days: int) -> None:
        if record_id in self.outbox:
            self.outbox[record_id].update(status="delivered", lease_until=None)

    def release_outbox(self, record_id: str, error: str) -> None:
        if record_id in self.outbox:
            self.outbox[record_id].update(status="pending", lease_until=None, last_error=error[:1000])

    def _undelivered(self) -> list[tuple[datetime, str]]:
        return sorted((d["created_at"], i) for i, d in self.outbox.items() if d["status"] in ("pending", "delivering"))

    def pending_outbox(self, older_than: datetime, limit: int) -> list[str]:
        return [i for created, i in self._undelivered() if created <= older_than][:limit]

    def oldest_pending_outbox(self) -> datetime | None:
        return next((created for created, _ in self._undelivered()), None)

    def outbox_records(self) -> Iterator[OutboxRecord]:
        for document_id, data in list(self.outbox.items()):
            yield from self._records(document_id, data)

    def held_outbox(self, document_id: str) -> list[OutboxRecord]:
        data = self.outbox.get(document_id)
        return self._records(document_id, data) if data and data["status"] == "trigger" else []


def _satisfies_the_ports() -> tuple[Store, Tx]:
    """mypy checks here that the in-memory store and its commit implement the Store and Tx ports whole."""
    store = MemoryStore()
    return store, MemoryTx(store)
