"""Inline `ingest_file` (upload, edi, api): the seed contract, for payloads that fit in one request."""

from __future__ import annotations

import json

from shared.domain.errors import FILE_TOO_LARGE_MESSAGE, PayloadTooLarge, ValidationFailed
from shared.domain.filenames import sanitize_filename
from shared.domain.ids import file_id_for
from shared.domain.intents import IngestFileParams, decode_hex
from shared.domain.states import LifecycleState
from shared.partners import inline as partner_edi
from shared.ports import Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.ingestion import (
    FileSpec,
    build_file_artifact,
    detect_type,
    facts_of_bytes,
    register_file,
)
from shared.usecases.objects import inline_object

_EDI_MIME = {"edi_x12": "application/edi-x12", "edi_edifact": "application/edifact"}


def _content(params: IngestFileParams, max_bytes: int, inline_max: int) -> bytes:
    if params.ingestion_type == "api":
        data = json.dumps(params.api_payload, separators=(",", ":"), sort_keys=True).encode()
    else:
        hex_text = params.hex_content or ""
        # Judge the size before decoding: a hostile body must not cost its size in memory twice.
        declared = len(hex_text.strip()) // 2
        if declared > max_bytes:
            raise PayloadTooLarge(FILE_TOO_LARGE_MESSAGE, code="FILE_TOO_LARGE")
        if declared > inline_max:
            raise PayloadTooLarge(
                f"Inline ingest_file accepts at most {inline_max} bytes; use request_upload for larger files.",
                code="INLINE_PAYLOAD_TOO_LARGE",
            )
        try:
            data = decode_hex(hex_text, "file_content" if params.ingestion_type == "upload" else "edi_data")
        except ValueError as exc:
            raise ValidationFailed(str(exc).split("\n")[0], code="INVALID_HEX") from None
    if len(data) > max_bytes:
        raise PayloadTooLarge(FILE_TOO_LARGE_MESSAGE, code="FILE_TOO_LARGE")
    if not data:
        raise ValidationFailed("The file is empty.", code="EMPTY_FILE")
    return data


def handle_ingest_file(params: IngestFileParams, uow: UnitOfWork) -> Result:
    ctx = uow.context
    settings = uow.services.settings
    ctx.materialization_backing_store  # noqa: B018 - refuses an unsupported backing store before any write
    data = _content(params, settings.max_upload_bytes, settings.inline_max_bytes)
    facts = facts_of_bytes(data, ctx.session_id)
    file_id = file_id_for(ctx.tenant_id, facts.fingerprint)
    ui_name = params.ui_name or ""
    filename = sanitize_filename(params.filename or ui_name)
    detected_format, detected_mime = detect_type(facts.head, filename)

    # A registered partner's interchange: a duplicate control number is refused here, before anything is posted.
    admitted = partner_edi.admit(uow, params.partner_id, data, file_id) if params.ingestion_type == "edi" else None

    existing = uow.services.store.get_artifact(ctx.tenant_id, file_id)
    if existing is not None and existing.lifecycle_state != LifecycleState.DELETED:  # same bytes, same session: same file_id
        ids = {"file_id": file_id, "artifact_id": file_id, "deduplicated": True}
        if admitted is not None:  # the same acknowledgements again (recorded once, sent once)
            ids["acknowledgements"] = partner_edi.answer(uow, admitted, file_id, data)
        return Result(ids, subject=existing, detail={"artifact_id": file_id, "deduplicated": True})

    mime = params.mime_type
    if params.ingestion_type == "api":
        mime = "application/json"
    elif params.ingestion_type == "edi" and mime == "application/octet-stream":
        mime = _EDI_MIME.get(detected_format, "application/edi")
    object_name = inline_object(ctx.tenant_id, ctx.session_id, file_id)
    uow.services.blobs.write_bytes_if_absent(settings.uploads_bucket, object_name, data, mime)

    source_metadata = dict(params.source_metadata)
    if params.ingestion_type == "edi":
        source_metadata.update({"partner_id": params.partner_id, "edi_protocol": params.edi_protocol})
    elif params.ingestion_type == "api":
        source_metadata.update({"endpoint": params.endpoint, "api_type": params.api_type})
    if params.ingestion_options:
        source_metadata["ingestion_options"] = params.ingestion_options
    spec = FileSpec(
        tenant_id=ctx.tenant_id, session_id=ctx.session_id, user_id=ctx.user_id, execution_id=ctx.execution_id,
        bucket=settings.uploads_bucket, object_name=object_name, generation=None, ui_name=ui_name, filename=filename,
        file_type=params.file_type, mime_type=mime, ingestion_type=params.ingestion_type,
        boundary_contract_id=params.boundary_contract_id or ctx.boundary_contract_id, source_metadata=source_metadata,
        materialization_type=ctx.materialization_type,
        ttl_days=settings.working_material_ttl_days,
    )
    candidate = build_file_artifact(spec, facts, detected_format, detected_mime)

    def step(tx: Tx) -> Result:
        _, _, result = register_file(tx, candidate)
        return result

    result = uow.commit(step)
    if admitted is not None:  # acknowledged once the interchange is posted; a retry finds the same ones
        result.data["acknowledgements"] = partner_edi.answer(uow, admitted, file_id, data)
    return result

