"""The periodic sweep (Cloud Scheduler → HTTP): deliver outbox records the relay missed, re-dispatch parse
intents whose lease lapsed (a worker died, or a task was lost) until their attempts run out, and re-drive journeys
that owe work and stood still too long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.errors import Duplicate
from shared.domain.events import intent_event, parse_command
from shared.domain.messages import (
    AbandonExecution,
    ExpireArtifact,
    ReconcileReferences,
    RedispatchParse,
    RedriveJourneys,
    RunSweep,
)
from shared.domain.models import StageEntry, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus, Stage
from shared.logs import get_logger
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.pending_intents import dispatch_lease, update_intent_status

log = get_logger(__name__)


def redispatch_parse(message: RedispatchParse, uow: UnitOfWork) -> str:
    stale = message.intent
    services = uow.services
    max_attempts = services.settings.max_parse_attempts
    execution_id = stale.execution_id or ""

    def step(tx: Tx) -> Result:
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
            return Result(events=[intent_event("intent_failed", failed, execution_id, reason=reason)],
                          failure=(reason, "MAX_ATTEMPTS_EXCEEDED"))
        again = intent.model_copy(update={**dispatch_lease(services), "updated_at": now})
        tx.put_intent(again)
        journey_id = uow.context.metadata.get("journey_id")
        return Result(commands=[parse_command(again, execution_id, dispatch_round=intent.attempts + 1,
                                              journey_id=str(journey_id) if journey_id else None)], complete=False,
                      stages=[StageEntry(stage=Stage.REDISPATCHED, detail={"after_attempts": intent.attempts})])

    # A journey's parse keeps its journey through a redispatch: the worker's lineage events name the journey's run.
    # Read only where lineage is on (this is the rare path of a worker that died).
    stored = services.store.get_execution(stale.tenant_id, execution_id) if (
        execution_id and services.settings.lineage_enabled) else None
    uow.resume(stale.tenant_id, execution_id, "parse_content", session_id=stale.session_id, user_id=stale.user_id,
               metadata={"journey_id": stored.metadata["journey_id"]} if stored and stored.metadata.get("journey_id")
               else None)
    try:
        result = uow.commit(step)
    except Duplicate:
        return "skipped"
    return "failed" if result.failure else "redispatched"


def abandon_execution(message: AbandonExecution, uow: UnitOfWork) -> str:
    """An execution whose process died mid-way is closed as failed, so nobody waits on it forever.

    A parse that still has a live intent is left alone: its lease, not its log, says whether it is alive."""
    execution, services = message.execution, uow.services
    if execution.intent_id:
        intent = services.store.get_intent(execution.tenant_id, execution.intent_id)
        if intent is not None and intent.status in (IntentStatus.PENDING, IntentStatus.IN_PROGRESS):
            return "alive"
    reason = "Abandoned: the process handling this execution stopped before finishing. Submit the intent again."

    def step(tx: Tx) -> Result | str:
        current = tx.get_execution(execution.tenant_id, execution.execution_id)
        if current is None or current.status not in (ExecutionStatus.ACCEPTED, ExecutionStatus.RUNNING) \
                or current.updated_at != execution.updated_at:
            return "moved_on"
        return Result(failure=(reason, "ABANDONED"))

    uow.resume(execution.tenant_id, execution.execution_id, execution.intent_type,
               session_id=execution.session_id or "platform", user_id=execution.user_id, metadata=execution.metadata)
    value = uow.commit(step)
    return "abandoned" if isinstance(value, Result) else value


def _count(counts: dict[str, int], outcome: Any, none: str) -> None:
    key = str(outcome) if outcome is not None else none
    counts[key] = counts.get(key, 0) + 1


def run_sweep(message: RunSweep, uow: UnitOfWork) -> dict[str, Any]:
    """Each item is a message of its own, handled in its own unit of work (and execution, where it has one)."""
    services, limit = uow.services, message.limit
    report = services.relay.sweep(services.settings.outbox_grace_seconds, limit)
    leases: dict[str, int] = {}
    for stale in services.store.expired_leases(utcnow(), limit):
        _count(leases, uow.handle(RedispatchParse(stale)), "skipped")
    executions: dict[str, int] = {}
    cutoff = utcnow() - timedelta(seconds=services.settings.abandoned_after_seconds)
    for status in (ExecutionStatus.ACCEPTED, ExecutionStatus.RUNNING):
        for stale_execution in services.store.stale_executions(status.value, cutoff, limit):
            _count(executions, uow.handle(AbandonExecution(stale_execution)), "moved_on")
    retention: dict[str, int] = {}
    for stale_artifact in services.store.expired_artifacts(utcnow(), limit):
        _count(retention, uow.handle(ExpireArtifact(stale_artifact)), "skipped")
    journeys = uow.handle(RedriveJourneys(limit=limit))
    references = uow.handle(ReconcileReferences(services.settings.reference_sample_size))
    # What is still undelivered after this sweep, by age: the outbox_oldest_pending metric and its alert.
    oldest = services.store.oldest_pending_outbox()
    oldest_age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    summary = {"outbox": {"delivered": len(report.delivered), "failed": len(report.failed), "skipped": len(report.skipped),
                          "oldest_pending_seconds": round(max(oldest_age, 0.0), 3)},
               "leases": leases, "executions": executions, "retention": retention, "journeys": journeys,
               "references": references}
    log.info("sweep finished", extra={"fields": summary})
    return summary
