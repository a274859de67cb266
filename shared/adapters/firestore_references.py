"""Firestore adapter, the Data Brain's references: each lives in the document of the artifact it describes, in a
`references` map keyed by reference id, beside a `reference_ids` array that indexes them. An artifact and its
references are one document, so registering them costs no write of their own; they change in the same write.

A reference is found by id (a hash of tenant and uri) with an array-contains query on `reference_ids`; an
artifact's references are read with it; the sweep samples them across tenants in `reference_ids` order."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_common import safe_id
from shared.domain.models import Artifact, Reference

REFERENCES = "references"
REFERENCE_IDS = "reference_ids"
STORED_ONLY = (REFERENCES, REFERENCE_IDS)


def artifact_of(data: dict[str, Any] | None) -> Artifact | None:
    """The artifact a document holds, without the references stored beside it."""
    return Artifact.model_validate({k: v for k, v in data.items() if k not in STORED_ONLY}) if data else None


def stored_references(data: dict[str, Any] | None) -> dict[str, Any]:
    """The references map of an artifact document as read (empty when it has none)."""
    return dict((data or {}).get(REFERENCES) or {})


def _references(data: dict[str, Any] | None) -> list[Reference]:
    return [Reference.model_validate(v) for _, v in sorted(stored_references(data).items())]


class ReferenceChanges:
    """What one commit registers and forgets, per artifact document, until `flush` folds it into the writes."""

    def __init__(self) -> None:
        self.put: dict[str, dict[str, dict[str, Any]]] = {}  # artifact path -> reference id -> document
        self.forgotten: dict[str, set[str]] = {}  # artifact path -> reference ids

    def register(self, path: str, reference_id: str, document: dict[str, Any]) -> None:
        self.put.setdefault(path, {})[reference_id] = document
        self.forgotten.get(path, set()).discard(reference_id)

    def forget(self, path: str, reference_id: str) -> None:
        self.put.get(path, {}).pop(reference_id, None)
        self.forgotten.setdefault(path, set()).add(reference_id)

    def paths(self) -> set[str]:
        return set(self.put) | set(self.forgotten)

    def applied(self, path: str, stored: dict[str, Any]) -> dict[str, Any]:
        """The whole map after this commit, from the map as stored."""
        final = {**stored, **self.put.get(path, {})}
        for reference_id in self.forgotten.get(path, set()):
            final.pop(reference_id, None)
        return final

    def with_document(self, path: str, document: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        final = self.applied(path, stored)
        return {**document, REFERENCES: final, REFERENCE_IDS: sorted(final)}

    def field_update(self, path: str) -> dict[str, Any]:
        """An update of an artifact document this commit does not rewrite: only the references that changed."""
        put, forgotten = self.put.get(path, {}), self.forgotten.get(path, set())
        if put and forgotten:
            raise RuntimeError(f"{path}: register and forget in one commit only when the artifact is written too")
        fields: dict[str, Any] = {f"{REFERENCES}.{k}": v for k, v in put.items()}
        fields.update({f"{REFERENCES}.{k}": firestore.DELETE_FIELD for k in forgotten})
        if put:
            fields[REFERENCE_IDS] = firestore.ArrayUnion(sorted(put))
        if forgotten:
            fields[REFERENCE_IDS] = firestore.ArrayRemove(sorted(forgotten))
        return fields


class FirestoreReferences:
    """The ReferenceRepository port, mixed into FirestoreStore."""

    client: firestore.Client

    def _artifacts(self, tenant_id: str) -> Any:
        return self.client.collection("tenants").document(tenant_id).collection("artifacts")

    def get_reference(self, tenant_id: str, reference_id: str) -> Reference | None:
        if not (safe_id(tenant_id) and safe_id(reference_id)):
            return None
        query = self._artifacts(tenant_id).where(filter=FieldFilter(REFERENCE_IDS, "array_contains", reference_id)).limit(1)
        for snap in query.stream():
            data = stored_references(snap.to_dict()).get(reference_id)
            if data:
                return Reference.model_validate(data)
        return None

    def list_references(self, tenant_id: str, artifact_id: str, limit: int = 100) -> list[Reference]:
        if not (safe_id(tenant_id) and safe_id(artifact_id)):
            return []
        snap = self._artifacts(tenant_id).document(artifact_id).get()
        return _references(snap.to_dict() if snap.exists else None)[:limit]

    def sample_references(self, start_at: str, limit: int) -> list[Reference]:
        """Up to `limit` references of any tenant, from the artifacts whose reference ids sort from `start_at` on
        (ids are hashes, so a random start is a fair sample); wraps to the beginning when the end comes first."""
        group = self.client.collection_group("artifacts").order_by(REFERENCE_IDS)
        found: dict[str, Reference] = {}
        for query in (group.where(filter=FieldFilter(REFERENCE_IDS, ">=", [start_at])), group):
            for snap in query.limit(limit).stream():
                for reference in _references(snap.to_dict()):
                    found.setdefault(f"{reference.tenant_id}/{reference.artifact_id}/{reference.reference_id}", reference)
            if len(found) >= limit:
                break
        return list(found.values())[:limit]
