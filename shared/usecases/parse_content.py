"""`parse_content`: resume the tenant's pending intent for the file (or take an explicit profile), move it to
in_progress and enqueue the parse command through the outbox. The worker completes the execution."""

from __future__ import annotations

from shared.domain.errors import Conflict, ValidationFailed, echo
from shared.domain.events import intent_event, parse_command
from shared.domain.ids import new_id
from shared.domain.intents import ParseContentParams
from shared.domain.models import PendingIntent
from shared.domain.states import IntentStatus
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.pending_intents import dispatch_lease, parseable_file, update_intent_status


def handle_parse_content(params: ParseContentParams, uow: UnitOfWork) -> Result:
    ctx = uow.context

    def step(tx: Tx) -> Result:
        parseable_file(tx.get_artifact(ctx.tenant_id, params.file_id), params.file_id)
        pending, running = tx.intents_of(ctx.tenant_id, "parse_content", params.file_id)
        if running is not None:
            raise Conflict(f"A parse of {echo(params.file_id)} is already in progress (intent {running.intent_id}).",
                           code="PARSE_IN_PROGRESS", details={"intent_id": running.intent_id})
        if pending is not None:
            intent = pending
            stored = intent.context.get("ingestion_profile")
            if params.ingestion_profile and params.ingestion_profile != stored:
                raise Conflict(
                    f"The pending intent {intent.intent_id} selected the {stored} profile; omit ingestion_profile "
                    "to use it, or cancel it first.", code="PROFILE_CONFLICT", details={"intent_id": intent.intent_id})
            if params.parse_options is not None:
                intent = intent.model_copy(update={"context": {**intent.context, "parse_options": params.parse_options}})
            resumed = True
        else:
            if not params.ingestion_profile:
                raise ValidationFailed("No pending intent exists for this file, so ingestion_profile is required.",
                                       code="MISSING_INGESTION_PROFILE")
            intent = PendingIntent(
                intent_id=new_id("intent"), tenant_id=ctx.tenant_id, session_id=ctx.session_id, user_id=ctx.user_id,
                target_artifact_id=params.file_id,
                context={"ingestion_profile": params.ingestion_profile, "parse_options": params.parse_options or {}},
            )
            resumed = False
        running_intent = update_intent_status(intent, IntentStatus.IN_PROGRESS, execution_id=ctx.execution_id,
                                              **dispatch_lease(uow.services))
        tx.put_intent(running_intent)
        body = {"intent_id": running_intent.intent_id, "status": running_intent.status.value, "file_id": params.file_id,
                "ingestion_profile": running_intent.context.get("ingestion_profile"), "resumed_pending_intent": resumed}
        return Result(
            body, commands=[parse_command(running_intent, ctx.execution_id)],
            events=[intent_event("intent_dispatched", running_intent, ctx.execution_id)],
            complete=False, intent_id=running_intent.intent_id,
            detail={"intent_id": running_intent.intent_id, "resumed_pending_intent": resumed},
        )

    return uow.commit(step)

