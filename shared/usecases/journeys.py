"""Journeys as sagas: the coordinator of `journey_content_file_upload_materialization`.

A journey is a document under tenants/{tenant}/journeys/{id}. Every advance is ONE transaction: it reads the journey
and what it waits on (upload, file, profile intent, parsed artifact) by id, runs the pure state machine
(`shared.domain.journeys`), and writes the journey together with the next step's state change, its execution and its
outbox records. The consumer advances journeys when the platform's events arrive (artifact_ingested,
parse_completed, intent_failed, ...); since an advance reads state instead of counting events, a duplicate is a
no-op and a lost event is repaired by the sweep, which re-drives journeys idle for too long.

Work that cannot share a transaction (a save copies objects; a discard deletes them) leaves as a
`journey_step_started` event; the consumer runs it through the lifecycle manager as a real execution and reports
the result back in another advance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import Field

from shared.domain.errors import Conflict, DomainError, NotFound, PermanentError, TransientError, ValidationFailed
from shared.domain.events import artifact_event, intent_event, parse_command
from shared.domain.ids import event_id_for, new_id
from shared.domain.intents import Intent, Params
from shared.domain.journeys import (
    Action,
    ArtifactFact,
    CancelIntent,
    Compensation,
    CreateIntent,
    DispatchParse,
    IntentFact,
    Journey,
    JourneyRef,
    JourneyStatus,
    Plan,
    StartJourneyParams,
    StartStep,
    StepName,
    StepStatus,
    UploadFact,
    World,
    advance,
    approve,
    cancel,
    compensation_finished,
    new_journey,
    redrive,
    step_failed,
    step_succeeded,
)
from shared.domain.models import Artifact, Event, Execution, PendingIntent, Upload, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus, LifecycleState, UploadStatus
from shared.logs import get_logger, log_context
from shared.ports import Principal, Services, Tx
from shared.runtime.context import ExecutionContext, Result
from shared.runtime.lifecycle import ExecutionLifecycleManager, ExecutionOutcome, opening_stages
from shared.runtime.lineage import journey_end_lineage
from shared.runtime.registry import register_intent
from shared.runtime.uow import UnitOfWork
from shared.usecases.delete_artifact import live_children, payload_objects, tombstone_of
from shared.usecases.pending_intents import dispatch_lease, parseable_file, update_intent_status

log = get_logger(__name__)

START, APPROVE, CANCEL, DISCARD = "start_journey", "approve_journey", "cancel_journey", "discard_working_material"
STEP_EVENT = "journey_step_started"
REDRIVE_LIMIT = 100


def journey_not_found(journey_id: str) -> NotFound:
    return NotFound(f"Journey {journey_id} not found.", code="JOURNEY_NOT_FOUND")


def _fault(services: Services, point: str, detail: str) -> None:
    """A crash-injection seam, like the relay's: tests make the process die at a step boundary."""
    fault: Callable[[str, str], None] | None = getattr(services, "journey_fault", None)
    if fault is not None:
        fault(point, detail)


# ---- reading what a journey waits on, inside the transaction ------------------------------------------------------


@dataclass
class Loaded:
    upload: Upload | None = None
    file: Artifact | None = None
    intent: PendingIntent | None = None
    parsed: Artifact | None = None

    def world(self) -> World:
        def fact(a: Artifact | None) -> ArtifactFact | None:
            return ArtifactFact(a.artifact_id, a.lifecycle_state, a.produced_by.execution_id) if a else None

        u, i = self.upload, self.intent
        return World(
            upload=UploadFact(u.upload_id, u.status, u.file_id, u.reason, u.pending_intent_id) if u else None,
            file=fact(self.file), parsed=fact(self.parsed),
            intent=IntentFact(i.intent_id, i.status, i.execution_id, i.result_artifact_id, i.last_error, i.error_code)
            if i else None,
        )


def _load(tx: Tx, j: Journey, file: Artifact | None = None) -> Loaded:
    """Reads by id only (no query inside a transaction): at most four documents, fewer when the caller has read one."""
    loaded = Loaded(file=file)
    if j.upload_id:
        loaded.upload = tx.get_upload(j.tenant_id, j.upload_id)
    file_id = j.file_id or (loaded.upload.file_id if loaded.upload and loaded.upload.status == UploadStatus.INGESTED else None)
    if file_id and (loaded.file is None or loaded.file.artifact_id != file_id):
        loaded.file = tx.get_artifact(j.tenant_id, file_id)
    intent_id = j.intent_id or (loaded.upload.pending_intent_id if loaded.upload else None)
    if intent_id and file_id:
        loaded.intent = tx.get_intent(j.tenant_id, intent_id)
    parsed_id = j.parsed_artifact_id or (loaded.intent.result_artifact_id if loaded.intent else None)
    if parsed_id:
        loaded.parsed = tx.get_artifact(j.tenant_id, parsed_id)
    return loaded


# ---- writing a plan: the journey, its steps' state changes, executions and outbox records -----------------------


def _step_execution(lifecycle: ExecutionLifecycleManager, services: Services, j: Journey, execution_id: str,
                    intent_type: str, intent_id: str, step: StepName) -> UnitOfWork:
    """A step's own execution, written whole by `record` in the advance's transaction: an advance that does nothing
    opens none, and opening one costs no write of its own."""
    metadata = {"trigger": "journey", "journey_id": j.journey_id, "journey_step": step.value}
    execution = Execution(
        execution_id=execution_id, tenant_id=j.tenant_id, intent_type=intent_type, intent_id=intent_id,
        session_id=j.session_id, user_id=j.user_id, solution_id=j.solution_id, metadata=metadata,
        status=ExecutionStatus.RUNNING, stages=opening_stages({"intent_id": intent_id, **metadata}, j.solution_id),
    )
    intent = Intent.create(intent_type, tenant_id=j.tenant_id, session_id=j.session_id, user_id=j.user_id,
                           solution_id=j.solution_id, metadata=metadata)
    return UnitOfWork(ExecutionContext.for_intent(intent, execution_id, services), lifecycle, execution)


def step_event(j: Journey, action: StartStep, driver_execution_id: str) -> Event:
    mode = "compensate" if action.compensate else "run"
    return Event(
        event_id=event_id_for(STEP_EVENT, j.tenant_id, j.journey_id, action.step.value, mode, str(action.round)),
        event_type=STEP_EVENT, tenant_id=j.tenant_id, execution_id=driver_execution_id,
        data={"journey_id": j.journey_id, "step": action.step.value, "artifact_id": action.artifact_id,
              "round": action.round, "compensate": action.compensate},
    )


def journey_event(j: Journey, driver_execution_id: str, event_type: str | None = None) -> Event:
    event_type = event_type or f"journey_{j.status.value}"
    return Event(
        event_id=event_id_for(event_type, j.tenant_id, j.journey_id, str(j.version)),
        event_type=event_type, tenant_id=j.tenant_id, execution_id=driver_execution_id,
        data={"journey_id": j.journey_id, "journey_type": j.journey_type, "status": j.status.value,
              "file_id": j.file_id, "parsed_artifact_id": j.parsed_artifact_id, "error_code": j.error_code},
    )


def _write(tx: Tx, services: Services, plan: Plan, loaded: Loaded, driver_execution_id: str, *,
           announce: bool = True) -> None:
    j = plan.journey
    lifecycle = ExecutionLifecycleManager(services)
    intents: dict[str, PendingIntent] = {loaded.intent.intent_id: loaded.intent} if loaded.intent else {}
    dirty: set[str] = set()
    for action in plan.actions:
        if isinstance(action, CreateIntent):
            events = []
            if not action.adopted:
                intent = PendingIntent(
                    intent_id=action.intent_id, tenant_id=j.tenant_id, session_id=j.session_id, user_id=j.user_id,
                    target_artifact_id=action.file_id,
                    context={"ingestion_profile": j.ingestion_profile, "parse_options": j.parse_options})
                intents[intent.intent_id] = intent
                dirty.add(intent.intent_id)
                events.append(intent_event("intent_pending", intent, action.execution_id, journey_id=j.journey_id))
            chosen = intents[action.intent_id]
            step_uow = _step_execution(lifecycle, services, j, action.execution_id, "select_profile",
                                       action.intent_id, StepName.SELECT_PROFILE)
            lifecycle.record(tx, step_uow, Result(
                events=events, intent_id=action.intent_id,
                detail={"intent_id": action.intent_id, "adopted": action.adopted, "journey_id": j.journey_id,
                        "ingestion_profile": chosen.context.get("ingestion_profile")}))
        elif isinstance(action, DispatchParse):
            current = intents[action.intent_id]
            running = update_intent_status(
                current.model_copy(update={"target_artifact_id": current.target_artifact_id or action.file_id}),
                IntentStatus.IN_PROGRESS, execution_id=action.execution_id, **dispatch_lease(services))
            intents[running.intent_id] = running
            dirty.add(running.intent_id)
            step_uow = _step_execution(lifecycle, services, j, action.execution_id, "parse_content",
                                       running.intent_id, StepName.PARSE)
            lifecycle.record(tx, step_uow, Result(
                commands=[parse_command(running, action.execution_id, journey_id=j.journey_id)],
                events=[intent_event("intent_dispatched", running, action.execution_id, trigger="journey",
                                     journey_id=j.journey_id)],
                complete=False, intent_id=running.intent_id,
                detail={"intent_id": running.intent_id, "file_id": action.file_id, "journey_id": j.journey_id}))
        elif isinstance(action, StartStep):
            tx.stage_event(step_event(j, action, driver_execution_id))
        elif isinstance(action, CancelIntent):
            cancelled = update_intent_status(intents[action.intent_id], IntentStatus.CANCELLED, lease_expires_at=None)
            intents[cancelled.intent_id] = cancelled
            dirty.add(cancelled.intent_id)
            tx.stage_event(intent_event("intent_cancelled", cancelled, driver_execution_id, reason="journey_compensation",
                                        journey_id=j.journey_id))
    for intent_id in sorted(dirty):
        tx.put_intent(intents[intent_id])
    if announce and plan.status_changed:
        tx.stage_event(journey_event(j, driver_execution_id),
                       journey_end_lineage(services.settings, j.journey_id, j.status.value, j.error))
    tx.put_journey(j)


Signal = Callable[[Journey], Journey | None]


def _advance_in(tx: Tx, services: Services, j: Journey, driver_execution_id: str, signal: Signal | None = None,
                extra: list[Action] | None = None, touch: bool = False) -> Plan:
    """Apply what was reported (if anything), advance, and write the result, all in the caller's transaction."""
    loaded = _load(tx, j)
    now = utcnow()
    reported = signal(j) if signal is not None else None
    base = reported or j
    plan = advance(base, loaded.world(), new_id, now)
    if reported is not None or extra or touch:
        plan.actions = [*(extra or []), *plan.actions]
        if not plan.changed:
            plan.journey = plan.journey.model_copy(update={"version": j.version + 1, "updated_at": now})
            plan.changed = True
        plan.status_changed = plan.journey.status != j.status
    if plan.changed:
        _write(tx, services, plan, loaded, driver_execution_id)
    return plan


def advance_journey(services: Services, tenant_id: str, journey_id: str, driver_execution_id: str,
                    signal: Signal | None = None, *, redrive_before: Any = None) -> str:
    """One advance in one transaction, then delivery of what it staged. Returns the journey's status word."""

    def step(tx: Tx) -> str:
        j = tx.get_journey(tenant_id, journey_id)
        if j is None:
            return "no_journey"
        extra: list[Action] = []
        touch = False
        if redrive_before is not None:
            if j.updated_at > redrive_before or not j.active:
                return "moved_on"  # it advanced since the sweep looked
            j2, extra = redrive(j, utcnow())
            j, touch = (j2 if extra else j), True
        plan = _advance_in(tx, services, j, driver_execution_id, signal, extra, touch)
        return plan.journey.status.value if plan.changed else "unchanged"

    with log_context(tenant_id=tenant_id):
        result = ExecutionLifecycleManager(services).housekeeping().commit(step)  # commits, then relays what it staged
    _fault(services, "after_advance", journey_id)
    return result


# ---- the HTTP doors, each an intent executed through the lifecycle manager ----------------------------------------


def _journey_body(j: Journey) -> dict[str, Any]:
    return j.view()


def handle_start(params: StartJourneyParams, uow: UnitOfWork) -> Result:
    ctx, services = uow.context, uow.services
    adopt_id: str | None = None
    if params.file_id and not params.ingestion_profile:
        # Resume the tenant's pending profile choice for the file, as parse_content does.
        page = services.store.list_intents(ctx.tenant_id, target_artifact_id=params.file_id,
                                           status=IntentStatus.PENDING.value, page_size=1)
        if not page.items:
            raise ValidationFailed("No pending profile choice exists for this file, so ingestion_profile is required.",
                                   code="MISSING_INGESTION_PROFILE")
        adopt_id = page.items[0].intent_id
    journey_id = new_id("journey")

    def step(tx: Tx) -> Result:
        profile = params.ingestion_profile
        intent_id = adopt_id
        file: Artifact | None = None
        if params.file_id:
            file = parseable_file(tx.get_artifact(ctx.tenant_id, params.file_id), params.file_id)
            if adopt_id:
                chosen = tx.get_intent(ctx.tenant_id, adopt_id)
                if chosen is None or chosen.status != IntentStatus.PENDING:
                    raise Conflict("The pending profile choice changed meanwhile; retry.", code="CONCURRENT_MODIFICATION")
                profile = chosen.context.get("ingestion_profile")
        else:
            upload = tx.get_upload(ctx.tenant_id, params.upload_id or "")
            if upload is None:
                raise NotFound(f"Upload {params.upload_id} not found.", code="UPLOAD_NOT_FOUND")
            if upload.status == UploadStatus.REJECTED:
                raise Conflict(f"Upload {upload.upload_id} was rejected: {upload.reason}", code="UPLOAD_REJECTED")
            chosen = tx.get_intent(ctx.tenant_id, upload.pending_intent_id) if upload.pending_intent_id else None
            if chosen is not None:
                stored = chosen.context.get("ingestion_profile")
                if params.ingestion_profile and params.ingestion_profile != stored:
                    raise Conflict(f"The upload already chose the {stored} profile (intent {chosen.intent_id}); omit "
                                   "ingestion_profile to use it.", code="PROFILE_CONFLICT",
                                   details={"intent_id": chosen.intent_id})
                profile = stored
            elif not params.ingestion_profile:
                raise ValidationFailed("The upload has no profile choice, so ingestion_profile is required.",
                                       code="MISSING_INGESTION_PROFILE")
        journey = new_journey(journey_id, ctx.tenant_id, ctx.session_id, ctx.user_id,
                              params.model_copy(update={"ingestion_profile": profile}), utcnow(), intent_id=intent_id,
                              solution_id=ctx.solution_id, start_execution_id=ctx.execution_id)
        loaded = _load(tx, journey, file)
        plan = advance(journey, loaded.world(), new_id, utcnow())
        _write(tx, services, plan, loaded, ctx.execution_id, announce=False)
        started = journey_event(plan.journey, ctx.execution_id, "journey_started")
        return Result(_journey_body(plan.journey), events=[started],
                      detail={"journey_id": journey_id, "status": plan.journey.status.value})

    return uow.commit(step)


def _user_step(uow: UnitOfWork, journey_id: str, change: Callable[[Journey], Journey], what: str) -> Result:
    ctx, services = uow.context, uow.services

    def step(tx: Tx) -> Result:
        j = tx.get_journey(ctx.tenant_id, journey_id)
        if j is None:
            raise journey_not_found(journey_id)
        changed = change(j)
        if changed is j:  # approving or cancelling twice: the stored answer, no second effect
            return Result(_journey_body(j), detail={"journey_id": journey_id, what: False})
        plan = _advance_in(tx, services, j, ctx.execution_id, signal=lambda _: changed)
        return Result(_journey_body(plan.journey), detail={"journey_id": journey_id, what: True,
                                                           "status": plan.journey.status.value})

    result = uow.commit(step)
    _fault(services, f"after_{what}", journey_id)
    return result


def handle_approve(params: JourneyRef, uow: UnitOfWork) -> Result:
    execution_id = uow.context.execution_id
    return _user_step(uow, params.journey_id, lambda j: approve(j, execution_id, utcnow()), "approved")


def handle_cancel(params: JourneyRef, uow: UnitOfWork) -> Result:
    execution_id = uow.context.execution_id
    return _user_step(uow, params.journey_id, lambda j: cancel(j, execution_id, utcnow()), "cancelled")


class DiscardParams(Params):
    artifact_id: str = Field(min_length=1, max_length=128)


def _discarded(artifact_id: str, outcome: str) -> dict[str, Any]:
    return {"artifact_id": artifact_id, "outcome": outcome, "kept": outcome == "kept"}


def handle_discard(params: DiscardParams, uow: UnitOfWork) -> Result:
    """A journey's compensation: discard working material it derived. A READY record of fact is kept, always: the
    check runs again inside the transaction, and only working copies (never the records bucket) are deleted."""
    ctx, services = uow.context, uow.services
    artifact = services.store.get_artifact(ctx.tenant_id, params.artifact_id)
    if artifact is None:
        return Result(_discarded(params.artifact_id, "absent"), detail={"outcome": "absent"})
    if artifact.lifecycle_state == LifecycleState.DELETED:
        return Result(_discarded(artifact.artifact_id, "already_discarded"), detail={"outcome": "already_discarded"})
    if artifact.lifecycle_state == LifecycleState.READY or live_children(
            services.store.list_children(ctx.tenant_id, artifact.artifact_id)):
        return Result(_discarded(artifact.artifact_id, "kept"), detail={"outcome": "kept"})
    records = services.settings.records_bucket
    objects = [(b, n) for b, n in payload_objects(artifact, services.blobs, services.settings) if b != records]
    for bucket, name in objects:
        services.blobs.delete(bucket, name)

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None or current.lifecycle_state == LifecycleState.DELETED:
            return Result(_discarded(params.artifact_id, "already_discarded"), detail={"outcome": "already_discarded"})
        if current.lifecycle_state == LifecycleState.READY:
            return Result(_discarded(params.artifact_id, "kept"), detail={"outcome": "kept"})
        tombstone = tombstone_of(current)
        event = artifact_event("artifact_deleted", tombstone, ctx.execution_id, deleted_objects=len(objects),
                               reason="journey_compensation")
        return Result(_discarded(tombstone.artifact_id, "discarded"), artifacts=[tombstone], inputs=[current], events=[event],
                      detail={"outcome": "discarded", "deleted_objects": len(objects)})

    return uow.commit(step)


def _execute(services: Services, principal: Principal, intent_type: str, parameters: dict[str, Any],
             request_id: str | None = None, metadata: dict[str, Any] | None = None) -> ExecutionOutcome:
    intent = Intent.create(intent_type, tenant_id=principal.tenant_id, session_id=principal.session_id,
                           user_id=principal.user_id, solution_id=principal.solution_id, parameters=parameters,
                           metadata=metadata)
    return ExecutionLifecycleManager(services).execute(intent, request_id)


def start_journey(services: Services, principal: Principal, body: dict[str, Any], request_id: str | None = None) -> ExecutionOutcome:
    return _execute(services, principal, START, body, request_id)


def approve_journey(services: Services, principal: Principal, journey_id: str, request_id: str | None = None) -> ExecutionOutcome:
    return _execute(services, principal, APPROVE, {"journey_id": journey_id}, request_id)


def cancel_journey(services: Services, principal: Principal, journey_id: str, request_id: str | None = None) -> ExecutionOutcome:
    return _execute(services, principal, CANCEL, {"journey_id": journey_id}, request_id)


def get_journey(services: Services, principal: Principal, journey_id: str) -> dict[str, Any]:
    j = services.store.get_journey(principal.tenant_id, journey_id)
    if j is None:
        raise journey_not_found(journey_id)
    return _journey_body(j)


# ---- reactions: the consumer advances journeys on the platform's events -------------------------------------------


def _advance_all(services: Services, journeys: list[Journey], event: Event) -> str:
    results = [advance_journey(services, j.tenant_id, j.journey_id, event.execution_id) for j in journeys]
    return ",".join(f"journey:{r}" for r in results)


def on_artifact_ingested(services: Services, event: Event) -> str:
    upload_id = event.data.get("upload_id")
    if not upload_id:
        return ""
    return _advance_all(services, services.store.find_journeys(event.tenant_id, upload_id=str(upload_id)), event)


def on_intent_event(services: Services, event: Event) -> str:
    """parse_completed, intent_failed, intent_cancelled: the journeys that follow this intent."""
    intent_id = event.data.get("intent_id")
    if not intent_id:
        return ""
    return _advance_all(services, services.store.find_journeys(event.tenant_id, intent_id=str(intent_id)), event)


def run_journey_step(services: Services, event: Event) -> str:
    """Run a save or a discard as its own execution, then report the result in an advance. A redelivered request
    runs the work again (it is idempotent) only while the journey still waits for it."""
    data = event.data
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
    principal = Principal(j.tenant_id, j.user_id, j.session_id, j.solution_id)
    with log_context(tenant_id=j.tenant_id):
        outcome = _execute(services, principal, intent_type, {"artifact_id": step.artifact_id},
                           metadata={"journey_id": journey_id, "journey_step": name.value, "trigger": "journey"})
    execution_id = outcome.execution_id
    _fault(services, "after_step_executed", f"{journey_id}:{name.value}")
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
    return "journey:" + advance_journey(services, event.tenant_id, journey_id, execution_id, signal)


JOURNEY_REACTIONS: dict[str, Callable[[Services, Event], str]] = {
    "artifact_ingested": on_artifact_ingested,
    "parse_completed": on_intent_event,
    "intent_failed": on_intent_event,
    "intent_cancelled": on_intent_event,
    STEP_EVENT: run_journey_step,
}


# ---- the sweep --------------------------------------------------------------------------------------------------


def redrive_journeys(services: Services, idle_seconds: int | None = None, limit: int = REDRIVE_LIMIT) -> dict[str, int]:
    """Journeys that owe work and made no progress for a while: advance them from what is stored now, and send
    again any out-of-transaction step they wait on. Each is one transaction, like any advance."""
    idle = services.settings.journey_redrive_seconds if idle_seconds is None else idle_seconds
    cutoff = utcnow() - timedelta(seconds=idle)
    counts: dict[str, int] = {}
    for j in services.store.stale_journeys(cutoff, limit):
        try:
            result = advance_journey(services, j.tenant_id, j.journey_id, j.start_execution_id or j.journey_id,
                                     redrive_before=cutoff)
        except TransientError:
            result = "retry_later"
        counts[result] = counts.get(result, 0) + 1
    return counts


# Reached through /v1/journeys (and the consumer), not POST /v1/intents/{type}: not listed by GET /v1/intents.
register_intent(START, StartJourneyParams, handle_start,
                "Start the journey journey_content_file_upload_materialization for a file or an upload.",
                success_status=201, exposed=False)
register_intent(APPROVE, JourneyRef, handle_approve, "Give the user's save approval to a journey that saves manually.",
                exposed=False)
register_intent(CANCEL, JourneyRef, handle_cancel,
                "Cancel a journey and compensate: derived working material is discarded; records of fact are kept.",
                exposed=False)
register_intent(DISCARD, DiscardParams, handle_discard,
                "Discard working material a journey derived (a journey's compensation); a READY record is kept.",
                exposed=False)
