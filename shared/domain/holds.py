"""What may remove a record's bytes, and when: storage retention, legal holds, permanent records. Pure rules.

Every route that deletes bytes (DELETE, a journey's discard, the sweep's expiry) asks `deletion_refusal` first, and
again inside its transaction, so no route is a way around a promise."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.errors import Conflict
from shared.domain.models import Artifact
from shared.domain.states import LifecycleState

PERMANENT_POLICY = "permanent"
# The custody intents (the save function's hold and release routes).
SET_HOLD, CLEAR_HOLD, RELEASE = "set_legal_hold", "clear_legal_hold", "release_artifact"


def stamp(moment: datetime) -> str:
    """A UTC time as the API's JSON writes it (RFC 3339 with Z), so a message and a field quote the same text."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deletion_refusal(artifact: Artifact, now: datetime) -> Conflict | None:
    """Why this artifact's bytes must not be removed now, or None. A hold wins over everything else."""
    if artifact.lifecycle_state == LifecycleState.DELETED:
        return None
    if artifact.legal_hold:
        since = stamp(artifact.legal_hold_since) if artifact.legal_hold_since else "an earlier date"
        return Conflict(
            f"Artifact {artifact.artifact_id} is under a legal hold (since {since}); clear the hold before deleting it.",
            code="LEGAL_HOLD", details={"legal_hold_since": since})
    if artifact.retain_until is not None and artifact.retain_until > now:
        until = stamp(artifact.retain_until)
        return Conflict(
            f"Artifact {artifact.artifact_id} is retained under {artifact.retention_policy} until {until}; "
            "it cannot be deleted before then.",
            code="RETENTION_LOCKED", details={"retain_until": until, "retention_policy": artifact.retention_policy})
    if artifact.retention_policy == PERMANENT_POLICY and artifact.lifecycle_state == LifecycleState.READY \
            and artifact.released_at is None:
        return Conflict(
            f"Artifact {artifact.artifact_id} is a permanent record; a tenant admin must release it "
            f"(POST /v1/artifacts/{artifact.artifact_id}/release) before it can be deleted.",
            code="NOT_RELEASED", details={"retention_policy": PERMANENT_POLICY})
    return None


def check_deletable(artifact: Artifact, now: datetime) -> None:
    refusal = deletion_refusal(artifact, now)
    if refusal is not None:
        raise refusal


def held(artifact: Artifact, by: str, now: datetime) -> Artifact:
    """The artifact under a legal hold: its expiry is suspended (kept aside), so the sweep never selects it."""
    if artifact.legal_hold:
        return artifact
    return artifact.model_copy(update={
        "legal_hold": True, "legal_hold_since": now, "legal_hold_by": by, "held_expires_at": artifact.expires_at,
        "expires_at": None, "updated_at": now})


def unheld(artifact: Artifact, now: datetime) -> Artifact:
    """The hold cleared: the suspended expiry is back (one already past expires at the next sweep)."""
    if not artifact.legal_hold:
        return artifact
    return artifact.model_copy(update={
        "legal_hold": False, "legal_hold_since": None, "legal_hold_by": None, "expires_at": artifact.held_expires_at,
        "held_expires_at": None, "updated_at": now})


def released(artifact: Artifact, by: str, now: datetime) -> Artifact:
    if artifact.released_at is not None:
        return artifact
    return artifact.model_copy(update={"released_at": now, "released_by": by, "updated_at": now})
