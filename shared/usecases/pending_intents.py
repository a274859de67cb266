"""Pending intents: the user's profile choice, durable and resumable from any session of the tenant.

A second pending intent for the same file and intent type REPLACES the first: the newest choice wins, and the
earlier one is cancelled with `superseded_by`, so history stays readable and exactly one choice is pending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from shared.domain.errors import BadRequest, Conflict, NotFound, ValidationFailed, echo
from shared.domain.events import intent_event
from shared.domain.ids import new_id, safe_artifact_id
from shared.domain.intents import CreatePendingIntentBody, Params
from shared.domain.models import Artifact, PendingIntent, utcnow
from shared.domain.states import IntentStatus, LifecycleState, check_intent_transition
from shared.ports import Principal, Services, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.reads import parse_page_size

MAX_LIST = 100


def parseable_file(artifact: Artifact | None, artifact_id: str) -> Artifact:
    if artifact is None:
        raise NotFound(f"Artifact {echo(artifact_id)} not found.", code="ARTIFACT_NOT_FOUND")
    if artifact.artifact_type != "file":
        raise ValidationFailed(f"Artifact {echo(artifact_id)} is not a file; only files can be parsed.", code="NOT_A_FILE")
    if artifact.lifecycle_state in (LifecycleState.REJECTED, LifecycleState.DELETED):
        raise Conflict(f"Artifact {echo(artifact_id)} is {artifact.lifecycle_state.value} and cannot be parsed.",
                       code="ARTIFACT_NOT_PARSEABLE")
    return artifact


def update_intent_status(intent: PendingIntent, target: IntentStatus, **changes: Any) -> PendingIntent:
    """The one way an intent changes state: illegal transitions are refused."""
    check_intent_transition(intent.status, target)
    return intent.model_copy(update={"status": target, "updated_at": utcnow(), **changes})


def create_pending_intent(body: CreatePendingIntentBody, uow: UnitOfWork) -> Result:
    """The user's profile choice, kept on a pending intent (never on the artifact); the newest choice replaces any
    earlier pending one for the same file and intent type."""
    ctx = uow.context
    intent = PendingIntent(
        intent_id=new_id("intent"), intent_type=body.intent_type, tenant_id=ctx.tenant_id,
        session_id=ctx.session_id, user_id=ctx.user_id, target_artifact_id=body.target_artifact_id,
        context=body.context.model_dump(), execution_id=None,
    )

    def step(tx: Tx) -> Result:
        parseable_file(tx.get_artifact(ctx.tenant_id, body.target_artifact_id), body.target_artifact_id)
        pending, _ = tx.intents_of(ctx.tenant_id, body.intent_type, body.target_artifact_id)
        earlier = [pending] if pending is not None else []
        events = []
        for old in earlier:
            cancelled = update_intent_status(old, IntentStatus.CANCELLED, superseded_by=intent.intent_id)
            tx.put_intent(cancelled)
            events.append(intent_event("intent_cancelled", cancelled, ctx.execution_id, superseded_by=intent.intent_id))
        tx.put_intent(intent)
        events.append(intent_event("intent_pending", intent, ctx.execution_id))
        replaced = [i.intent_id for i in earlier]
        return Result({**intent.to_json(), "replaced_intent_ids": replaced}, events=events, intent_id=intent.intent_id,
                      detail={"intent_id": intent.intent_id, "replaced_intent_ids": replaced})

    return uow.commit(step)


def list_pending_intents(
    services: Services, principal: Principal, target_artifact_id: str | None, status: str | None,
    page_size: str | None = None, page_token: str | None = None,
) -> dict[str, Any]:
    if status is not None and status not in {s.value for s in IntentStatus}:
        raise ValidationFailed(f"status must be one of {', '.join(s.value for s in IntentStatus)}.", code="INVALID_STATUS")
    if target_artifact_id is not None and not safe_artifact_id(target_artifact_id):
        # A filter value Firestore cannot index (over 1,500 bytes, or a path) would fail the query itself.
        raise BadRequest("target_artifact_id is not a valid artifact id (at most 128 letters, digits, _ . : -).",
                         code="INVALID_TARGET_ARTIFACT_ID")
    page = services.store.list_intents(principal.tenant_id, target_artifact_id=target_artifact_id, status=status,
                                       page_size=parse_page_size(page_size), page_token=page_token)
    return {"intents": [i.to_json() for i in page.items], "next_page_token": page.next_page_token}


class CancelPendingIntentParams(Params):
    intent_id: str = Field(min_length=1, max_length=128)


def cancel_pending_intent(params: CancelPendingIntentParams, uow: UnitOfWork) -> Result:
    ctx = uow.context

    def step(tx: Tx) -> Result:
        intent = tx.get_intent(ctx.tenant_id, params.intent_id)
        if intent is None:
            raise NotFound(f"Intent {echo(params.intent_id)} not found.", code="INTENT_NOT_FOUND")
        if intent.status == IntentStatus.CANCELLED:
            return Result(intent.to_json(), detail={"intent_id": intent.intent_id, "already_cancelled": True})
        cancelled = update_intent_status(intent, IntentStatus.CANCELLED, lease_expires_at=None)
        tx.put_intent(cancelled)
        return Result(cancelled.to_json(), events=[intent_event("intent_cancelled", cancelled, ctx.execution_id)],
                      detail={"intent_id": cancelled.intent_id})

    return uow.commit(step)


def dispatch_lease(services: Services) -> dict[str, Any]:
    """A dispatched intent carries a deadline even before a worker claims it, so a lost task is swept up."""
    return {"lease_owner": None, "lease_expires_at": utcnow() + timedelta(seconds=services.settings.lease_seconds)}

