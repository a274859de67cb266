"""Journeys as sagas: the coordinator of `journey_content_file_upload_materialization` (its doors are in
`journey_handlers`, its reactions to events in `journey_reactions`).

A journey is a document under tenants/{tenant}/journeys/{id}. Every advance is ONE transaction: it reads the journey
and what it waits on (upload, file, profile intent, parsed artifact) by id, runs the pure state machine
(`shared.domain.journeys`), and writes the journey together with the next step's state change, its execution and its
outbox records. The consumer advances journeys when the platform's events arrive (artifact_ingested,
parse_completed, intent_failed, ...); since an advance reads state instead of counting events, a duplicate is a
no-op and a lost event is repaired by the sweep, which re-drives journeys idle for too long.

Work that cannot share a transaction (a save copies objects; a discard deletes them) leaves as a
`journey_step_started` event; the consumer hands it to the bus as an intent of its own (a real execution) and reports
the result back in another advance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import NotFound
from shared.domain.events import intent_event, parse_command
from shared.domain.ids import event_id_for, new_id
from shared.domain.intents import Intent
from shared.domain.journey_model import (
    Action,
    ArtifactFact,
    CancelIntent,
    CreateIntent,
    DispatchParse,
    IntentFact,
    Journey,
    Plan,
    StartStep,
    StepName,
    UploadFact,
    World,
)
from shared.domain.journeys import advance, redrive
from shared.domain.models import Artifact, Event, PendingIntent, Upload, utcnow
from shared.domain.states import IntentStatus, UploadStatus
from shared.logs import get_logger, log_context
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.lineage import journey_end_lineage
from shared.runtime.uow import UnitOfWork
from shared.usecases.pending_intents import dispatch_lease, update_intent_status

log = get_logger(__name__)

START, APPROVE, CANCEL, DISCARD = "start_journey", "approve_journey", "cancel_journey", "discard_working_material"
STEP_EVENT = "journey_step_started"
REDRIVE_LIMIT = 100


def journey_not_found(journey_id: str) -> NotFound:
    return NotFound(f"Journey {journey_id} not found.", code="JOURNEY_NOT_FOUND")


def fault_point(services: Services, point: str, detail: str) -> None:
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


def load_waited_on(tx: Tx, j: Journey, file: Artifact | None = None) -> Loaded:
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


def _record_step(uow: UnitOfWork, tx: Tx, j: Journey, execution_id: str, intent_type: str, intent_id: str,
                 step: StepName, result: Result) -> None:
    """A step's own execution, written whole in the advance's transaction: an advance that does nothing opens none,
    and opening one costs no write of its own."""
    metadata = {"trigger": "journey", "journey_id": j.journey_id, "journey_step": step.value}
    intent = Intent.create(intent_type, tenant_id=j.tenant_id, session_id=j.session_id, user_id=j.user_id,
                           solution_id=j.solution_id, metadata=metadata)
    uow.record_execution(tx, intent, execution_id, result, {**metadata, "intent_id": intent_id})


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


def write_plan(tx: Tx, uow: UnitOfWork, plan: Plan, loaded: Loaded, driver_execution_id: str, *,
           announce: bool = True) -> None:
    j = plan.journey
    services = uow.services
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
            _record_step(uow, tx, j, action.execution_id, "select_profile", action.intent_id, StepName.SELECT_PROFILE, Result(
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
            _record_step(uow, tx, j, action.execution_id, "parse_content", running.intent_id, StepName.PARSE, Result(
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
        tx.stage_event(journey_event(j, driver_execution_id))
        tx.stage_lineage(j.tenant_id, driver_execution_id,
                         journey_end_lineage(services.settings, j.journey_id, j.status.value, j.error))
    tx.put_journey(j)


Signal = Callable[[Journey], Journey | None]


def advance_in(tx: Tx, uow: UnitOfWork, j: Journey, driver_execution_id: str, signal: Signal | None = None,
                extra: list[Action] | None = None, touch: bool = False) -> Plan:
    """Apply what was reported (if anything), advance, and write the result, all in the caller's transaction."""
    loaded = load_waited_on(tx, j)
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
        write_plan(tx, uow, plan, loaded, driver_execution_id)
    return plan


def advance_journey(uow: UnitOfWork, tenant_id: str, journey_id: str, driver_execution_id: str,
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
        plan = advance_in(tx, uow, j, driver_execution_id, signal, extra, touch)
        return plan.journey.status.value if plan.changed else "unchanged"

    with log_context(tenant_id=tenant_id):
        result = uow.commit(step)  # commits, then relays what it staged
    fault_point(uow.services, "after_advance", journey_id)
    return result
