"""Retention, enforced: an artifact whose `expires_at` has passed loses its payload objects and becomes a tombstone
(lifecycle DELETED, payload_state expired) that lineage still resolves until Firestore TTL purges it (`purge_at`).

The objects are deleted before the tombstone commits, so a crash in between leaves a live-looking artifact whose
next sweep finishes the job; a tombstone never points at objects that still exist."""

from __future__ import annotations

from shared.domain.errors import Duplicate
from shared.domain.events import artifact_event
from shared.domain.holds import deletion_refusal
from shared.domain.intents import Intent
from shared.domain.messages import ExpireArtifact
from shared.domain.models import Artifact, utcnow
from shared.domain.retention import tombstone_purge_at
from shared.domain.states import LifecycleState, PayloadState
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.data_brain import DataBrain
from shared.runtime.uow import UnitOfWork
from shared.usecases.delete_artifact import delete_objects, payload_objects


def expired_tombstone(artifact: Artifact) -> Artifact:
    now = utcnow()
    return artifact.model_copy(update={
        "lifecycle_state": LifecycleState.DELETED, "payload_state": PayloadState.EXPIRED, "deleted_at": now,
        "updated_at": now, "materializations": [], "materialization_pending": False, "storage_location": "",
        # A regenerable artifact keeps its outputs' names and sha256s: what a regeneration must reproduce.
        "outputs": artifact.outputs if artifact.regenerable else [], "expires_at": None,
        "purge_at": tombstone_purge_at(now),
    })


def expire_artifact(message: ExpireArtifact, uow: UnitOfWork) -> str | None:
    """Expire one artifact whose retention ran out; 'skipped' (or None, from the bus) when it changed meanwhile."""
    stale, services = message.artifact, uow.services
    if stale.lifecycle_state == LifecycleState.DELETED or stale.expires_at is None or stale.expires_at > utcnow():
        return "skipped"
    if deletion_refusal(stale, utcnow()) is not None:
        return "held"  # a hold or a retention lock outranks an expiry date
    delete_objects(services.blobs, stale, payload_objects(stale, services.blobs, services.settings))
    intent = Intent.for_platform("expire_artifact", tenant_id=stale.tenant_id, session_id=stale.session_id, user_id=None,
                                 metadata={"artifact_id": stale.artifact_id, "retention_policy": stale.retention_policy})
    uow.start(intent, detail=dict(intent.metadata))

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(stale.tenant_id, stale.artifact_id)
        if (current is None or current.lifecycle_state == LifecycleState.DELETED or current.expires_at is None
                or current.expires_at > utcnow() or deletion_refusal(current, utcnow()) is not None):
            raise Duplicate()  # saved or deleted meanwhile: its new state decides
        DataBrain.forget_references(tx, current)
        tombstone = expired_tombstone(current)
        event = artifact_event("artifact_expired", tombstone, uow.context.execution_id,
                               retention_policy=current.retention_policy)
        return Result({"artifact_id": tombstone.artifact_id}, artifacts=[tombstone], inputs=[current], events=[event],
                      detail={"artifact_id": tombstone.artifact_id, "retention_policy": current.retention_policy})

    uow.commit(step)
    return "expired"
