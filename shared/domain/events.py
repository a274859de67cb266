"""Event and command factories. Ids derive from what happened, so a retried step stages the same record."""

from __future__ import annotations

from typing import Any

from shared.domain.ids import command_id_for, event_id_for
from shared.domain.models import Artifact, Command, Event, PendingIntent


def artifact_event(event_type: str, artifact: Artifact, execution_id: str, **extra: Any) -> Event:
    return Event(
        event_id=event_id_for(event_type, artifact.tenant_id, artifact.artifact_id, execution_id),
        event_type=event_type, tenant_id=artifact.tenant_id, execution_id=execution_id,
        data={"artifact_id": artifact.artifact_id, "artifact_type": artifact.artifact_type,
              "session_id": artifact.session_id, "lifecycle_state": artifact.lifecycle_state.value, **extra},
    )


def intent_event(event_type: str, intent: PendingIntent, execution_id: str, **extra: Any) -> Event:
    return Event(
        event_id=event_id_for(event_type, intent.tenant_id, intent.intent_id, str(intent.attempts), execution_id),
        event_type=event_type, tenant_id=intent.tenant_id, execution_id=execution_id,
        data={"intent_id": intent.intent_id, "intent_type": intent.intent_type, "status": intent.status.value,
              "target_artifact_id": intent.target_artifact_id, **extra},
    )


def parse_command(intent: PendingIntent, execution_id: str, dispatch_round: int = 0,
                  journey_id: str | None = None) -> Command:
    payload = {"tenant_id": intent.tenant_id, "intent_id": intent.intent_id, "execution_id": execution_id}
    if journey_id:  # the worker's lineage events name the journey's run as their parent
        payload["journey_id"] = journey_id
    return Command(
        command_id=command_id_for("parse_content", intent.tenant_id, intent.intent_id, execution_id, str(dispatch_round)),
        command_type="parse_content", tenant_id=intent.tenant_id, execution_id=execution_id, payload=payload,
    )
