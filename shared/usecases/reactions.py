"""Reactions to events on Pub/Sub. Each delivery is deduplicated on its stable event id, in the same transaction as
the state change it causes, so a redelivery is a no-op and a crash leaves nothing half-done."""

from __future__ import annotations

from shared.domain.events import intent_event, parse_command
from shared.domain.ids import stable_key
from shared.domain.intents import Intent
from shared.domain.models import Event
from shared.domain.states import IntentStatus, LifecycleState
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.pending_intents import dispatch_lease, update_intent_status


def auto_dispatch(event: Event, uow: UnitOfWork) -> str:
    """artifact_ingested for an upload that asked for a profile: bind the waiting intent to the file and dispatch it."""
    upload_id = event.data.get("upload_id")
    file_id = event.data.get("artifact_id")
    if not upload_id or not file_id:
        return "no_upload"
    dedup_key = stable_key("reaction", "auto_dispatch", event.event_id)
    platform_intent = Intent.for_platform("parse_content", tenant_id=event.tenant_id,
                                          session_id=str(event.data.get("session_id") or "platform"), user_id=None,
                                          metadata={"trigger": "auto_dispatch"})
    # The execution opens with the dispatch's commit, so an event that finds nothing to do costs no execution, and a
    # crash leaves neither.
    uow.start(platform_intent, detail={"trigger": "auto_dispatch", "event_id": event.event_id})
    ctx = uow.context

    def step(tx: Tx) -> Result | str:
        if tx.seen(dedup_key):
            return "duplicate"
        # Read by id, never queried: a query inside a transaction locks a key range that other tenants' writes need.
        upload = tx.get_upload(event.tenant_id, upload_id)
        chosen = tx.get_intent(event.tenant_id, upload.pending_intent_id) if upload and upload.pending_intent_id else None
        waiting = [chosen] if chosen is not None and chosen.status == IntentStatus.PENDING and chosen.target_artifact_id is None else []
        artifact = tx.get_artifact(event.tenant_id, file_id)
        tx.mark_seen(dedup_key, {"kind": "reaction", "event_id": event.event_id})
        if not waiting or artifact is None or artifact.lifecycle_state not in (LifecycleState.PENDING, LifecycleState.READY):
            return "nothing_waiting"
        intent = waiting[0]
        uow.annotate(intent_id=intent.intent_id, session_id=intent.session_id, user_id=intent.user_id,
                     solution_id=artifact.solution_id, stages=_with_intent(uow, intent.intent_id, artifact.solution_id))
        running = update_intent_status(intent.model_copy(update={"target_artifact_id": file_id}), IntentStatus.IN_PROGRESS,
                                       execution_id=ctx.execution_id, **dispatch_lease(uow.services))
        tx.put_intent(running)
        return Result(commands=[parse_command(running, ctx.execution_id)],
                      events=[intent_event("intent_dispatched", running, ctx.execution_id, trigger="auto_dispatch")],
                      complete=False, intent_id=running.intent_id, detail={"intent_id": running.intent_id, "file_id": file_id})

    value = uow.commit(step)
    return "dispatched" if isinstance(value, Result) else value


def _with_intent(uow: UnitOfWork, intent_id: str, solution_id: str) -> list:
    """The opening stages name the intent the dispatch bound, and the file's solution."""
    stages = list(uow.execution.stages) if uow.execution else []
    if len(stages) >= 2:
        stages[0] = stages[0].model_copy(update={"detail": {**stages[0].detail, "intent_id": intent_id}})
        stages[1] = stages[1].model_copy(update={"detail": {"solution_id": solution_id}})
    return stages
