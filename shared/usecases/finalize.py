"""The GCS finalize handler: a signed-URL upload becomes a PENDING file artifact, exactly once."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Duplicate, TransientError
from shared.domain.events import intent_event
from shared.domain.ids import stable_key
from shared.domain.intents import Intent
from shared.domain.messages import IngestUploadedObject, StorageObjectData
from shared.domain.models import Upload, utcnow
from shared.domain.states import IntentStatus, UploadStatus
from shared.logs import adopt_trace, get_logger
from shared.ports import AlreadyStored, Services, Tx, Versioned, upload_outbox_id
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork, decided_on_fresh_reads
from shared.usecases.ingestion import (
    ContentTooLarge,
    FactsSink,
    FileSpec,
    build_file_artifact,
    detect_type,
    register_file,
)
from shared.usecases.objects import parse_upload_object

log = get_logger(__name__)


@dataclass(frozen=True)
class FinalizeResult:
    outcome: str  # ingested | deduplicated | duplicate | ignored | rejected
    reason: str | None = None
    file_id: str | None = None


def _keys(obj: StorageObjectData, source: str, event_id: str) -> tuple[str, str]:
    return (stable_key("gcs-finalize", obj.bucket, obj.name, obj.generation),
            stable_key("cloudevent", source, event_id))


def _record_ignored(uow: UnitOfWork, keys: tuple[str, str], obj: StorageObjectData, reason: str) -> FinalizeResult:
    """Not an upload we wait for: dedup keys remember why, so a redelivery is a read and no write. No execution is
    opened. (An upload's own outcome needs no key: its record holds the status and the generation it took.)"""
    seen, _ = uow.services.store.seen_and_upload(list(keys), None, None)
    if seen:
        return FinalizeResult("duplicate")

    def step(tx: Tx) -> None:
        for key in keys:
            tx.mark_seen(key, {"kind": "finalize", "outcome": "ignored", "reason": reason, "object": obj.name,
                               "generation": obj.generation})

    uow.commit(step)
    log.warning("finalize ignored", extra={"fields": {"object": obj.name, "reason": reason}})
    return FinalizeResult("ignored", reason)


def _ingest_intent(upload: Upload, obj: StorageObjectData) -> Intent:
    return Intent.create("ingest_file", tenant_id=upload.tenant_id, session_id=upload.session_id,
                         user_id=upload.user_id or "unknown", solution_id=upload.solution_id,
                         metadata={"upload_id": upload.upload_id, "object": obj.name, "generation": obj.generation,
                                   "trigger": "finalize", "materialization_type": upload.materialization_type,
                                   **({"boundary_contract_id": upload.boundary_contract_id} if upload.boundary_contract_id else {})})


def _reject(uow: UnitOfWork, upload: Upload, obj: StorageObjectData, reason: str) -> FinalizeResult:
    """The upload says why; a waiting intent fails with the same reason; the object is not kept. The execution ends
    failed with the reason, so the client reading it learns why."""
    intent = _ingest_intent(upload, obj)
    uow.start(intent, detail=dict(intent.metadata))

    def step(tx: Tx) -> Result:
        current = tx.get_upload(upload.tenant_id, upload.upload_id)
        intent = tx.get_intent(upload.tenant_id, upload.pending_intent_id) if upload.pending_intent_id else None
        if current is None or current.status != UploadStatus.AWAITING_UPLOAD:
            raise Duplicate()
        tx.put_upload(current.model_copy(update={"status": UploadStatus.REJECTED, "reason": reason,
                                                 "generation": obj.generation, "updated_at": utcnow(),
                                                 "ingest_execution_id": uow.context.execution_id}))
        events = []
        if intent is not None and intent.status == IntentStatus.PENDING:
            failed = intent.model_copy(update={"status": IntentStatus.FAILED, "last_error": reason,
                                               "error_code": "UPLOAD_REJECTED", "updated_at": utcnow()})
            tx.put_intent(failed)
            events.append(intent_event("intent_failed", failed, upload.execution_id, reason=reason))
        return Result(events=events, failure=(reason, "UPLOAD_REJECTED"), detail={"upload_id": upload.upload_id})

    try:
        uow.commit(step)
    except Duplicate:
        return FinalizeResult("duplicate")
    uow.services.blobs.delete(obj.bucket, obj.name, obj.generation)
    log.warning("upload rejected", extra={"fields": {"upload_id": upload.upload_id, "reason": reason}})
    return FinalizeResult("rejected", reason)


def handle_finalize(message: IngestUploadedObject, uow: UnitOfWork) -> FinalizeResult:
    # A delivery that loses the race for its upload to another one decides again on what that one wrote.
    return decided_on_fresh_reads(lambda: _finalize(message, uow), "upload")


def _resend_held(services: Services, tenant_id: str, upload: Upload, outbox_id: str) -> None:
    """Where the ingest's commit held its messages: the upload record (a record ingested before records kept them
    has them in an outbox document named by its event)."""
    if not services.relay.resend(upload_outbox_id(tenant_id, upload.upload_id)).delivered:
        services.relay.resend(outbox_id)


def _finalize(message: IngestUploadedObject, uow: UnitOfWork) -> FinalizeResult:
    services, obj = uow.services, message.object
    settings = services.settings
    if obj.bucket != settings.uploads_bucket:
        return FinalizeResult("ignored", "not the uploads bucket")  # Eventarc filters this; never trust it alone
    keys = _keys(obj, message.source, message.event_id)
    where = parse_upload_object(obj.name)
    tenant_id, session_id, upload_id = where if where else (None, None, None)
    # One read: the upload record is the guard, and it keeps the generation it took, so a redelivery of an upload's
    # event is answered from it; only objects that are no upload of ours read dedup keys.
    read: Versioned[Upload] | None = services.store.read_upload(tenant_id, upload_id) if tenant_id and upload_id else None
    upload = read.value if read is not None else None
    if upload is not None:  # the storage event carries no trace: continue the journey that asked for the upload
        adopt_trace(upload.trace_context, upload.origin_execution_id)
    if tenant_id is None or session_id is None or upload_id is None:
        return _record_ignored(uow, keys, obj, "object is outside the uploads layout")
    if upload is None or upload.session_id != session_id or upload.object_name != obj.name:
        return _record_ignored(uow, keys, obj, "no upload record for this object")
    outbox_id = f"finalize_{keys[0]}"
    if upload.status != UploadStatus.AWAITING_UPLOAD:
        if upload.generation == obj.generation:
            if upload.status == UploadStatus.INGESTED:
                # This delivery may be the retry of one that committed and died (or failed to send) before its
                # messages left: the ingest's commit held them for this retry, which sends them again.
                _resend_held(services, tenant_id, upload, outbox_id)
            return FinalizeResult("duplicate")
        # Signed URLs are create-only; a later generation is not a new upload.
        return _record_ignored(uow, keys, obj, f"upload {upload_id} was already {upload.status.value}; "
                               f"generation {obj.generation} ignored")
    if obj.size <= 0:
        return _reject(uow, upload, obj, "The uploaded file is empty.")
    if obj.size > settings.max_upload_bytes:
        return _reject(uow, upload, obj, "File size exceeds 100MB limit. Maximum allowed size is 100MB.")
    if upload.upload_protocol == "resumable" and obj.size != upload.declared_size:
        # GCS pins the size in the session; a store that does not (the local emulator) is caught here.
        return _reject(uow, upload, obj, f"The upload was opened for {upload.declared_size} bytes; "
                       f"{obj.size} arrived.")

    sink = FactsSink(session_id, settings.max_upload_bytes)
    try:
        found = services.blobs.download_into(obj.bucket, obj.name, obj.generation, sink)
    except ContentTooLarge:
        return _reject(uow, upload, obj, "File size exceeds 100MB limit. Maximum allowed size is 100MB.")
    if not found:
        return _record_ignored(uow, keys, obj, f"generation {obj.generation} no longer exists")
    facts = sink.facts()
    if facts.size != obj.size:
        raise TransientError(f"read {facts.size} of {obj.size} bytes of {obj.name}")  # the platform retries
    detected_format, detected_mime = detect_type(facts.head, upload.filename)

    intent = _ingest_intent(upload, obj)
    uow.start(intent, detail=dict(intent.metadata))
    spec = FileSpec(
        tenant_id=tenant_id, session_id=session_id, user_id=upload.user_id, execution_id=uow.context.execution_id,
        bucket=obj.bucket, object_name=obj.name, generation=obj.generation, ui_name=upload.ui_name,
        filename=upload.filename, file_type=upload.file_type, mime_type=upload.mime_type, ingestion_type="upload",
        boundary_contract_id=upload.boundary_contract_id, source_metadata={"upload_id": upload_id},
        ttl_days=settings.working_material_ttl_days, materialization_type=upload.materialization_type,
    )
    candidate = build_file_artifact(spec, facts, detected_format, detected_mime)

    def step(tx: Tx, assume_new: bool) -> Result:
        # The upload record is the exactly-once guard: only the delivery that moves it out of awaiting_upload
        # ingests; a racing one finds it moved, and a redelivery finds the generation it took. New bytes read
        # nothing in the commit: the record as read above is written only if it is still that version.
        current = tx.adopt_upload(read) if assume_new and read is not None else tx.get_upload(tenant_id, upload_id)
        if current is None or current.status != UploadStatus.AWAITING_UPLOAD:
            raise Duplicate()
        # Eventarc retries this event until it succeeds: the retry, not the sweep, sends what this commit stages
        # (one commit in all, no delivery mark). They ride in the upload record, which also keeps this execution.
        tx.hold_outbox_for_trigger(outbox_id)
        artifact, _, result = register_file(tx, candidate, announce_duplicate=True, assume_new=assume_new)
        tx.put_upload(current.model_copy(update={"status": UploadStatus.INGESTED, "file_id": artifact.artifact_id,
                                                 "generation": obj.generation, "updated_at": utcnow(),
                                                 "ingest_execution_id": uow.context.execution_id}))
        return result

    try:
        try:  # new bytes, the usual case: one blind batch, conditioned on the upload's version (one read in all)
            result = uow.commit(lambda tx: step(tx, True), blind=True)
        except AlreadyStored:  # the same bytes are known in this session (or a tombstone holds the id): read it
            result = uow.commit(lambda tx: step(tx, False))
    except Duplicate:
        return FinalizeResult("duplicate")
    file_id = str(result.detail["artifact_id"])
    if result.detail.get("deduplicated"):
        # Same bytes already ingested in this session: keep one stored copy.
        services.blobs.delete(obj.bucket, obj.name, obj.generation)
        return FinalizeResult("deduplicated", file_id=file_id)
    return FinalizeResult("ingested", file_id=file_id)
