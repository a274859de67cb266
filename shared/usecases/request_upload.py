"""`request_upload`: where the client sends the bytes (a server-chosen object name), and an upload record.

Up to `resumable_threshold_bytes` the answer is one short-lived V4 signed PUT (`single_put`); above it, a GCS
resumable session (`resumable`) that the client fills in chunks and can resume after any interruption."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.errors import FILE_TOO_LARGE_MESSAGE, PayloadTooLarge
from shared.domain.events import intent_event
from shared.domain.filenames import sanitize_filename
from shared.domain.ids import new_id
from shared.domain.intents import RequestUploadParams
from shared.domain.models import PendingIntent, Upload, utcnow
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.settings import MAX_UPLOAD_BYTES, Settings
from shared.usecases.objects import upload_object

MIB = 1024 * 1024


def too_large_message(max_bytes: int) -> str:
    """The seed's exact text at the default limit; the same sentence with the deployment's limit when it is raised."""
    if max_bytes == MAX_UPLOAD_BYTES:
        return FILE_TOO_LARGE_MESSAGE
    limit = f"{max_bytes / MIB:.10g}MB"
    return f"File size exceeds {limit} limit. Maximum allowed size is {limit}."


def upload_headers(mime_type: str, max_bytes: int = MAX_UPLOAD_BYTES) -> dict[str, str]:
    """Headers the client must send with the PUT; all of them are signed."""
    return {
        "Content-Type": mime_type,
        "x-goog-content-length-range": f"0,{max_bytes}",  # GCS itself refuses more than the limit
        "x-goog-if-generation-match": "0",  # create-only: the signed URL cannot overwrite
    }


def session_headers(mime_type: str) -> dict[str, str]:
    """Headers for each chunk PUT: size, type and create-only are pinned in the session itself."""
    return {"Content-Type": mime_type}


def uses_resumable(settings: Settings, file_size: int) -> bool:
    return file_size > settings.resumable_threshold_bytes


def handle_request_upload(params: RequestUploadParams, uow: UnitOfWork) -> Result:
    ctx = uow.context
    settings = uow.services.settings
    ctx.materialization_backing_store  # noqa: B018 - refuses an unsupported backing store before any session exists
    if params.file_size > settings.max_upload_bytes:
        raise PayloadTooLarge(too_large_message(settings.max_upload_bytes), code="FILE_TOO_LARGE")
    upload_id = new_id("upl")
    object_name = upload_object(ctx.tenant_id, ctx.session_id, upload_id)
    now = utcnow()
    blobs = uow.services.blobs
    session_url: str | None = None
    if uses_resumable(settings, params.file_size):
        protocol = "resumable"
        # Cloud Storage answers a session's chunk PUTs with CORS headers only for the origin of the request that
        # created it (https://cloud.google.com/storage/docs/performing-resumable-uploads#initiate-session, and
        # https://cloud.google.com/storage/docs/cross-origin), so a browser's session is created with its Origin.
        session_url = url = blobs.start_resumable_upload(settings.uploads_bucket, object_name, params.mime_type,
                                                         params.file_size, origin=ctx.intent.client_origin)
        headers = session_headers(params.mime_type)
        expires_at = now + timedelta(seconds=settings.resumable_session_ttl_seconds)
    else:
        protocol = "single_put"
        headers = upload_headers(params.mime_type, settings.max_upload_bytes)
        signed_headers = {k: v for k, v in headers.items() if k != "Content-Type"}
        url = blobs.signed_put_url(
            settings.uploads_bucket, object_name, params.mime_type, signed_headers, settings.upload_url_ttl_seconds
        )
        expires_at = now + timedelta(seconds=settings.upload_url_ttl_seconds)
    filename = sanitize_filename(params.filename or params.ui_name)
    pending = None
    if params.ingestion_profile:
        pending = PendingIntent(
            intent_id=new_id("intent"), tenant_id=ctx.tenant_id, session_id=ctx.session_id, user_id=ctx.user_id,
            upload_id=upload_id, context={"ingestion_profile": params.ingestion_profile, "parse_options": params.parse_options},
        )
    upload = Upload(
        upload_id=upload_id, tenant_id=ctx.tenant_id, session_id=ctx.session_id, user_id=ctx.user_id,
        bucket=settings.uploads_bucket, object_name=object_name, ui_name=params.ui_name, filename=filename,
        mime_type=params.mime_type, file_type=params.file_type, declared_size=params.file_size,
        upload_protocol=protocol, session_url=session_url,
        session_origin=ctx.intent.client_origin if session_url else None,
        pending_intent_id=pending.intent_id if pending else None, execution_id=ctx.execution_id, expires_at=expires_at,
        # The seed's context metadata, honoured when the finalize event ingests the object.
        boundary_contract_id=ctx.boundary_contract_id, materialization_type=ctx.materialization_type,
        solution_id=ctx.solution_id,
    )
    body: dict[str, Any] = {
        "upload_id": upload_id, "upload_url": url, "method": "PUT", "headers": headers,
        "expires_at": expires_at.isoformat(), "object_name": object_name, "bucket": settings.uploads_bucket,
        "max_bytes": settings.max_upload_bytes, "upload_protocol": protocol, "file_size": params.file_size,
    }
    if protocol == "resumable":
        body["chunk_size"] = settings.resumable_chunk_bytes
    if pending:
        body["pending_intent_id"] = pending.intent_id

    def step(tx: Tx) -> Result:
        tx.put_upload(upload)
        events = []
        if pending:
            tx.put_intent(pending)
            events.append(intent_event("intent_pending", pending, ctx.execution_id, upload_id=upload_id))
        return Result(body, events=events, intent_id=pending.intent_id if pending else None,
                      detail={"upload_id": upload_id})

    return uow.commit(step, blind=True)  # reads nothing (a new upload id): one batch, no transaction to begin

