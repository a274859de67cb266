"""The Artifact Plane (artifact-plane-plan.md): the one path by which artifacts are made and linked.

`create_artifact` fills the registry fields of the seed (realm, intent_type, execution_id, solution_id,
payload_storage_path, payload_artifact_id, metadata) and writes the artifact, its lineage and its Data Brain
references in the caller's transaction, so they commit together with the state change that made them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.errors import IllegalTransition
from shared.domain.intents import DEFAULT_SOLUTION
from shared.domain.models import Artifact
from shared.runtime.data_brain import DataBrain

if TYPE_CHECKING:
    from shared.ports import Tx

REALM = "content"


def with_registry_fields(artifact: Artifact, *, solution_id: str | None = None) -> Artifact:
    """The stored registry fields: the realm and solution it belongs to, and whose payload it holds. The rest
    (intent_type, execution_id, payload_storage_path) are computed from the artifact itself."""
    update: dict[str, Any] = {}
    if solution_id and artifact.solution_id == DEFAULT_SOLUTION and solution_id != DEFAULT_SOLUTION:
        update["solution_id"] = solution_id
    if artifact.payload_artifact_id is None:
        update["payload_artifact_id"] = artifact.artifact_id
    return artifact.model_copy(update=update) if update else artifact


class ArtifactPlane:
    def __init__(self, brain: DataBrain | None = None):
        self.brain = brain or DataBrain()

    def create_artifact(self, tx: Tx, artifact: Artifact, *, solution_id: str | None = None,
                        create_only: bool = False) -> Artifact:
        """Write (or rewrite) an artifact with its registry fields and the references of its materializations;
        `create_only` writes it only if it does not exist (the commit fails with AlreadyStored otherwise)."""
        if artifact.lineage.root_artifact_id != artifact.artifact_id and not artifact.lineage.derived_from:
            raise IllegalTransition(f"artifact {artifact.artifact_id} names a root but no parent", code="INVALID_LINEAGE")
        stored = with_registry_fields(artifact, solution_id=solution_id)
        previous = tx.already_read(stored.tenant_id, stored.artifact_id)
        if create_only:
            tx.create_artifact(stored)
        else:
            tx.put_artifact(stored)
        self.brain.track_provenance(tx, stored, previous)
        return stored
