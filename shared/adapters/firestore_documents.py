"""Firestore adapter, how models become documents and back: plain values, execution log updates, the outbox's
shards and the fields it rides in, intent slots."""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any

from google.cloud import firestore

from shared.domain.models import Command, Event, Execution, StageEntry, Upload
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.logs import current_origin, current_traceparent

# The outbox is one top-level collection written at event rate; a shard field ahead of created_at in its index
# spreads those writes over 16 key ranges instead of one ever-increasing one (~500 writes/s each).
OUTBOX_SHARDS = 16
# The fields of an execution document that carry outbox messages: those of the commit that created it, and those
# of the commit that ended it when they are held for its trigger's retry (execution_outbox_id(..., end=True)).
OUTBOX_FIELD = "outbox"
OUTBOX_END_FIELD = "outbox_end"
LIVE_SLOTS = {IntentStatus.PENDING: "pending_intent_id", IntentStatus.IN_PROGRESS: "running_intent_id"}


def slot_id(intent_type: str, target_artifact_id: str) -> str:
    return f"{intent_type}:{target_artifact_id}"


def outbox_shard(record_id: str) -> int:
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) % OUTBOX_SHARDS


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_document(model: Any) -> dict[str, Any]:
    return plain(model.model_dump(mode="python", by_alias=True))


def in_journey[J: (Event, Command, Upload)](record: J) -> J:
    """What this invocation stages or creates carries its trace and the journey's first execution, unless it
    already does (an update keeps the journey it was created in)."""
    if record.trace_context and record.origin_execution_id:
        return record
    return record.model_copy(update={"trace_context": record.trace_context or current_traceparent(),
                                     "origin_execution_id": record.origin_execution_id or current_origin()})


def execution_of(data: dict[str, Any] | None) -> Execution | None:
    """The execution a document holds, without the outbox messages its creating commit left in it."""
    return Execution.model_validate({k: v for k, v in data.items() if k not in (OUTBOX_FIELD, OUTBOX_END_FIELD)}) \
        if data else None


def _stage_doc(entry: StageEntry) -> dict[str, Any]:
    return plain(entry.model_dump(mode="python"))


def execution_update(
    entry: StageEntry | list[StageEntry], status: ExecutionStatus | None, error: str | None, error_code: str | None,
    result: dict[str, Any] | None, intent_id: str | None = None,
) -> dict[str, Any]:
    entries = entry if isinstance(entry, list) else [entry]
    data: dict[str, Any] = {"stages": firestore.ArrayUnion([_stage_doc(e) for e in entries]), "updated_at": entries[-1].at}
    if status is not None:
        data["status"] = status.value
    if error is not None:
        data["error"] = error
        data["error_code"] = error_code
    if result is not None:
        data["result"] = plain(result)
    if intent_id is not None:
        data["intent_id"] = intent_id
    return data
