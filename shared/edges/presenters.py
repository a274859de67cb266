"""Presentation: what an HTTP client sees of a Result. Success statuses and the seed's success shapes live here, so
use cases return domain objects (`Result.subject`) and never a status or a response body of their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.domain.models import Artifact
from shared.runtime.context import Result

# What an HTTP edge answers when an intent succeeds (200 unless named).
SUCCESS_STATUS: dict[str, int] = {
    "ingest_file": 201, "request_upload": 201, "create_pending_intent": 201, "start_journey": 201,
    "parse_content": 202, "regenerate_artifact": 202, "register_partner": 201,
}


def ingest_response(artifact: Artifact, deduplicated: bool) -> dict[str, Any]:
    """The seed contract's success shape."""
    payload = {
        "artifact_id": artifact.artifact_id, "file_id": artifact.artifact_id, "artifact_type": "file",
        "lifecycle_state": artifact.lifecycle_state.value, "file_reference": artifact.file_reference,
        "storage_location": artifact.storage_location, "ui_name": artifact.ui_name, "filename": artifact.filename,
        "file_type": artifact.file_type, "mime_type": artifact.mime_type, "detected_type": artifact.detected_type,
        "ingestion_type": artifact.ingestion_type, "boundary_contract_id": artifact.boundary_contract_id,
        "materialization_pending": artifact.materialization_pending, "file_size": artifact.file_size,
        "file_hash": artifact.file_hash, "content_fingerprint": artifact.content_fingerprint,
        "materializations": [m.model_dump(mode="json") for m in artifact.materializations],
        "created_at": artifact.created_at.isoformat(),
    }
    return {
        "file_id": artifact.artifact_id, "artifact_id": artifact.artifact_id, "deduplicated": deduplicated,
        "artifacts": {"artifact": {"result_type": "artifact", "semantic_payload": payload, "renderings": {}}},
        "events": [{"type": "artifact_ingested", "artifact_id": artifact.artifact_id, "artifact_type": "file",
                    "ingestion_type": artifact.ingestion_type}],
    }


def save_response(artifact: Artifact) -> dict[str, Any]:
    """Built from the stored artifact only, so a repeated save answers with the same body."""
    doc = artifact.to_json()
    return {
        "artifact_id": artifact.artifact_id,
        "artifact_type": artifact.artifact_type,
        "lifecycle_state": artifact.lifecycle_state.value,
        "materialization_pending": artifact.materialization_pending,
        "boundary_contract_id": artifact.boundary_contract_id,
        "retention_policy": artifact.retention_policy,
        "storage_location": artifact.storage_location,
        "saved_at": doc["updated_at"],
        "materializations": doc["materializations"],
        "artifact": doc,
    }


def delete_response(tombstone: Artifact) -> dict[str, Any]:
    """Built from the stored tombstone only, so deleting again answers with the same body."""
    doc = tombstone.to_json()
    return {
        "artifact_id": tombstone.artifact_id,
        "lifecycle_state": tombstone.lifecycle_state.value,
        "payload_state": tombstone.payload_state.value,
        "deleted_at": doc["deleted_at"],
        "artifact": doc,
    }


def custody_response(artifact: Artifact) -> dict[str, Any]:
    """A hold, its clearing or a release: the custody fields, from the stored artifact."""
    doc = artifact.to_json()
    return {"artifact_id": artifact.artifact_id, "legal_hold": artifact.legal_hold,
            "legal_hold_since": doc["legal_hold_since"], "retention_policy": artifact.retention_policy,
            "retain_until": doc["retain_until"], "expires_at": doc["expires_at"], "released_at": doc["released_at"],
            "artifact": doc}


def _subject(result: Result) -> Artifact:
    if not isinstance(result.subject, Artifact):
        raise TypeError("this result carries no artifact")
    return result.subject


PRESENTERS: dict[str, Callable[[Result], dict[str, Any]]] = {
    "ingest_file": lambda r: {**ingest_response(_subject(r), bool(r.detail.get("deduplicated"))),
                              **{k: r.data[k] for k in ("acknowledgements",) if k in r.data}},
    "save_materialization": lambda r: save_response(_subject(r)),
    "delete_artifact": lambda r: delete_response(_subject(r)),
    "set_legal_hold": lambda r: custody_response(_subject(r)),
    "clear_legal_hold": lambda r: custody_response(_subject(r)),
    "release_artifact": lambda r: custody_response(_subject(r)),
}


def success_body(intent_type: str, result: Result) -> dict[str, Any]:
    present = PRESENTERS.get(intent_type)
    return present(result) if present is not None else dict(result.data)
