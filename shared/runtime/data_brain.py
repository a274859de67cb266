"""The Data Brain: a reference registry for every object the platform holds, and the provenance behind each.

A reference answers "which artifact is gs://..., what does it hold, and where did it come from". References are
written by the Artifact Plane in the same transaction as their artifact; the provenance is the artifact's lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.ids import stable_key
from shared.domain.lineage import walk_provenance
from shared.domain.models import Artifact, Reference
from shared.domain.states import LifecycleState

if TYPE_CHECKING:
    from shared.ports import ArtifactRepository, ReferenceRepository, Tx


def reference_id_for(tenant_id: str, uri: str) -> str:
    return f"ref_{stable_key('reference', tenant_id, uri)[:40]}"


def references_for(artifact: Artifact) -> list[Reference]:
    """One reference per materialization: its uri, format, size and content hash, tied to the artifact."""
    refs: list[Reference] = []
    for mat in artifact.materializations:
        if mat.storage_type != "gcs":
            continue  # a summary is no object: nothing to look up by uri
        content_hash = mat.content_hash or artifact.file_hash if artifact.artifact_type == "file" else None
        for output in artifact.outputs:
            if output.get("uri") == mat.uri or output.get("record_uri") == mat.uri:
                content_hash = (output.get("sha256") and f"sha256:{output['sha256']}") or content_hash
        refs.append(Reference(
            reference_id=reference_id_for(artifact.tenant_id, mat.uri), uri=mat.uri, tenant_id=artifact.tenant_id,
            artifact_id=artifact.artifact_id, artifact_type=artifact.artifact_type,
            materialization_id=mat.materialization_id, format=mat.format, size=mat.size_bytes,
            content_hash=content_hash, persistent=mat.persistent, execution_id=artifact.produced_by.execution_id,
            derived_from=list(artifact.lineage.derived_from), root_artifact_id=artifact.lineage.root_artifact_id,
        ))
    return refs


def provenance_entry(artifact: Artifact) -> dict[str, Any]:
    lineage = artifact.lineage
    return {"artifact_id": artifact.artifact_id, "artifact_type": artifact.artifact_type,
            "lifecycle_state": artifact.lifecycle_state.value, "derived_from": list(lineage.derived_from),
            "derivation_intent": lineage.derivation_intent, "derivation_run_id": lineage.derivation_run_id,
            "generation": lineage.generation, "root_artifact_id": lineage.root_artifact_id}


def _content(reference: Reference) -> dict[str, Any]:
    return reference.model_dump(exclude={"created_at"})


class DataBrain:
    """register_reference / get_reference / list_references, track_provenance / get_provenance (the seed's names)."""

    @staticmethod
    def register_reference(tx: Tx, reference: Reference) -> None:
        tx.put_reference(reference)

    def track_provenance(self, tx: Tx, artifact: Artifact, previous: Artifact | None = None) -> list[Reference]:
        """Register every materialization of the artifact; its lineage is the provenance edge. A reference the stored
        `previous` version (read in this transaction) already holds unchanged is not written again."""
        refs = references_for(artifact)
        kept = [_content(r) for r in references_for(previous)] \
            if previous is not None and previous.lifecycle_state != LifecycleState.DELETED else []
        for ref in refs:
            if _content(ref) not in kept:
                self.register_reference(tx, ref)
        return refs

    @staticmethod
    def forget_references(tx: Tx, artifact: Artifact) -> None:
        """The artifact's objects are gone (deleted or expired): its references go with them, in the same commit."""
        for mat in artifact.materializations:
            tx.delete_reference(artifact.tenant_id, artifact.artifact_id, reference_id_for(artifact.tenant_id, mat.uri))

    @staticmethod
    def get_reference(store: ReferenceRepository, tenant_id: str, uri: str) -> Reference | None:
        return store.get_reference(tenant_id, reference_id_for(tenant_id, uri))

    @staticmethod
    def list_references(store: ReferenceRepository, tenant_id: str, artifact_id: str) -> list[Reference]:
        return store.list_references(tenant_id, artifact_id)

    @staticmethod
    def get_provenance(store: ArtifactRepository, tenant_id: str, artifact_id: str) -> list[dict[str, Any]]:
        """The artifact and every ancestor back to its root, nearest first; empty when the artifact is unknown."""
        start = store.get_artifact(tenant_id, artifact_id)
        if start is None:
            return []
        return [provenance_entry(a) for a in walk_provenance(start, lambda pid: store.get_artifact(tenant_id, pid))]
