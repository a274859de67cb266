"""`DELETE /v1/artifacts/{artifact_id}`: remove an artifact's payloads and leave a tombstone that lineage resolves.

Policy: deletion REFUSES (409 HAS_DERIVED_ARTIFACTS, listing them) while live derived artifacts exist, and while a
derivation from it is in progress; it never cascades. Pending intents that target it are cancelled. The payload
objects are deleted before the tombstone is committed, so a crash in between leaves a live-looking artifact whose
retry finishes the job; a tombstone is never left pointing at objects that still exist.
"""

from __future__ import annotations

from pydantic import Field

from shared.domain.errors import Conflict
from shared.domain.events import artifact_event, intent_event
from shared.domain.holds import check_deletable
from shared.domain.intents import Params
from shared.domain.models import Artifact, utcnow
from shared.domain.states import (
    IntentStatus,
    LifecycleState,
    PayloadState,
    check_intent_transition,
    check_lifecycle_transition,
)
from shared.ports import BlobStore, Tx
from shared.runtime.context import Result
from shared.runtime.data_brain import DataBrain
from shared.runtime.uow import UnitOfWork
from shared.settings import Settings
from shared.usecases.objects import (
    TABLES_ROOT,
    dataset_name,
    parsed_prefix,
    record_prefix,
    split_gs_uri,
    table_object,
)
from shared.usecases.save import artifact_not_found

INTENT_TYPE = "delete_artifact"


class DeleteArtifactParams(Params):
    artifact_id: str = Field(min_length=1, max_length=128)


def payload_objects(artifact: Artifact, blobs: BlobStore, settings: Settings) -> list[tuple[str, str]]:
    """Every object that holds this artifact's payload, in any bucket; only names under its tenant."""
    uris = [m.uri for m in artifact.materializations] + [artifact.storage_location]
    for output in artifact.outputs:
        uris += [str(output[k]) for k in ("uri", "record_uri") if output.get(k)]
    found: set[tuple[str, str]] = set()
    for uri in uris:
        if uri.startswith("gs://"):
            bucket, name = split_gs_uri(uri)
            if name and not name.endswith("/"):
                found.add((bucket, name))
    # Leftovers of an interrupted save or parse live under the artifact's own prefixes.
    found.update((settings.records_bucket, n) for n in blobs.list_names(
        settings.records_bucket, record_prefix(artifact.tenant_id, artifact.artifact_id)))
    if artifact.artifact_type == "parsed_content":
        found.update((settings.derived_bucket, n) for n in blobs.list_names(
            settings.derived_bucket, parsed_prefix(artifact.tenant_id, artifact.artifact_id)))
        # its queryable table, also when an interrupted save left it behind (the name follows from the artifact)
        table = table_object(artifact.tenant_id, dataset_name(artifact.ui_name, artifact.metadata.get("dataset")),
                             artifact.artifact_id)
        found.update((settings.records_bucket, n) for n in blobs.list_names(
            settings.records_bucket, table.rsplit("/", 1)[0] + "/"))
    tenant_root = f"tenants/{artifact.tenant_id}/"
    own_table = f"/tenant_id={artifact.tenant_id}/artifact_id={artifact.artifact_id}/"
    return sorted((b, n) for b, n in found
                  if n.startswith(tenant_root) or (n.startswith(TABLES_ROOT) and own_table in n))


def delete_objects(blobs: BlobStore, artifact: Artifact, objects: list[tuple[str, str]]) -> None:
    """Delete payload objects; absent already is fine (a retry passes here again). An object a `reference` record
    held against the bucket's lifecycle has its hold released first, or Cloud Storage refuses the delete."""
    referenced = {split_gs_uri(m.uri) for m in artifact.materializations if m.materialization_type == "reference"}
    for bucket, name in objects:
        if (bucket, name) in referenced:
            blobs.set_temporary_hold(bucket, name, False)
        blobs.delete(bucket, name)


def live_children(children: list[Artifact]) -> list[Artifact]:
    return [c for c in children if c.lifecycle_state != LifecycleState.DELETED]


def tombstone_of(artifact: Artifact) -> Artifact:
    check_lifecycle_transition(artifact.lifecycle_state, LifecycleState.DELETED)
    now = utcnow()
    return artifact.model_copy(update={
        "lifecycle_state": LifecycleState.DELETED, "payload_state": PayloadState.DELETED, "deleted_at": now,
        "updated_at": now, "materializations": [], "materialization_pending": False, "storage_location": "",
        "outputs": [], "expires_at": None,
    })


def _refuse_children(artifact_id: str, children: list[Artifact]) -> Conflict:
    ids = [c.artifact_id for c in children]
    return Conflict(
        f"Artifact {artifact_id} has derived artifacts ({', '.join(ids)}); delete them first.",
        code="HAS_DERIVED_ARTIFACTS", details={"derived_artifacts": ids},
    )


def handle_delete(params: DeleteArtifactParams, uow: UnitOfWork) -> Result:
    ctx = uow.context
    services = uow.services
    store = services.store
    artifact = store.get_artifact(ctx.tenant_id, params.artifact_id)
    if artifact is None:
        raise artifact_not_found(params.artifact_id)
    if artifact.lifecycle_state == LifecycleState.DELETED:
        return Result(subject=artifact, detail={"artifact_id": artifact.artifact_id, "already_deleted": True})
    check_deletable(artifact, utcnow())  # retention, legal hold, permanent: before a single byte goes
    children = live_children(store.list_children(ctx.tenant_id, artifact.artifact_id))
    if children:
        raise _refuse_children(artifact.artifact_id, children)
    running = store.list_intents(ctx.tenant_id, target_artifact_id=artifact.artifact_id,
                                 status=IntentStatus.IN_PROGRESS.value, page_size=1).items
    if running:
        raise Conflict(f"A derivation from artifact {artifact.artifact_id} is in progress; retry when it ends.",
                       code="DERIVATION_IN_PROGRESS", details={"intent_id": running[0].intent_id})

    objects = payload_objects(artifact, services.blobs, services.settings)
    delete_objects(services.blobs, artifact, objects)

    def step(tx: Tx) -> Result:
        current = tx.get_artifact(ctx.tenant_id, params.artifact_id)
        if current is None:
            raise artifact_not_found(params.artifact_id)
        if current.lifecycle_state == LifecycleState.DELETED:
            return Result(subject=current, detail={"artifact_id": current.artifact_id, "already_deleted": True})
        check_deletable(current, utcnow())
        pending, running = tx.intents_of(ctx.tenant_id, "parse_content", current.artifact_id)
        if running is not None:
            raise Conflict(f"A derivation from artifact {current.artifact_id} is in progress; retry when it ends.",
                           code="DERIVATION_IN_PROGRESS", details={"intent_id": running.intent_id})
        DataBrain.forget_references(tx, current)
        tombstone = tombstone_of(current)
        events = [artifact_event("artifact_deleted", tombstone, ctx.execution_id, deleted_objects=len(objects))]
        for intent in [pending] if pending is not None else []:
            if intent.status == IntentStatus.PENDING:
                check_intent_transition(intent.status, IntentStatus.CANCELLED)
                cancelled = intent.model_copy(update={
                    "status": IntentStatus.CANCELLED, "updated_at": utcnow(), "error_code": "TARGET_DELETED",
                    "last_error": f"Artifact {current.artifact_id} was deleted."})
                tx.put_intent(cancelled)
                events.append(intent_event("intent_cancelled", cancelled, ctx.execution_id, reason="target_deleted"))
        return Result(subject=tombstone, artifacts=[tombstone], inputs=[current], events=events, detail={
            "artifact_id": tombstone.artifact_id, "already_deleted": False, "deleted_objects": len(objects)})

    return uow.commit(step)

