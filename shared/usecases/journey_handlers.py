"""The journey's doors: start, approve, cancel and the compensation's discard, each an intent the bus executes;
and the journey read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from shared.domain.errors import Conflict, NotFound, ValidationFailed
from shared.domain.events import artifact_event
from shared.domain.holds import deletion_refusal
from shared.domain.ids import new_id
from shared.domain.intents import Params
from shared.domain.journey_model import Journey, JourneyRef, StartJourneyParams
from shared.domain.journeys import advance, approve, cancel, new_journey
from shared.domain.messages import Query
from shared.domain.models import Artifact, utcnow
from shared.domain.states import IntentStatus, LifecycleState, UploadStatus
from shared.logs import get_logger
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.data_brain import DataBrain
from shared.runtime.uow import UnitOfWork
from shared.usecases.delete_artifact import live_children, payload_objects, tombstone_of
from shared.usecases.journeys import (
    advance_in,
    fault_point,
    journey_event,
    journey_not_found,
    load_waited_on,
    write_plan,
)
from shared.usecases.pending_intents import parseable_file

log = get_logger(__name__)


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
        loaded = load_waited_on(tx, journey, file)
        plan = advance(journey, loaded.world(), new_id, utcnow())
        write_plan(tx, uow, plan, loaded, ctx.execution_id, announce=False)
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
        plan = advance_in(tx, uow, j, ctx.execution_id, signal=lambda _: changed)
        return Result(_journey_body(plan.journey), detail={"journey_id": journey_id, what: True,
                                                           "status": plan.journey.status.value})

    result = uow.commit(step)
    fault_point(services, f"after_{what}", journey_id)
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
    if artifact.lifecycle_state == LifecycleState.READY or deletion_refusal(artifact, utcnow()) is not None \
            or live_children(services.store.list_children(ctx.tenant_id, artifact.artifact_id)):
        return Result(_discarded(artifact.artifact_id, "kept"), detail={"outcome": "kept"})
    records = services.settings.records_bucket
    objects = [(b, n) for b, n in payload_objects(artifact, services.blobs, services.settings) if b != records]
    for bucket, name in objects:
        services.blobs.delete(bucket, name)

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None or current.lifecycle_state == LifecycleState.DELETED:
            return Result(_discarded(params.artifact_id, "already_discarded"), detail={"outcome": "already_discarded"})
        if current.lifecycle_state == LifecycleState.READY or deletion_refusal(current, utcnow()) is not None:
            return Result(_discarded(params.artifact_id, "kept"), detail={"outcome": "kept"})
        DataBrain.forget_references(tx, current)  # the bytes are gone: so are their references, in this commit
        tombstone = tombstone_of(current)
        event = artifact_event("artifact_deleted", tombstone, ctx.execution_id, deleted_objects=len(objects),
                               reason="journey_compensation")
        return Result(_discarded(tombstone.artifact_id, "discarded"), artifacts=[tombstone], inputs=[current],
                      events=[event],
                      detail={"outcome": "discarded", "deleted_objects": len(objects)})

    return uow.commit(step)


def get_journey(query: Query, services: Services) -> dict[str, Any]:
    journey_id = str(query.args["journey_id"])
    j = services.store.get_journey(query.principal.tenant_id, journey_id)
    if j is None:
        raise journey_not_found(journey_id)
    return _journey_body(j)
