"""`POST /v1/artifacts/{id}/regenerate`: rebuild an expired regenerable derived artifact by re-running its recorded
intent, with its recorded options, on its recorded inputs.

The request checks what it can before any work: the artifact is a regenerable derivation whose payload expired, its
intent and content hashes were recorded, its producer is the one the platform runs now, and its inputs still exist
(else 409 NOT_REPRODUCIBLE). It then dispatches a parse exactly as `parse_content` does, marked with the original; the
worker (`reproduced_parse`) compares the outputs' sha256s with the recorded ones. The regenerated artifact is a new
artifact whose lineage names the original (`regenerated_from`) and says whether it `reproduced`; a mismatch ends the
execution failed with NOT_REPRODUCIBLE, and the lineage keeps both."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.domain.errors import Conflict, echo
from shared.domain.events import intent_event, parse_command
from shared.domain.ids import new_id
from shared.domain.intents import Params
from shared.domain.models import Artifact, PendingIntent, utcnow
from shared.domain.reproduction import check_regenerable, not_reproducible, reproduction
from shared.domain.states import IntentStatus, LifecycleState
from shared.ports import BlobStore, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.objects import split_gs_uri
from shared.usecases.pending_intents import dispatch_lease, update_intent_status
from shared.usecases.reads import payload_materializations
from shared.usecases.save import artifact_not_found


class RegenerateParams(Params):
    artifact_id: str = Field(min_length=1, max_length=128)


def source_object(blobs: BlobStore, source: Artifact | None, original_id: str) -> dict[str, Any]:
    """Where the recorded input's bytes are now: its working copy (at the generation that was parsed) or, once saved,
    its record copy. Gone from both is NOT_REPRODUCIBLE."""
    if source is None or source.lifecycle_state in (LifecycleState.DELETED, LifecycleState.REJECTED):
        raise not_reproducible(original_id, "its input file no longer exists.")
    for mat in payload_materializations(source):
        if not mat.uri.startswith("gs://"):
            continue
        info = blobs.stat(*split_gs_uri(mat.uri))
        if info is None:
            continue
        recorded = source.source_metadata.get("object_generation") if mat.uri == source.storage_location else None
        if recorded and info.generation != recorded:
            continue  # the working object was replaced since it was parsed: not the recorded input
        return {"source_uri": mat.uri, "source_generation": recorded or info.generation}
    raise not_reproducible(original_id, f"the payload of its input file {source.artifact_id} is gone.")


def handle_regenerate(params: RegenerateParams, uow: UnitOfWork) -> Result:
    ctx, services = uow.context, uow.services
    original = services.store.get_artifact(ctx.tenant_id, params.artifact_id)
    if original is None:
        raise artifact_not_found(params.artifact_id)
    check_regenerable(original, utcnow())
    source_id = original.lineage.derived_from[0]
    where = source_object(services.blobs, services.store.get_artifact(ctx.tenant_id, source_id), original.artifact_id)
    recorded = original.produced_by.parameters or {}

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None:
            raise artifact_not_found(params.artifact_id)
        check_regenerable(current, utcnow())
        _, running = tx.intents_of(ctx.tenant_id, "parse_content", source_id)
        if running is not None:
            raise Conflict(f"A parse of {echo(source_id)} is in progress (intent {running.intent_id}); retry when it "
                           "ends.", code="PARSE_IN_PROGRESS", details={"intent_id": running.intent_id})
        intent = PendingIntent(
            intent_id=new_id("intent"), tenant_id=ctx.tenant_id, session_id=ctx.session_id, user_id=ctx.user_id,
            target_artifact_id=source_id,
            context={"ingestion_profile": recorded.get("ingestion_profile"),
                     "parse_options": dict(recorded.get("parse_options") or {}),
                     "regenerates": current.artifact_id, **where})
        running_intent = update_intent_status(intent, IntentStatus.IN_PROGRESS, execution_id=ctx.execution_id,
                                              **dispatch_lease(services))
        tx.put_intent(running_intent)
        body = {"intent_id": running_intent.intent_id, "status": running_intent.status.value,
                "regenerates": current.artifact_id, "file_id": source_id,
                "ingestion_profile": running_intent.context.get("ingestion_profile")}
        return Result(body, commands=[parse_command(running_intent, ctx.execution_id)],
                      events=[intent_event("intent_dispatched", running_intent, ctx.execution_id)],
                      complete=False, intent_id=running_intent.intent_id,
                      detail={"intent_id": running_intent.intent_id, "regenerates": current.artifact_id})

    return uow.commit(step)


def reproduced_parse(tx: Tx, intent: PendingIntent, parsed: Artifact,
                     digests: dict[str, str]) -> tuple[Artifact, tuple[str, str] | None]:
    """The worker's check of a regeneration, read in its completing transaction: the new artifact with its lineage
    tied to the original, and the failure to record when the bytes differ (the artifact is kept, so is the original)."""
    original_id = str(intent.context.get("regenerates") or "")
    if not original_id:
        return parsed, None
    original = tx.get_artifact(parsed.tenant_id, original_id)
    if original is None:
        return parsed, (f"The artifact {original_id} this parse regenerates is gone.", "NOT_REPRODUCIBLE")
    same, why = reproduction(original, digests)
    lineage = parsed.lineage.model_copy(update={"regenerated_from": original_id, "reproduced": same})
    parsed = parsed.model_copy(update={"lineage": lineage, "regenerable": same})
    return parsed, None if same else (f"Artifact {original_id} is not reproducible: {why}", "NOT_REPRODUCIBLE")
