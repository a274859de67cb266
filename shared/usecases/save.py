"""`save_materialization`: working material (PENDING) becomes a record of fact (READY).

The payload is copied server-side into the records bucket BEFORE the commit, under names derived from the
artifact alone. A crash between the copy and the commit therefore leaves the artifact PENDING and a retry re-copies
onto the same names and commits: nothing half-done survives a retry. The commit writes the artifact only if it is
still the version read before the copy (it is not read again); a concurrent save that committed first makes this one
decide again, and find it READY: it returns the stored result without a second event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import Conflict, NotFound, TransientError, echo
from shared.domain.events import artifact_event
from shared.domain.ids import stable_key
from shared.domain.intents import SaveMaterializationParams
from shared.domain.models import Artifact, Materialization, utcnow
from shared.domain.retention import REGULATORY_POLICY, record_expiry, retain_until
from shared.domain.states import LifecycleState, PayloadState, check_lifecycle_transition
from shared.ports import BlobStore, Tx
from shared.runtime.context import Result
from shared.runtime.data_brain import DataBrain
from shared.runtime.uow import UnitOfWork, decided_on_fresh_reads
from shared.usecases.materializations import (
    FULL,
    REFERENCE,
    SUMMARY,
    check_combination,
    chosen_type,
    hold_references,
    lock_records,
    summary_materialization,
    verified_references,
)
from shared.usecases.objects import dataset_name, gs_uri, record_prefix, split_gs_uri, table_object
from shared.usecases.reads import payload_expired

DEFAULT_RETENTION = "standard"


@dataclass(frozen=True)
class RecordCopy:
    source: Materialization
    bucket: str
    name: str

    @property
    def uri(self) -> str:
        return gs_uri(self.bucket, self.name)


def artifact_not_found(artifact_id: str) -> NotFound:
    return NotFound(f"Artifact {echo(artifact_id)} not found.", code="ARTIFACT_NOT_FOUND")


def record_copies(artifact: Artifact, records_bucket: str) -> list[RecordCopy]:
    """Where each working materialization goes; a function of the artifact alone, so a retry picks the same names."""
    prefix = record_prefix(artifact.tenant_id, artifact.artifact_id)
    copies: list[RecordCopy] = []
    taken: set[str] = set()
    tabular = [m for m in artifact.materializations if not m.persistent and m.format == "parquet"]
    for index, mat in enumerate(m for m in artifact.materializations if not m.persistent):
        if artifact.artifact_type == "parsed_content" and tabular[:1] == [mat]:  # the queryable table
            dataset = dataset_name(artifact.ui_name, artifact.metadata.get("dataset"))
            copies.append(RecordCopy(mat, records_bucket, table_object(artifact.tenant_id, dataset, artifact.artifact_id)))
            continue
        base = mat.uri.rstrip("/").rsplit("/", 1)[-1] or "payload"
        name = f"{prefix}{base}" if base not in taken else f"{prefix}{index}-{base}"
        taken.add(base)
        copies.append(RecordCopy(mat, records_bucket, name))
    return copies


def check_saveable(artifact: Artifact, params: SaveMaterializationParams) -> None:
    """The refusals every save applies, before any copy and again inside the transaction."""
    if params.boundary_contract_id is not None and params.boundary_contract_id != artifact.boundary_contract_id:
        raise Conflict(
            f"boundary_contract_id {params.boundary_contract_id} does not match the artifact's boundary contract.",
            code="BOUNDARY_CONTRACT_MISMATCH",
        )
    if artifact.lifecycle_state == LifecycleState.REJECTED:
        raise Conflict(f"Artifact {artifact.artifact_id} was rejected and cannot be saved.", code="ARTIFACT_REJECTED")
    if artifact.lifecycle_state == LifecycleState.DELETED:
        raise Conflict(f"Artifact {artifact.artifact_id} was deleted and cannot be saved.", code="ARTIFACT_DELETED")


def check_sources(artifact: Artifact, parents: list[Artifact | None]) -> None:
    """A record of fact must not rest on working material that will expire: every source must be saved first."""
    unsaved = [
        pid for pid, parent in zip(artifact.lineage.derived_from, parents, strict=True)
        if parent is None or parent.lifecycle_state != LifecycleState.READY
    ]
    if unsaved:
        raise Conflict(
            f"Save the source file first: {', '.join(unsaved)} is not saved, and a record of fact cannot derive "
            "from working material that expires.",
            code="SOURCE_NOT_SAVED", details={"unsaved_sources": unsaved},
        )


def saved_artifact(artifact: Artifact, copies: list[RecordCopy], sizes: dict[str, int | None],
                   retention_policy: str, materialization_type: str = "full_artifact", *,
                   now: datetime | None = None, kept: list[Materialization] | None = None) -> Artifact:
    """The READY record. `kept` replaces the working materializations (reference, summary); else they stay beside
    the record copies, which the bucket rule expires."""
    check_lifecycle_transition(artifact.lifecycle_state, LifecycleState.READY)
    now = now or utcnow()
    records = [
        Materialization(
            materialization_id=f"rec_{stable_key('record', artifact.tenant_id, artifact.artifact_id, c.name)[:32]}",
            uri=c.uri, format=c.source.format, persistent=True, compression=c.source.compression,
            size_bytes=sizes.get(c.name, c.source.size_bytes), created_at=now, materialization_type=materialization_type,
        )
        for c in copies
    ]
    record_of = {c.source.uri: c.uri for c in copies}
    outputs = [{**o, "record_uri": record_of[o["uri"]]} if o.get("uri") in record_of else dict(o) for o in artifact.outputs]
    if kept is not None:
        mats = kept
        location = kept[0].uri if kept else artifact.storage_location
        if materialization_type == SUMMARY:
            outputs = [{k: v for k, v in o.items() if k not in ("uri", "record_uri")} for o in outputs]
    else:
        mats = [*artifact.materializations, *records]
        # The working copy expires by bucket rule; the record copy is where the payload now lives.
        location = record_of.get(artifact.storage_location, records[0].uri if records else artifact.storage_location)
    return artifact.model_copy(update={
        "lifecycle_state": LifecycleState.READY,
        "materializations": mats,
        "materialization_pending": False,
        "storage_location": location,
        "outputs": outputs,
        "retention_policy": retention_policy,
        "payload_state": PayloadState.LIVE,
        "expires_at": record_expiry(retention_policy, now),  # the sweep enforces it
        "retain_until": retain_until(now) if retention_policy == REGULATORY_POLICY else None,
        "updated_at": now,
    })


def copy_to_records(blobs: BlobStore, copies: list[RecordCopy]) -> dict[str, int | None]:
    """Server-side rewrites: the bytes never pass through this function. Same names on every retry, and a record
    copy already in place (an earlier attempt, or a concurrent save of the same artifact) is not copied again."""
    sizes: dict[str, int | None] = {}
    for c in copies:
        src_bucket, src_name = split_gs_uri(c.source.uri)
        source = blobs.stat(src_bucket, src_name)
        present = blobs.stat(c.bucket, c.name)
        if present is not None and source is not None and present.size == source.size:
            sizes[c.name] = present.size
            continue
        try:
            sizes[c.name] = blobs.copy(src_bucket, src_name, c.bucket, c.name).size
        except TransientError:
            raise
        except Exception as exc:  # judged by the outcome: a concurrent save may have rewritten the same name
            present = blobs.stat(c.bucket, c.name)
            if present is None:
                raise TransientError(f"copying {c.source.uri} to the records bucket failed: {exc}") from exc
            sizes[c.name] = present.size
    return sizes


def _working_payload_gone(blobs: BlobStore, copies: list[RecordCopy]) -> bool:
    for c in copies:
        if blobs.stat(*split_gs_uri(c.source.uri)) is None:
            return True
    return False


def handle_save(params: SaveMaterializationParams, uow: UnitOfWork) -> Result:
    # A save that finds its artifact changed at commit (a concurrent save won) decides again on what was written.
    return decided_on_fresh_reads(lambda: _save(params, uow), "artifact")


def _save(params: SaveMaterializationParams, uow: UnitOfWork) -> Result:
    ctx = uow.context
    services = uow.services
    ctx.materialization_backing_store  # noqa: B018 - refuses an unsupported backing store before any copy
    ctx.materialization_type  # noqa: B018 - refuses an unknown type in the metadata, too
    if params.boundary_contract_id is None and ctx.boundary_contract_id:  # the seed reads it from the context too
        params = params.model_copy(update={"boundary_contract_id": ctx.boundary_contract_id})
    read = services.store.read_artifact(ctx.tenant_id, params.artifact_id)
    if read is None:
        raise artifact_not_found(params.artifact_id)
    artifact = read.value
    check_saveable(artifact, params)
    retention = params.retention_policy or DEFAULT_RETENTION
    mtype = chosen_type(params.materialization_type, ctx.metadata.get("materialization_type"), artifact)
    saved_at = utcnow()  # one moment for the record's expiry and its objects' retainUntilTime
    kept: list[Materialization] | None = None

    if artifact.lifecycle_state == LifecycleState.PENDING:
        check_combination(mtype, retention)
        # Read once, here: a source found READY stays a record, since a record with a live derivative cannot be
        # deleted (delete_artifact), and one that expires after this read expires as it would after the save.
        check_sources(artifact, [services.store.get_artifact(ctx.tenant_id, pid) for pid in artifact.lineage.derived_from])
        copies = record_copies(artifact, services.settings.records_bucket)
        if not copies:
            raise Conflict(f"Artifact {artifact.artifact_id} has no payload to save.", code="NO_PAYLOAD")
        if payload_expired(artifact, saved_at) or _working_payload_gone(services.blobs, copies):
            raise Conflict(
                f"The working material of artifact {artifact.artifact_id} has expired; ingest the file again to save it.",
                code="PAYLOAD_EXPIRED",
            )
        sizes: dict[str, int | None] = {}
        if mtype == FULL:
            sizes = copy_to_records(services.blobs, copies)
            if retention == REGULATORY_POLICY:  # locked in storage before the record says so
                lock_records(services.blobs, [(c.bucket, c.name) for c in copies], retain_until(saved_at))
        elif mtype == REFERENCE:
            kept = verified_references(services.blobs, artifact, saved_at)
        else:
            kept = [summary_materialization(artifact, saved_at)]
        if kept is not None:
            copies = []
    else:  # already READY: no copy; the transaction returns the stored result
        copies, sizes = [], {}
    working = [m for m in artifact.materializations if not m.persistent]

    def step(tx: Tx) -> Result:
        # The artifact as read above, not read again: the commit writes it only if it is still that version, and
        # reads nothing, so it is one batch.
        current = tx.adopt_artifact(read)
        if current.lifecycle_state == LifecycleState.READY:
            return Result(subject=current, detail={"artifact_id": current.artifact_id, "already_saved": True})
        saved = saved_artifact(current, copies, sizes, retention, mtype, now=saved_at, kept=kept)
        kept_uris = {m.uri for m in saved.materializations}
        DataBrain.forget_references(tx, current.model_copy(update={
            "materializations": [m for m in current.materializations if m.uri not in kept_uris]}))
        event = artifact_event(
            "artifact_saved", saved, ctx.execution_id, retention_policy=retention,
            boundary_contract_id=saved.boundary_contract_id, materialization_type=mtype,
            record_uris=[m.uri for m in saved.materializations if m.persistent],
        )
        return Result(subject=saved, artifacts=[saved], events=[event], detail={
            "artifact_id": saved.artifact_id, "already_saved": False, "boundary_contract_id": saved.boundary_contract_id,
            "retention_policy": retention, "materialization_type": mtype})

    result = uow.commit(step, blind=True)
    # After the commit, and again on every repeated save: a crash in between leaves the hold to the retry.
    record: Artifact = result.subject
    hold_references(services.blobs, [
        m.uri for m in record.materializations if m.persistent and m.materialization_type == REFERENCE])
    if mtype == SUMMARY and kept is not None and not result.detail.get("already_saved"):
        # After the commit: the record no longer names these objects; a crash here leaves orphans the bucket rule
        # removes, never a record whose payload vanished before it committed.
        for mat in working:
            services.blobs.delete(*split_gs_uri(mat.uri))
    return result

