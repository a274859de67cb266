"""Pending intents: the user's profile choice, durable and resumable from any session of the tenant.

A second pending intent for the same file and intent type REPLACES the first: the newest choice wins, and the
earlier one is cancelled with `superseded_by`, so history stays readable and exactly one choice is pending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.bootstrap import Services
from shared.domain.errors import BadRequest, Conflict, NotFound, ValidationFailed, echo
from shared.domain.events import intent_event
from shared.domain.ids import new_id, safe_artifact_id
from shared.domain.intents import CreatePendingIntentBody
from shared.domain.models import Artifact, PendingIntent, utcnow
from shared.domain.states import IntentStatus, LifecycleState, check_intent_transition
from shared.ports import Principal, Tx
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


def create_pending_intent(services: Services, principal: Principal, body: CreatePendingIntentBody, request_id: str) -> dict[str, Any]:
    intent = PendingIntent(
        intent_id=new_id("intent"), intent_type=body.intent_type, tenant_id=principal.tenant_id,
        session_id=principal.session_id, user_id=principal.user_id, target_artifact_id=body.target_artifact_id,
        context=body.context.model_dump(),
    )

    def step(tx: Tx) -> list[PendingIntent]:
        parseable_file(tx.get_artifact(principal.tenant_id, body.target_artifact_id), body.target_artifact_id)
        earlier = [i for i in tx.find_intents(principal.tenant_id, target_artifact_id=body.target_artifact_id,
                                              status=IntentStatus.PENDING.value, limit=MAX_LIST)
                   if i.intent_type == body.intent_type]
        replaced = []
        for old in earlier:
            cancelled = update_intent_status(old, IntentStatus.CANCELLED, superseded_by=intent.intent_id)
            tx.put_intent(cancelled)
            tx.stage_event(intent_event("intent_cancelled", cancelled, request_id, superseded_by=intent.intent_id))
            replaced.append(cancelled)
        tx.put_intent(intent)
        tx.stage_event(intent_event("intent_pending", intent, request_id))
        return replaced

    replaced, staged = services.store.run_in_transaction(step)
    services.relay.deliver(staged)
    return {**intent.to_json(), "replaced_intent_ids": [i.intent_id for i in replaced]}


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


def cancel_pending_intent(services: Services, principal: Principal, intent_id: str, request_id: str) -> dict[str, Any]:
    def step(tx: Tx) -> PendingIntent:
        intent = tx.get_intent(principal.tenant_id, intent_id)
        if intent is None:
            raise NotFound(f"Intent {echo(intent_id)} not found.", code="INTENT_NOT_FOUND")
        if intent.status == IntentStatus.CANCELLED:
            return intent  # cancelling twice is a no-op
        cancelled = update_intent_status(intent, IntentStatus.CANCELLED, lease_expires_at=None)
        tx.put_intent(cancelled)
        tx.stage_event(intent_event("intent_cancelled", cancelled, request_id))
        return cancelled

    cancelled, staged = services.store.run_in_transaction(step)
    services.relay.deliver(staged)
    return cancelled.to_json()


def dispatch_lease(services: Services) -> dict[str, Any]:
    """A dispatched intent carries a deadline even before a worker claims it, so a lost task is swept up."""
    return {"lease_owner": None, "lease_expires_at": utcnow() + timedelta(seconds=services.settings.lease_seconds)}
