"""The periodic sweep (Cloud Scheduler → HTTP): deliver outbox records the relay missed, and re-dispatch parse
intents whose lease lapsed (a worker died, or a task was lost) until their attempts run out."""

from __future__ import annotations

from typing import Any

from shared.bootstrap import Services
from shared.domain.errors import Duplicate
from shared.domain.events import intent_event, parse_command
from shared.domain.models import PendingIntent, StageEntry, utcnow
from shared.domain.states import IntentStatus
from shared.logs import get_logger
from shared.ports import Tx
from shared.runtime.context import Outcome, commit_outcome
from shared.usecases.pending_intents import dispatch_lease, update_intent_status

log = get_logger(__name__)


def _redispatch(services: Services, stale: PendingIntent) -> str:
    max_attempts = services.settings.max_parse_attempts
    execution_id = stale.execution_id or ""

    def step(tx: Tx) -> Outcome:
        intent = tx.get_intent(stale.tenant_id, stale.intent_id)
        now = utcnow()
        if (intent is None or intent.status != IntentStatus.IN_PROGRESS or intent.lease_expires_at is None
                or intent.lease_expires_at > now):
            raise Duplicate()
        if intent.attempts >= max_attempts:
            reason = f"Gave up after {intent.attempts} attempts: {intent.last_error or 'the worker did not finish'}."
            failed = update_intent_status(intent, IntentStatus.FAILED, last_error=reason,
                                          error_code="MAX_ATTEMPTS_EXCEEDED", lease_owner=None, lease_expires_at=None)
            tx.put_intent(failed)
            return Outcome(200, {}, events=[intent_event("intent_failed", failed, execution_id, reason=reason)],
                           failure=(reason, "MAX_ATTEMPTS_EXCEEDED"))
        again = intent.model_copy(update={**dispatch_lease(services), "updated_at": now})
        tx.put_intent(again)
        tx.log_stage(intent.tenant_id, execution_id, StageEntry(stage="redispatched", detail={"after_attempts": intent.attempts}))
        return Outcome(202, {}, commands=[parse_command(again, execution_id, dispatch_round=intent.attempts + 1)], complete=False)

    try:
        outcome = commit_outcome(services, stale.tenant_id, execution_id, step, "parse_content")
    except Duplicate:
        return "skipped"
    return "failed" if outcome.failure else "redispatched"


def run_sweep(services: Services, limit: int = 200) -> dict[str, Any]:
    report = services.relay.sweep(services.settings.outbox_grace_seconds, limit)
    leases: dict[str, int] = {}
    for stale in services.store.expired_leases(utcnow(), limit):
        result = _redispatch(services, stale)
        leases[result] = leases.get(result, 0) + 1
    summary = {"outbox": {"delivered": len(report.delivered), "failed": len(report.failed), "skipped": len(report.skipped)},
               "leases": leases}
    log.info("sweep finished", extra={"fields": summary})
    return summary
