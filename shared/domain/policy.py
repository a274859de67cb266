"""Two-phase persistence: only save_materialization may turn working material into a record of fact."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.errors import IllegalTransition
from shared.domain.models import Artifact
from shared.domain.states import LifecycleState

MATERIALIZING_INTENTS = frozenset({"save_materialization"})
# Intents that rewrite the custody fields of an existing record (hold, release): they never
# create one. Their handlers start from the stored artifact, read in the same transaction.
CUSTODY_INTENTS = frozenset({"set_legal_hold", "clear_legal_hold", "release_artifact"})  # shared.domain.holds


def check_two_phase(intent_type: str, artifacts: Iterable[Artifact]) -> None:
    if intent_type in MATERIALIZING_INTENTS or intent_type in CUSTODY_INTENTS:
        return
    for artifact in artifacts:
        persistent = any(m.persistent for m in artifact.materializations)
        if artifact.lifecycle_state == LifecycleState.READY or persistent:
            raise IllegalTransition(
                f"{intent_type} may not materialize {artifact.artifact_id}: only save_materialization creates a "
                "persistent materialization or moves an artifact to READY.",
                code="MATERIALIZATION_FORBIDDEN",
            )
