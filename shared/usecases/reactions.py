"""Reactions to events on Pub/Sub. Each delivery is deduplicated on its stable event id, in the same transaction as
the state change it causes, so a redelivery is a no-op and a crash leaves nothing half-done."""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.domain.events import intent_event, parse_command
from shared.domain.ids import new_id, stable_key
from shared.domain.intents import Intent
from shared.domain.models import Event, Execution
from shared.domain.states import ExecutionStatus, IntentStatus, LifecycleState
from shared.logs import get_logger
from shared.ports import Services, Tx
from shared.runtime.context import ExecutionContext, Result
from shared.runtime.lifecycle import ExecutionLifecycleManager, opening_stages
from shared.usecases.journeys import JOURNEY_REACTIONS
from shared.usecases.pending_intents import dispatch_lease, update_intent_status

log = get_logger(__name__)


class PubSubMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = {}
    messageId: str | None = None


class MessagePublished(BaseModel):
    """The data of google.cloud.pubsub.topic.v1.messagePublished."""

    model_config = ConfigDict(extra="ignore")

    message: PubSubMessage
    subscription: str | None = None

    def event(self) -> Event:
        return Event.model_validate(json.loads(base64.b64decode(self.message.data or "")))


def auto_dispatch(services: Services, event: Event) -> str:
    """artifact_ingested for an upload that asked for a profile: bind the waiting intent to the file and dispatch it."""
    upload_id = event.data.get("upload_id")
    file_id = event.data.get("artifact_id")
    if not upload_id or not file_id:
        return "no_upload"
    dedup_key = stable_key("reaction", "auto_dispatch", event.event_id)
    lifecycle = ExecutionLifecycleManager(services)
    platform_intent = Intent.for_platform("parse_content", tenant_id=event.tenant_id,
                                          session_id=str(event.data.get("session_id") or "platform"), user_id=None,
                                          metadata={"event_id": event.event_id})
    ctx = ExecutionContext.for_intent(platform_intent, new_id("exec"), services)

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
        # The execution is opened in the same transaction as the dispatch, so an event that finds nothing to do
        # costs no execution, and a crash leaves neither.
        tx.create_execution(Execution(
            execution_id=ctx.execution_id, tenant_id=intent.tenant_id, intent_type="parse_content",
            intent_id=intent.intent_id, session_id=intent.session_id, user_id=intent.user_id,
            solution_id=artifact.solution_id, status=ExecutionStatus.RUNNING, metadata={"trigger": "auto_dispatch"},
            stages=opening_stages({"intent_id": intent.intent_id, "trigger": "auto_dispatch", "event_id": event.event_id},
                                  artifact.solution_id),
        ))
        running = update_intent_status(intent.model_copy(update={"target_artifact_id": file_id}), IntentStatus.IN_PROGRESS,
                                       execution_id=ctx.execution_id, **dispatch_lease(services))
        tx.put_intent(running)
        return Result(commands=[parse_command(running, ctx.execution_id)],
                      events=[intent_event("intent_dispatched", running, ctx.execution_id, trigger="auto_dispatch")],
                      complete=False, intent_id=running.intent_id, detail={"intent_id": running.intent_id, "file_id": file_id})

    value = lifecycle.unit_of_work(ctx).commit(step)
    return "dispatched" if isinstance(value, Result) else value


REACTIONS: dict[str, Any] = {"artifact_ingested": auto_dispatch}


def _reactions(event_type: str) -> list[Any]:
    """The platform's own reaction first, then the saga coordinator's (journeys advance on the same events)."""
    return [r for r in (REACTIONS.get(event_type), JOURNEY_REACTIONS.get(event_type)) if r is not None]


def handle_event_message(services: Services, message: MessagePublished) -> str:
    try:
        event = message.event()
    except (ValueError, TypeError) as exc:
        log.error("undecodable event acknowledged", extra={"fields": {"error": str(exc)}})
        return "malformed"
    reactions = _reactions(event.event_type)
    if not reactions:
        return "ignored"
    return ",".join(r for r in (str(reaction(services, event)) for reaction in reactions) if r) or "ignored"
