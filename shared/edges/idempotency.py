"""The Idempotency-Key policy, in one decorator at the HTTP edge (after AWS Powertools' idempotency handler).

The record store only gets, puts and deletes records (`IdempotencyRepository`); every decision is made here:
- a key seen with another request body is refused (422 IDEMPOTENCY_KEY_REUSED);
- a key whose first request is still running is refused (409 IDEMPOTENCY_IN_PROGRESS), until the record is older than
  the staleness window: then the first request is taken for dead and the work runs again;
- a completed key answers with the first response and runs nothing;
- a fault of ours (5xx, or an exception) deletes the record, so the client's retry runs the work again.
Two requests that race for a fresh key are told apart by the store's conditional put: the loser decides again."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.domain.errors import Conflict, ValidationFailed
from shared.domain.ids import stable_key
from shared.domain.models import utcnow
from shared.ports import IdempotencyRecord, IdempotencyRepository, RecordChanged

STALE_AFTER = timedelta(minutes=5)
Response = tuple[int, dict[str, Any]]


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyPolicy:
    def __init__(self, store: IdempotencyRepository, ttl: timedelta, *, stale_after: timedelta = STALE_AFTER,
                 clock: Callable[[], datetime] = utcnow):
        self.store = store
        self.ttl = ttl
        self.stale_after = stale_after
        self.clock = clock

    def _claim(self, tenant_id: str, key: str, digest: str) -> Response | None:
        """The first answer when there is one to replay; None once this request holds the key."""
        for _ in range(2):  # a lost race for the key decides again, on what the winner wrote
            existing = self.store.get_idempotency(tenant_id, key)
            now = self.clock()
            if existing is not None:
                if existing.request_hash != digest:
                    raise ValidationFailed("This Idempotency-Key was already used with a different request.",
                                           code="IDEMPOTENCY_KEY_REUSED")
                if existing.completed:
                    return existing.status_code or 200, dict(existing.body or {})
                if now - existing.started_at < self.stale_after:
                    raise Conflict("A request with this Idempotency-Key is still in progress.",
                                   code="IDEMPOTENCY_IN_PROGRESS")
            started = IdempotencyRecord(request_hash=digest, started_at=now, expire_at=now + self.ttl)
            try:
                self.store.put_idempotency(tenant_id, key, started, replacing=existing, conditional=True)
                return None
            except RecordChanged:
                continue
        raise Conflict("A request with this Idempotency-Key is still in progress.", code="IDEMPOTENCY_IN_PROGRESS")

    def run(self, tenant_id: str, key: str, request: dict[str, Any], work: Callable[[], Response]) -> Response:
        digest = request_hash(request)
        replay = self._claim(tenant_id, key, digest)
        if replay is not None:
            return replay
        try:
            status, body = work()
        except BaseException:
            self.store.delete_idempotency(tenant_id, key)
            raise
        if status >= 500:
            self.store.delete_idempotency(tenant_id, key)  # a fault of ours: let the retry run again
        else:
            now = self.clock()
            self.store.put_idempotency(tenant_id, key, IdempotencyRecord(
                request_hash=digest, started_at=now, expire_at=now + self.ttl, completed=True, status_code=status,
                body=body))
        return status, body


def idempotent(store_of: Callable[[Any], IdempotencyRepository], ttl_days_of: Callable[[Any], int]) -> Callable[
        [Callable[[Any, Any, dict[str, Any]], Response]], Callable[[Any, Any, dict[str, Any]], Response]]:
    """Decorate `execute(call, intent, request)`: with an Idempotency-Key the same key from the same tenant returns
    the first answer with no second side effect; keys are scoped to the intent type."""

    def decorate(execute: Callable[[Any, Any, dict[str, Any]], Response]) -> Callable[[Any, Any, dict[str, Any]], Response]:
        @functools.wraps(execute)
        def wrapper(call: Any, intent: Any, request: dict[str, Any]) -> Response:
            if intent.idempotency_key is None:
                return execute(call, intent, request)
            policy = IdempotencyPolicy(store_of(call), timedelta(days=ttl_days_of(call)))
            key = stable_key("idempotency", intent.intent_type, intent.idempotency_key)
            return policy.run(intent.tenant_id, key, request, lambda: execute(call, intent, request))

        return wrapper

    return decorate
