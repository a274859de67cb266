"""Regenerable derived artifacts: when a recorded derivation may be run again, and whether its result reproduced the
original. Pure rules; `shared/usecases/regenerate.py` applies them.

A parse is reproducible when the same producer (our parsers and the Parquet writer, pinned below) reads the same
source bytes with the same recorded options: its outputs then hash to the recorded sha256s byte for byte."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.errors import Conflict
from shared.domain.models import Artifact
from shared.domain.states import LifecycleState, PayloadState

# What produced a parse's bytes. Bump the revision whenever a parser's output changes, and the pyarrow part with the
# lock (tests/parsing/test_deterministic_outputs.py checks it names the installed pyarrow): an artifact parsed by
# another producer is not promised to hash the same, so regenerating it is refused rather than tried.
PARSE_PRODUCER_VERSION = "parse_content/1 pyarrow/26.0.1"
REGENERATE = "regenerate_artifact"


def not_reproducible(artifact_id: str, why: str, **details: Any) -> Conflict:
    return Conflict(f"Artifact {artifact_id} cannot be reproduced: {why}", code="NOT_REPRODUCIBLE",
                    details={"artifact_id": artifact_id, **details})


def recorded_hashes(artifact: Artifact) -> dict[str, str]:
    """The recorded content hash of each output, by output name."""
    return {str(o["name"]): str(o["sha256"]) for o in artifact.outputs if o.get("name") and o.get("sha256")}


def payload_gone(artifact: Artifact, now: datetime) -> bool:
    """Expired by retention: swept (a tombstone whose payload expired) or past its expiry and not yet swept."""
    if artifact.lifecycle_state == LifecycleState.DELETED:
        return artifact.payload_state == PayloadState.EXPIRED
    return artifact.expires_at is not None and artifact.expires_at <= now and \
        artifact.lifecycle_state in (LifecycleState.PENDING, LifecycleState.REJECTED)


def check_regenerable(artifact: Artifact, now: datetime) -> None:
    """Refusals before anything runs: not a regenerable derivation, nothing to rebuild, or no recorded intent."""
    if not artifact.regenerable or not artifact.lineage.derived_from:
        raise Conflict(f"Artifact {artifact.artifact_id} is not a regenerable derived artifact.",
                       code="NOT_REGENERABLE")
    if artifact.lifecycle_state == LifecycleState.DELETED and artifact.payload_state != PayloadState.EXPIRED:
        raise Conflict(f"Artifact {artifact.artifact_id} was deleted, not expired; it is not regenerated.",
                       code="ARTIFACT_DELETED")
    if not payload_gone(artifact, now):
        raise Conflict(f"The payload of artifact {artifact.artifact_id} has not expired; read it instead.",
                       code="PAYLOAD_NOT_EXPIRED")
    produced = artifact.produced_by
    if produced.parameters is None or not recorded_hashes(artifact):
        raise not_reproducible(artifact.artifact_id, "its intent's options or its content hashes were not recorded.")
    if produced.version != PARSE_PRODUCER_VERSION:
        raise not_reproducible(
            artifact.artifact_id, f"it was produced by {produced.version or 'an unrecorded producer'}, and the "
            f"platform now runs {PARSE_PRODUCER_VERSION}.", recorded_version=produced.version,
            current_version=PARSE_PRODUCER_VERSION)


def reproduction(original: Artifact, digests: dict[str, str]) -> tuple[bool, str | None]:
    """(reproduced, why not): the regenerated outputs against the original's recorded hashes."""
    recorded = recorded_hashes(original)
    if recorded == digests:
        return True, None
    differing = sorted(n for n in set(recorded) | set(digests) if recorded.get(n) != digests.get(n))
    return False, (f"the regenerated outputs do not hash to the recorded content hashes of artifact "
                   f"{original.artifact_id} (differing: {', '.join(differing)}).")
