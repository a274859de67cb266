"""Uploads seen from the client: `GET /v1/uploads/{upload_id}` (where it stands) and
`POST /v1/uploads/{upload_id}/resume` (how to go on after losing state)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.errors import NotFound, echo
from shared.domain.messages import Query, ResumeUpload
from shared.domain.models import Upload, utcnow
from shared.domain.states import UploadStatus
from shared.ports import Principal, Services, Tx, UploadRepository
from shared.runtime.uow import UnitOfWork
from shared.usecases.request_upload import session_headers, upload_headers


def _find(store: UploadRepository, principal: Principal, upload_id: str) -> Upload:
    upload = store.get_upload(principal.tenant_id, upload_id)
    if upload is None:
        raise NotFound(f"Upload {echo(upload_id)} not found.", code="UPLOAD_NOT_FOUND")
    return upload


def get_upload_status(query: Query, services: Services) -> dict[str, Any]:
    return _find(services.store, query.principal, query.args["upload_id"]).to_json()


def _replace_session(uow: UnitOfWork, upload: Upload, origin: str | None) -> Upload:
    """A new session for the same server-chosen object, kept on the upload record while it still awaits its bytes."""
    services = uow.services
    settings = services.settings
    url = services.blobs.start_resumable_upload(upload.bucket, upload.object_name, upload.mime_type, upload.declared_size,
                                                origin=origin)
    expires_at = utcnow() + timedelta(seconds=settings.resumable_session_ttl_seconds)

    def step(tx: Tx) -> Upload:
        current = tx.get_upload(upload.tenant_id, upload.upload_id)
        if current is None or current.status != UploadStatus.AWAITING_UPLOAD:
            return current or upload
        updated = current.model_copy(update={"session_url": url, "session_origin": origin, "expires_at": expires_at,
                                             "updated_at": utcnow()})
        tx.put_upload(updated)
        return updated

    return uow.commit(step)


def resume_upload(message: ResumeUpload, uow: UnitOfWork) -> dict[str, Any]:
    """Where the bytes go next and how many the store already holds, read from the session itself.

    A finished upload (`ingested` or `rejected`) answers with its status and no URL. A single PUT upload gets a fresh
    signed URL (the first may have expired). A resumable session that expired, or that the store cannot query, is
    replaced by a new one for the same object, from byte 0, created with the caller's allowed `origin`. So is a
    session made for another browser origin: Cloud Storage would answer this browser's chunks without CORS headers
    (a caller with no origin, such as the CLI, needs none and goes on with any session)."""
    services, principal, upload_id, origin = uow.services, message.principal, message.upload_id, message.origin
    upload = _find(services.store, principal, upload_id)
    body: dict[str, Any] = {"upload_id": upload.upload_id, "status": upload.status.value,
                            "upload_protocol": upload.upload_protocol, "file_size": upload.declared_size}
    if upload.status != UploadStatus.AWAITING_UPLOAD:
        committed = upload.declared_size if upload.status == UploadStatus.INGESTED else 0
        return {**upload.to_json(), **body, "committed_bytes": committed}
    blobs, settings = services.blobs, services.settings
    stored = blobs.stat(upload.bucket, upload.object_name)
    if stored is not None:  # every byte arrived; the finalize event is on its way
        return {**body, "committed_bytes": stored.size}
    if upload.upload_protocol == "single_put":
        headers = upload_headers(upload.mime_type, settings.max_upload_bytes)
        signed = {k: v for k, v in headers.items() if k != "Content-Type"}
        url = blobs.signed_put_url(upload.bucket, upload.object_name, upload.mime_type, signed, settings.upload_url_ttl_seconds)
        return {**body, "upload_url": url, "method": "PUT", "headers": headers, "committed_bytes": 0,
                "expires_at": (utcnow() + timedelta(seconds=settings.upload_url_ttl_seconds)).isoformat()}
    committed = 0
    state = blobs.query_resumable_upload(upload.session_url, upload.declared_size) if upload.session_url else None
    if state is not None and state.complete:
        return {**body, "committed_bytes": upload.declared_size}
    foreign = origin is not None and origin != upload.session_origin
    if state is None or state.gone or not state.known or foreign:
        upload = _replace_session(uow, upload, origin)
        if upload.status != UploadStatus.AWAITING_UPLOAD:  # finished while we looked
            return resume_upload(message, uow)
    else:
        committed = state.committed
    return {**body, "upload_url": upload.session_url, "method": "PUT", "headers": session_headers(upload.mime_type),
            "committed_bytes": committed, "chunk_size": settings.resumable_chunk_bytes,
            "expires_at": upload.expires_at.isoformat()}
