"""References that never go stale, for the bytes our own code does not delete.

Every path of ours that deletes bytes forgets their references in the same commit (delete, discard, expiry, a
summary save). What is left is deletion by Cloud Storage itself, the working buckets' lifecycle rules (or an
operator's hand):
- `forget_deleted_object`: the consumer of the storage OBJECT_DELETE notification
  (`google.cloud.storage.object.v1.deleted`). It forgets the object's reference once storage confirms the object is
  gone (a notification for an overwritten generation finds the object still there, and keeps it).
- `reconcile_references`: the sweep's safety net for a lost notification. It checks a bounded random sample of
  references against storage, forgets those whose object or artifact is gone, and reports the drift it fixed
  (the `reference_drift` log-based metric reads it from the "sweep finished" line).
"""

from __future__ import annotations

import secrets
from typing import Any

from shared.domain.messages import ForgetDeletedObject, ReconcileReferences
from shared.domain.models import Reference
from shared.domain.states import LifecycleState
from shared.logs import get_logger
from shared.ports import Services, Tx
from shared.runtime.data_brain import reference_id_for
from shared.runtime.uow import UnitOfWork
from shared.usecases.objects import gs_uri, split_gs_uri

log = get_logger(__name__)
DEFAULT_SAMPLE = 50


def tenant_of(name: str) -> str | None:
    parts = name.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tenants" and parts[1] else None


def _forget(uow: UnitOfWork, reference: Reference) -> None:
    def step(tx: Tx) -> None:  # forgetting twice is a no-op
        tx.delete_reference(reference.tenant_id, reference.artifact_id, reference.reference_id)

    uow.commit(step, blind=True)


def forget_deleted_object(message: ForgetDeletedObject, uow: UnitOfWork) -> str:
    """'forgotten', 'unknown' (no reference: not ours, or already forgotten) or 'still_there'."""
    services, bucket, name = uow.services, message.object.bucket, message.object.name
    tenant = tenant_of(name)
    if tenant is None:
        return "unknown"
    uri = gs_uri(bucket, name)
    reference = services.store.get_reference(tenant, reference_id_for(tenant, uri))
    if reference is None:
        return "unknown"
    if services.blobs.stat(bucket, name) is not None:
        return "still_there"
    _forget(uow, reference)
    if reference.persistent:
        # A record's bytes vanished outside the platform: the reference goes, and someone must be told.
        log.error("record object deleted outside the platform", extra={"fields": {
            "uri": uri, "artifact_id": reference.artifact_id, "tenant_id": tenant}})
    log.info("reference forgotten", extra={"fields": {"uri": uri, "artifact_id": reference.artifact_id,
                                                      "reason": "object_deleted"}})
    return "forgotten"


def _drift(services: Services, ref: Reference) -> str | None:
    """Why this reference is stale, or None when storage and the registry agree."""
    if not ref.uri.startswith("gs://"):
        return "not_an_object"
    if services.blobs.stat(*split_gs_uri(ref.uri)) is None:
        return "object_missing"
    artifact = services.store.get_artifact(ref.tenant_id, ref.artifact_id)
    if artifact is None or artifact.lifecycle_state == LifecycleState.DELETED:
        return "artifact_gone"
    if all(m.uri != ref.uri for m in artifact.materializations):
        return "not_a_materialization"
    return None


def reconcile_references(message: ReconcileReferences, uow: UnitOfWork) -> dict[str, Any]:
    services, sample = uow.services, message.sample
    start = message.start_at if message.start_at is not None else f"ref_{secrets.token_hex(8)}"
    checked, fixed = 0, 0
    reasons: dict[str, int] = {}
    for ref in services.store.sample_references(start, sample):
        checked += 1
        reason = _drift(services, ref)
        if reason is None:
            continue
        _forget(uow, ref)
        fixed += 1
        reasons[reason] = reasons.get(reason, 0) + 1
        log.warning("reference drift fixed", extra={"fields": {
            "uri": ref.uri, "artifact_id": ref.artifact_id, "tenant_id": ref.tenant_id, "reason": reason}})
    return {"checked": checked, "fixed": fixed, "reasons": reasons}
