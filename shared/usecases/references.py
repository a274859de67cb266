"""`GET /v1/references`: which artifact an object is, and where it came from (the Data Brain's answer)."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import BadRequest
from shared.ports import Principal, Store
from shared.runtime.data_brain import DataBrain

MAX_URI = 2048


def _entry(brain: DataBrain, store: Store, tenant_id: str, ref: Any) -> dict[str, Any]:
    return {"uri": ref.uri, "artifact_id": ref.artifact_id, "artifact_type": ref.artifact_type, "format": ref.format,
            "size": ref.size, "content_hash": ref.content_hash, "persistent": ref.persistent,
            "materialization_id": ref.materialization_id, "execution_id": ref.execution_id,
            "provenance": brain.get_provenance(store, tenant_id, ref.artifact_id)}


def find_references(store: Store, principal: Principal, uri: str | None, artifact_id: str | None) -> dict[str, Any]:
    """By object uri (`gs://bucket/name`) or by artifact; another tenant's objects are simply not found."""
    if (uri is None) == (artifact_id is None):
        raise BadRequest("Give exactly one of uri or artifact_id.", code="INVALID_QUERY")
    brain = DataBrain()
    tenant = principal.tenant_id
    if uri is not None:
        if len(uri) > MAX_URI or not uri.startswith("gs://") or "/" not in uri[5:]:
            raise BadRequest("uri must be a gs://bucket/object uri of at most 2048 characters.", code="INVALID_URI")
        ref = brain.get_reference(store, tenant, uri)
        refs = [ref] if ref is not None else []
    else:
        refs = brain.list_references(store, tenant, str(artifact_id)[:128])
    return {"references": [_entry(brain, store, tenant, r) for r in refs]}
