"""The saga coordinator's reactions: the consumer advances journeys on the platform's events, runs the steps that
cannot share a transaction (a save, a discard) as executions of their own, and the sweep re-drives idle journeys."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.errors import DomainError, PermanentError, TransientError
from shared.domain.intents import Intent
from shared.domain.journey_model import Compensation, Journey, JourneyStatus, StepName, StepStatus
from shared.domain.journeys import compensation_finished, step_failed, step_succeeded
from shared.domain.messages import RedriveJourneys, SubmitIntent
from shared.domain.models import Event, utcnow
from shared.logs import get_logger, log_context
from shared.runtime.uow import UnitOfWork
from shared.usecases.journeys import (
    DISCARD,
    Signal,
    advance_journey,
    fault_point,
)

log = get_logger(__name__)


# ---- reactions: the consumer advances journeys on the platform's events -------------------------------------------


def _advance_all(uow: UnitOfWork, journeys: list[Journey], event: Event) -> str:
    results = [advance_journey(uow, j.tenant_id, j.journey_id, event.execution_id) for j in journeys]
    return ",".join(f"journey:{r}" for r in results)


def on_artifact_ingested(event: Event, uow: UnitOfWork) -> str:
    upload_id = event.data.get("upload_id")
    if not upload_id:
        return ""
    return _advance_all(uow, uow.services.store.find_journeys(event.tenant_id, upload_id=str(upload_id)), event)


def on_intent_event(event: Event, uow: UnitOfWork) -> str:
    """parse_completed, intent_failed, intent_cancelled: the journeys that follow this intent."""
    intent_id = event.data.get("intent_id")
    if not intent_id:
        return ""
    return _advance_all(uow, uow.services.store.find_journeys(event.tenant_id, intent_id=str(intent_id)), event)


def run_journey_step(event: Event, uow: UnitOfWork) -> str:
    """Run a save or a discard as its own execution, then report the result in an advance. A redelivered request
    runs the work again (it is idempotent) only while the journey still waits for it."""
    data, services = event.data, uow.services
    journey_id, name, compensate = str(data.get("journey_id")), StepName(str(data.get("step"))), bool(data.get("compensate"))
    j = services.store.get_journey(event.tenant_id, journey_id)
    if j is None:
        return "journey:no_journey"
    step = j.step(name)
    waiting = step.compensation == Compensation.RUNNING if compensate else (
        step.status == StepStatus.RUNNING and j.status == JourneyStatus.RUNNING)
    if not waiting or step.artifact_id is None:
        return "journey:duplicate"
    intent_type = DISCARD if compensate else "save_materialization"
    intent = Intent.create(intent_type, tenant_id=j.tenant_id, session_id=j.session_id, user_id=j.user_id,
                           solution_id=j.solution_id, parameters={"artifact_id": step.artifact_id},
                           metadata={"journey_id": journey_id, "journey_step": name.value, "trigger": "journey"})
    with log_context(tenant_id=j.tenant_id):
        outcome = uow.handle(SubmitIntent(intent))
    execution_id = outcome.execution_id
    fault_point(services, "after_step_executed", f"{journey_id}:{name.value}")
    error = outcome.error
    if error is not None and not isinstance(error, DomainError | PermanentError):
        raise TransientError(f"{intent_type} for journey {journey_id} did not finish: {error}")  # redelivered
    now = utcnow()
    signal: Signal
    if compensate:
        # A discard the platform refuses (e.g. a derivation still reads it) keeps the material: never forced.
        kept = error is not None or bool(outcome.result and outcome.result.data.get("kept"))
        signal = lambda cur: compensation_finished(cur, name, execution_id, kept, now)  # noqa: E731
    elif error is None:
        signal = lambda cur: step_succeeded(cur, name, execution_id, now)  # noqa: E731
    else:
        code, message = str(getattr(error, "code", "SAVE_FAILED")), str(getattr(error, "message", error))
        signal = lambda cur: step_failed(cur, name, execution_id, code, message, now)  # noqa: E731
    return "journey:" + advance_journey(uow, event.tenant_id, journey_id, execution_id, signal)


# ---- the sweep --------------------------------------------------------------------------------------------------


def redrive_journeys(message: RedriveJourneys, uow: UnitOfWork) -> dict[str, int]:
    """Journeys that owe work and made no progress for a while: advance them from what is stored now, and send
    again any out-of-transaction step they wait on. Each is one transaction, like any advance."""
    services, limit = uow.services, message.limit
    idle = services.settings.journey_redrive_seconds if message.idle_seconds is None else message.idle_seconds
    cutoff = utcnow() - timedelta(seconds=idle)
    counts: dict[str, int] = {}
    for j in services.store.stale_journeys(cutoff, limit):
        try:
            result = advance_journey(uow, j.tenant_id, j.journey_id, j.start_execution_id or j.journey_id,
                                     redrive_before=cutoff)
        except TransientError:
            result = "retry_later"
        counts[result] = counts.get(result, 0) + 1
    return counts
