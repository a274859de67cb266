"""The read side: one artifact (optionally with its payload), the tenant's artifacts, lineage, executions, the
OpenAPI document. Everything is read under the caller's tenant, so another tenant's id is simply not found."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.domain.errors import BadRequest, Conflict, NotFound, echo
from shared.domain.lineage import walk_provenance
from shared.domain.models import ARTIFACT_TYPES, Artifact, Materialization, utcnow
from shared.domain.reproduction import check_regenerable, payload_gone
from shared.domain.states import LifecycleState, PayloadState
from shared.ports import ArtifactRepository, BlobStore, ExecutionRepository, Principal
from shared.settings import Settings
from shared.usecases.materializations import reference_intact
from shared.usecases.objects import split_gs_uri

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "api" / "openapi.json"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
# Payloads that can be returned inline (text the client reads as-is); anything else is a signed URL.
_INLINE_TEXT_TYPES = ("text/", "application/json", "application/x-ndjson", "application/csv")


def artifact_not_found(artifact_id: str) -> NotFound:
    return NotFound(f"Artifact {echo(artifact_id)} not found.", code="ARTIFACT_NOT_FOUND")


# payload state (pure)

def payload_expired(artifact: Artifact, now: datetime) -> bool:
    """Working material past its expiry. A record of fact (READY) never expires."""
    return (
        artifact.lifecycle_state in (LifecycleState.PENDING, LifecycleState.REJECTED)
        and artifact.expires_at is not None
        and artifact.expires_at <= now
    )


def payload_materializations(artifact: Artifact) -> list[Materialization]:
    """Where the payload lives now: the record copies once saved, else the working copies."""
    if artifact.lifecycle_state == LifecycleState.READY:
        records = [m for m in artifact.materializations if m.persistent]
        if records:
            return records
    return [m for m in artifact.materializations if not m.persistent]


def effective_payload_state(artifact: Artifact, now: datetime, objects_present: bool | None = None) -> PayloadState:
    """`objects_present` None means not checked (a list view does not stat every object)."""
    if artifact.lifecycle_state == LifecycleState.DELETED or artifact.payload_state == PayloadState.DELETED:
        return PayloadState.DELETED
    if artifact.lifecycle_state == LifecycleState.READY:
        return artifact.payload_state
    if artifact.payload_state == PayloadState.EXPIRED or payload_expired(artifact, now) or objects_present is False:
        return PayloadState.EXPIRED
    return PayloadState.LIVE


def artifact_view(artifact: Artifact, state: PayloadState) -> dict[str, Any]:
    body = artifact.to_json()
    body["payload_state"] = state.value
    return body


# query parameters

def parse_flag(name: str, value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false.", code=f"INVALID_{name.upper()}")


def parse_page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}.", code="INVALID_PAGE_SIZE")
    return size


def _check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}.", code=f"INVALID_{name.upper()}")
    return value


# GET /v1/artifacts/{id}

def _objects_present(blobs: BlobStore, mats: list[Materialization]) -> bool:
    objects = [m for m in mats if m.storage_type == "gcs"]
    if not mats:
        return False
    return all(blobs.stat(*split_gs_uri(m.uri)) is not None for m in objects)


def _summary_part(artifact: Artifact, mat: Materialization) -> dict[str, Any]:
    """A summary record's whole content: its descriptor and statistics, served from the document itself."""
    descriptor = artifact.semantic_descriptor.model_dump(mode="json", by_alias=True)
    return {"name": "summary", "format": mat.format, "content_type": "application/json", "persistent": True,
            "delivery": "inline", "encoding": "json", "content": descriptor,
            "record_count": artifact.semantic_descriptor.record_count}


def _output_for(artifact: Artifact, mat: Materialization) -> dict[str, Any]:
    for output in artifact.outputs:
        if mat.uri in (output.get("uri"), output.get("record_uri")):
            return output
    return {}


def _is_jsonl(fmt: str, content_type: str) -> bool:
    return fmt == "jsonl" or content_type == "application/x-ndjson"


def _inline_content(raw: bytes, fmt: str, content_type: str) -> tuple[str, Any] | None:
    """(encoding, value) for a payload a client can read inline, else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _is_jsonl(fmt, content_type):
        try:
            return "jsonl", [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            return None
    if content_type == "application/json":
        try:
            return "json", json.loads(text)
        except ValueError:
            return "text", text
    return "text", text


def _payload_part(artifact: Artifact, mat: Materialization, blobs: BlobStore, settings: Settings) -> dict[str, Any]:
    bucket, name = split_gs_uri(mat.uri)
    info = blobs.stat(bucket, name)
    if info is None:
        raise Conflict(f"The payload of artifact {artifact.artifact_id} is no longer available.", code="PAYLOAD_EXPIRED")
    output = _output_for(artifact, mat)
    fmt = str(output.get("format") or mat.format)
    content_type = str(output.get("content_type") or info.content_type or artifact.mime_type or "application/octet-stream")
    part: dict[str, Any] = {
        "name": str(output.get("name") or name.rsplit("/", 1)[-1]), "format": fmt, "content_type": content_type,
        "size_bytes": info.size, "persistent": mat.persistent,
    }
    if "record_count" in output:
        part["record_count"] = output["record_count"]
    # Parquet needs pyarrow, which this function does not ship: always a signed URL.
    inlinable = fmt != "parquet" and info.size <= settings.inline_payload_max_bytes and (
        _is_jsonl(fmt, content_type) or content_type.startswith(_INLINE_TEXT_TYPES))
    if inlinable:
        with blobs.open_read(bucket, name) as stream:
            raw = stream.read(settings.inline_payload_max_bytes + 1)
        inline = _inline_content(raw, fmt, content_type) if len(raw) <= settings.inline_payload_max_bytes else None
        if inline is not None:
            part["delivery"], part["encoding"], part["content"] = "inline", inline[0], inline[1]
            return part
    ttl = settings.download_url_ttl_seconds
    part["delivery"] = "signed_url"
    part["download_url"] = blobs.signed_get_url(bucket, name, ttl)
    part["url_expires_at"] = (utcnow() + timedelta(seconds=ttl)).isoformat()
    return part


def expired_derivation(artifact: Artifact, now: datetime) -> Conflict:
    """A regenerable derivation whose payload expired is not a dead end: the answer says whether it can be rebuilt
    and where. The read API stays read-only (its grants are derived from reads alone), so the rebuild is the client's
    POST; `ingestctl get --download` and the web app make it for the user."""
    path = f"/v1/artifacts/{artifact.artifact_id}/regenerate"
    try:
        check_regenerable(artifact, now)
    except Conflict as why_not:
        return Conflict(f"The payload of artifact {artifact.artifact_id} has expired and cannot be regenerated: "
                        f"{why_not.message}", code="PAYLOAD_EXPIRED",
                        details={"regenerable": False, "reason_code": why_not.code})
    return Conflict(f"The payload of artifact {artifact.artifact_id} has expired; POST {path} rebuilds it from its "
                    "recorded intent and input, byte for byte.", code="PAYLOAD_EXPIRED",
                    details={"regenerable": True, "regenerate": path})


def get_artifact(
    store: ArtifactRepository, blobs: BlobStore, settings: Settings, principal: Principal, artifact_id: str, include_payload: bool,
) -> dict[str, Any]:
    artifact = store.get_artifact(principal.tenant_id, artifact_id)
    if artifact is None:
        raise artifact_not_found(artifact_id)
    now = utcnow()
    mats = payload_materializations(artifact)
    present: bool | None = None
    if artifact.lifecycle_state != LifecycleState.DELETED and not payload_expired(artifact, now):
        present = _objects_present(blobs, mats)
    state = effective_payload_state(artifact, now, present)
    body = artifact_view(artifact, state)
    if not include_payload:
        return body
    if artifact.regenerable and payload_gone(artifact, now):
        raise expired_derivation(artifact, now)
    if state == PayloadState.DELETED:
        raise Conflict(f"Artifact {echo(artifact_id)} was deleted; only its tombstone remains.", code="PAYLOAD_DELETED")
    if state == PayloadState.EXPIRED:
        raise Conflict(
            f"The working material of artifact {artifact_id} has expired and is not served; ingest the file again.",
            code="PAYLOAD_EXPIRED",
        )
    if not present:
        raise Conflict(f"The payload of artifact {echo(artifact_id)} is not available.", code="PAYLOAD_UNAVAILABLE")
    for mat in mats:
        if mat.materialization_type == "reference" and not reference_intact(blobs, mat):
            raise Conflict(f"The object {mat.uri} that record {echo(artifact_id)} references is no longer the one "
                           "verified at save (its generation or hash changed); it is not served.",
                           code="REFERENCE_CHANGED")
    body["payload"] = {"parts": [_summary_part(artifact, m) if m.storage_type != "gcs"
                                 else _payload_part(artifact, m, blobs, settings) for m in mats]}
    return body


# GET /v1/artifacts

def list_artifacts(
    store: ArtifactRepository, principal: Principal, *, artifact_type: str | None, lifecycle_state: str | None,
    session_id: str | None, page_size: str | None, page_token: str | None,
) -> dict[str, Any]:
    _check_choice("artifact_type", artifact_type, tuple(sorted(ARTIFACT_TYPES)))
    _check_choice("lifecycle_state", lifecycle_state, tuple(s.value for s in LifecycleState))
    if session_id is not None and len(session_id) > 128:
        raise BadRequest("session_id is too long.", code="INVALID_SESSION_ID")
    page = store.list_artifacts(
        principal.tenant_id, artifact_type=artifact_type, lifecycle_state=lifecycle_state, session_id=session_id,
        page_size=parse_page_size(page_size), page_token=page_token,
    )
    now = utcnow()
    return {
        "artifacts": [artifact_view(a, effective_payload_state(a, now)) for a in page.items],
        "next_page_token": page.next_page_token,
    }


# GET /v1/artifacts/{id}/lineage

def lineage_entry(artifact: Artifact) -> dict[str, Any]:
    return {
        "artifact_id": artifact.artifact_id,
        "artifact_type": artifact.artifact_type,
        "lifecycle_state": artifact.lifecycle_state.value,
        "derived_from": list(artifact.lineage.derived_from),
        "derivation_intent": artifact.lineage.derivation_intent,
        "derivation_run_id": artifact.lineage.derivation_run_id,
        "generation": artifact.lineage.generation,
        "root_artifact_id": artifact.lineage.root_artifact_id,
        # Only a regeneration names its original, and whether its bytes reproduced it.
        **({"regenerated_from": artifact.lineage.regenerated_from, "reproduced": artifact.lineage.reproduced}
           if artifact.lineage.regenerated_from else {}),
    }


def get_lineage(store: ArtifactRepository, principal: Principal, artifact_id: str) -> dict[str, Any]:
    start = store.get_artifact(principal.tenant_id, artifact_id)
    if start is None:
        raise artifact_not_found(artifact_id)
    chain = walk_provenance(start, lambda pid: store.get_artifact(principal.tenant_id, pid))
    return {"artifact_id": artifact_id, "chain": [lineage_entry(a) for a in chain]}


# GET /v1/executions/{id}

def get_execution(store: ExecutionRepository, principal: Principal, execution_id: str) -> dict[str, Any]:
    execution = store.get_execution(principal.tenant_id, execution_id)
    if execution is None:
        raise NotFound(f"Execution {echo(execution_id)} not found.", code="EXECUTION_NOT_FOUND")
    return execution.to_json()


# GET /v1/openapi.json

@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    return dict(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))
