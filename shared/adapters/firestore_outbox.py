"""Firestore adapter, the outbox repository: the messages of one commit, claimed by the sweep under a lease, marked once
delivered (or held for its trigger's retry, and never swept). They ride in a document the commit writes anyway, and
their id is that document's path: the execution it creates (`outbox`), the execution it ends when they are held
(`outbox_end`, id suffixed `#end`), or the upload record finalize ingests (held). Any other commit writes them to a
document of the top-level `outbox` collection. The sweep reads the two places undelivered messages can wait in.
Mixed into FirestoreStore."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_common import COMMIT_ATTEMPTS, safe_id, with_backoff
from shared.adapters.firestore_documents import OUTBOX_END_FIELD, OUTBOX_FIELD, OUTBOX_SHARDS
from shared.domain.models import utcnow
from shared.ports import OutboxRecord

UNDELIVERED = ("pending", "delivering")


class FirestoreOutbox:
    client: firestore.Client
    transaction_budget: float

    def _outbox_at(self, document_id: str) -> tuple[firestore.DocumentReference, str] | None:
        """Where a commit's messages are, and the prefix of their fields there: an execution document's path
        (tenants/{tenant}/executions/{execution}, `#end` for its ending commit's), an upload record's (finalize's held
        messages), or the id of an outbox document."""
        path, _, end = document_id.partition("#")
        parts = path.split("/")
        if len(parts) == 4 and parts[0] == "tenants" and all(map(safe_id, parts[1::2])) and (parts[2], end) in (
                ("executions", ""), ("executions", "end"), ("uploads", "")):
            return self.client.document(path), (OUTBOX_END_FIELD if end else OUTBOX_FIELD) + "."
        if len(parts) == 1 and safe_id(document_id):
            return self.client.collection("outbox").document(document_id), ""
        return None

    def _sources(self) -> list[tuple[Any, str]]:
        """Both places undelivered messages wait, with the prefix of their fields."""
        return [(self.client.collection("outbox"), ""),
                (self.client.collection_group("executions"), OUTBOX_FIELD + ".")]

    @staticmethod
    def _fields(snap: Any, prefix: str) -> dict[str, Any] | None:
        data = (snap.to_dict() or {}) if snap.exists else {}
        found = data.get(prefix.rstrip(".")) if prefix else data
        return found or None

    def _records(self, data: dict[str, Any]) -> list[OutboxRecord]:
        """The messages of one outbox document (a document written before messages rode together holds one)."""
        messages = data.get("messages") or [{"record_id": data["record_id"], "kind": data["kind"], "payload": data["payload"]}]
        return [OutboxRecord(
            record_id=m["record_id"], kind=m["kind"], status=data["status"], payload=m["payload"],
            attempts=int(data.get("attempts", 0)), created_at=data["created_at"], lease_until=data.get("lease_until"),
            document_id=data["record_id"]) for m in messages]

    def claim_outbox(self, document_id: str, lease_seconds: int) -> list[OutboxRecord] | None:
        at = self._outbox_at(document_id)
        if at is None:
            return None
        ref, prefix = at

        @firestore.transactional
        def _claim(transaction: firestore.Transaction) -> list[OutboxRecord] | None:
            data = self._fields(ref.get(transaction=transaction), prefix)
            if data is None:
                return None
            now = utcnow()
            if data["status"] == "delivered":
                return None
            if data["status"] == "delivering" and data.get("lease_until") and data["lease_until"] > now:
                return None
            update = {"status": "delivering", "lease_until": now + timedelta(seconds=lease_seconds),
                      "attempts": int(data.get("attempts", 0)) + 1}
            transaction.update(ref, {prefix + k: v for k, v in update.items()})
            return self._records({**data, **update})

        return with_backoff(lambda: _claim(self.client.transaction(max_attempts=COMMIT_ATTEMPTS)), self.transaction_budget)

    def _update(self, document_id: str, fields: dict[str, Any]) -> None:
        at = self._outbox_at(document_id)
        if at is not None:
            at[0].update({at[1] + k: v for k, v in fields.items()})

    def mark_delivered(self, record_id: str, ttl_days: int) -> None:
        now = utcnow()
        # An outbox document expires; messages in an execution document stay its record of what it sent.
        expiry = {} if "/" in record_id else {"expire_at": now + timedelta(days=ttl_days)}
        self._update(record_id, {"status": "delivered", "delivered_at": now, "lease_until": None, **expiry})

    def release_outbox(self, record_id: str, error: str) -> None:
        self._update(record_id, {"status": "pending", "lease_until": None, "last_error": error[:1000]})

    def _undelivered(self, status: str, older_than: datetime | None, limit: int) -> Iterator[tuple[datetime, str]]:
        """(created_at, id) of undelivered messages in both places, oldest first in each. One query per place and
        status, over every shard at once (`in`), each shard served by the (status, shard, created_at) index: no index
        on an ever-increasing created_at alone, which would undo the shards' spreading of index writes."""
        for source, prefix in self._sources():
            query = (source.where(filter=FieldFilter(prefix + "status", "==", status))
                     .where(filter=FieldFilter(prefix + "shard", "in", list(range(OUTBOX_SHARDS)))))
            if older_than is not None:
                query = query.where(filter=FieldFilter(prefix + "created_at", "<=", older_than))
            for snap in query.order_by(prefix + "created_at").limit(limit).stream():
                yield snap.get(prefix + "created_at"), snap.reference.path if prefix else snap.id

    def pending_outbox(self, older_than: datetime, limit: int) -> list[str]:
        found = [f for status in UNDELIVERED for f in self._undelivered(status, older_than, limit)]
        return [document_id for _, document_id in sorted(found)[:limit]]  # oldest first, across places and shards

    def oldest_pending_outbox(self) -> datetime | None:
        """When the oldest undelivered message was committed: one document from each place and status."""
        return min((created for status in UNDELIVERED for created, _ in self._undelivered(status, None, 1)), default=None)

    def held_outbox(self, document_id: str) -> list[OutboxRecord]:
        """The messages of a commit its trigger resends (status "trigger"); none when there are no such messages."""
        at = self._outbox_at(document_id)
        data = self._fields(at[0].get(), at[1]) if at is not None else None
        return self._records(data) if data and data.get("status") == "trigger" else []

    def outbox_records(self) -> Iterator[OutboxRecord]:
        for snap in self.client.collection("outbox").stream():
            yield from self._records(snap.to_dict() or {})
        for group in ("executions", "uploads"):
            for snap in self.client.collection_group(group).stream():
                for field in (OUTBOX_FIELD, OUTBOX_END_FIELD):
                    data = (snap.to_dict() or {}).get(field)
                    if data:
                        yield from self._records(data)

