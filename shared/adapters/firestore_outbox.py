"""Firestore adapter, the outbox repository: one document per commit that staged messages, claimed by the sweep under a
lease, marked once delivered (or held for its trigger's retry, and never swept). Mixed into FirestoreStore."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_common import COMMIT_ATTEMPTS, safe_id, with_backoff
from shared.adapters.firestore_tx import OUTBOX_SHARDS
from shared.domain.models import utcnow
from shared.ports import OutboxRecord


def _data(snap: Any) -> dict[str, Any] | None:
    return (snap.to_dict() or {}) if snap.exists else None


class FirestoreOutbox:
    client: firestore.Client
    transaction_budget: float

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

        return with_backoff(lambda: _claim(self.client.transaction(max_attempts=COMMIT_ATTEMPTS)), self.transaction_budget)

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

    def held_outbox(self, document_id: str) -> list[OutboxRecord]:
        """The messages of a commit its trigger resends (status "trigger"); none when there is no such document."""
        data = _data(self.client.collection("outbox").document(document_id).get()) if safe_id(document_id) else None
        return self._records(data) if data and data.get("status") == "trigger" else []

    def outbox_records(self) -> Iterator[OutboxRecord]:
        for snap in self.client.collection("outbox").stream():
            yield from self._records(snap.to_dict() or {})

