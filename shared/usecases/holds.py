"""Legal holds and the release of permanent records.

- `POST /v1/artifacts/{id}/hold` puts a temporary hold on every object of the artifact (Cloud Storage then refuses to
  delete or replace them, and lifecycle rules skip them), then records the hold, which suspends the artifact's expiry.
  Storage first: a crash in between leaves objects held and the artifact not yet, which a retry completes; never the
  reverse (an artifact we call held whose bytes anyone with storage rights could delete).
- `DELETE /v1/artifacts/{id}/hold` releases the objects' holds first, then clears the record, for the same reason:
  a crash leaves the API's hold standing, the conservative side.
- `POST /v1/artifacts/{id}/release` (a tenant admin's claim, checked at the edge) marks a permanent record deletable.
  It deletes nothing itself.
"""

from __future__ import annotations

from pydantic import Field

from shared.domain.errors import Conflict
from shared.domain.events import artifact_event
from shared.domain.holds import PERMANENT_POLICY, held, released, unheld
from shared.domain.intents import Params
from shared.domain.models import Artifact, utcnow
from shared.domain.states import LifecycleState
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.delete_artifact import payload_objects
from shared.usecases.save import artifact_not_found


class ArtifactRef(Params):
    artifact_id: str = Field(min_length=1, max_length=128)


def hold_objects(services: Services, artifact: Artifact, hold: bool) -> int:
    """Set or clear the temporary hold on each object the artifact still has; the count of objects touched."""
    touched = 0
    for bucket, name in payload_objects(artifact, services.blobs, services.settings):
        if services.blobs.set_temporary_hold(bucket, name, hold) is not None:
            touched += 1
    return touched


def _live(services: Services, tenant_id: str, artifact_id: str) -> Artifact:
    artifact = services.store.get_artifact(tenant_id, artifact_id)
    if artifact is None:
        raise artifact_not_found(artifact_id)
    if artifact.lifecycle_state == LifecycleState.DELETED:
        raise Conflict(f"Artifact {artifact_id} was deleted; there is nothing left to hold.", code="ARTIFACT_DELETED")
    return artifact


def handle_set_hold(params: ArtifactRef, uow: UnitOfWork) -> Result:
    ctx, services = uow.context, uow.services
    artifact = _live(services, ctx.tenant_id, params.artifact_id)
    objects = hold_objects(services, artifact, True)

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None:
            raise artifact_not_found(params.artifact_id)
        if current.lifecycle_state == LifecycleState.DELETED:
            raise Conflict(f"Artifact {params.artifact_id} was deleted meanwhile.", code="ARTIFACT_DELETED")
        if current.legal_hold:
            return Result(subject=current, detail={"artifact_id": current.artifact_id, "already_held": True})
        after = held(current, ctx.user_id, utcnow())
        event = artifact_event("legal_hold_set", after, ctx.execution_id, held_objects=objects)
        return Result(subject=after, artifacts=[after], events=[event],
                      detail={"artifact_id": after.artifact_id, "held_objects": objects})

    return uow.commit(step)


def handle_clear_hold(params: ArtifactRef, uow: UnitOfWork) -> Result:
    ctx, services = uow.context, uow.services
    artifact = _live(services, ctx.tenant_id, params.artifact_id)
    if not artifact.legal_hold:
        return Result(subject=artifact, detail={"artifact_id": artifact.artifact_id, "already_clear": True})
    # Objects that a `reference` record protects from the uploads bucket's lifecycle keep their hold.
    objects = 0 if _reference_record(artifact) else hold_objects(services, artifact, False)

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None:
            raise artifact_not_found(params.artifact_id)
        if not current.legal_hold:
            return Result(subject=current, detail={"artifact_id": current.artifact_id, "already_clear": True})
        after = unheld(current, utcnow())
        event = artifact_event("legal_hold_cleared", after, ctx.execution_id, released_objects=objects)
        return Result(subject=after, artifacts=[after], events=[event],
                      detail={"artifact_id": after.artifact_id, "released_objects": objects})

    return uow.commit(step)


def _reference_record(artifact: Artifact) -> bool:
    return any(m.persistent and m.materialization_type == "reference" for m in artifact.materializations)


def handle_release(params: ArtifactRef, uow: UnitOfWork) -> Result:
    ctx = uow.context

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None:
            raise artifact_not_found(params.artifact_id)
        if current.lifecycle_state != LifecycleState.READY:
            raise Conflict(f"Artifact {params.artifact_id} is not a record of fact; only records are released.",
                           code="NOT_A_RECORD")
        if current.retention_policy != PERMANENT_POLICY:
            raise Conflict(f"Artifact {params.artifact_id} is kept under {current.retention_policy}, not permanent; "
                           "there is nothing to release.", code="NOT_PERMANENT")
        if current.released_at is not None:
            return Result(subject=current, detail={"artifact_id": current.artifact_id, "already_released": True})
        after = released(current, ctx.user_id, utcnow())
        event = artifact_event("artifact_released", after, ctx.execution_id, released_by=ctx.user_id)
        return Result(subject=after, artifacts=[after], events=[event],
                      detail={"artifact_id": after.artifact_id, "released_by": ctx.user_id})

    return uow.commit(step)
