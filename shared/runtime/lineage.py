"""Which OpenLineage RunEvents a commit of an execution stages, for the lifecycle (shared/runtime/lifecycle.py).

START goes with the commit that creates the execution (the unit of work still holds it unwritten), COMPLETE or FAIL
with the commit that ends it: so each comes out once per execution, however many commits the execution takes (a
dispatched parse STARTs with its dispatch and COMPLETEs with the worker's commit). The events are one more message
in the commit's outbox document; a retried commit stages the same ones (their ids follow from run and state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.models import utcnow
from shared.lineage.events import (
    JOURNEY_JOB,
    LINEAGE_INTENTS,
    Producer,
    RunDatasets,
    RunInfo,
    datasets_of,
    journey_run_id,
    run_events,
)

if TYPE_CHECKING:
    from datetime import datetime

    from shared.runtime.context import ExecutionContext, Result
    from shared.settings import Settings


def lineage_of(settings: Settings, ctx: ExecutionContext, result: Result, *, opened_at: datetime | None,
               ended: bool = False) -> list[dict[str, Any]]:
    """`opened_at`: the execution is created by this commit (its START goes now); `ended`: an earlier commit of this
    unit of work already ended it (no second COMPLETE/FAIL)."""
    intent_type = ctx.intent.intent_type
    touches_artifacts = intent_type in LINEAGE_INTENTS or result.artifacts or result.inputs
    if not settings.lineage_enabled or not ctx.execution_id or not touches_artifacts:
        return []
    now = utcnow()
    state, error = None, None
    if not ended and result.failure is not None:
        state, error = "FAIL", result.failure[0]
    elif not ended and result.complete:
        state = "COMPLETE"
    if opened_at is None and state is None:
        return []
    producer = Producer(settings.lineage_base_url)
    journey_id = ctx.metadata.get("journey_id")
    info = RunInfo(ctx.execution_id, intent_type, settings.job_namespace, producer,
                   journey_id=str(journey_id) if journey_id else None)
    events = run_events(info, started_at=opened_at, ended_at=now if state else None, state=state,
                        datasets=datasets_of(producer, intent_type, result.inputs, result.artifacts), error=error)
    started_journey = result.detail.get("journey_id")
    if intent_type == "start_journey" and opened_at is not None and started_journey and result.failure is None:
        # The execution that starts a journey also opens the journey's own run: the parent of every step.
        journey = RunInfo(ctx.execution_id, intent_type, settings.job_namespace, producer,
                          run_id=journey_run_id(str(started_journey)), job_name=JOURNEY_JOB)
        events += run_events(journey, started_at=opened_at, ended_at=None, state=None, datasets=RunDatasets())
    return events


def journey_end_lineage(settings: Settings, journey_id: str, status: str, error: str | None) -> list[dict[str, Any]]:
    """COMPLETE, FAIL or ABORT of a journey's own run, staged with the advance that ends it."""
    state = {"completed": "COMPLETE", "failed": "FAIL", "cancelled": "ABORT"}.get(status)
    if state is None or not settings.lineage_enabled:
        return []
    info = RunInfo(journey_id, JOURNEY_JOB, settings.job_namespace, Producer(settings.lineage_base_url),
                   run_id=journey_run_id(journey_id), job_name=JOURNEY_JOB)
    return run_events(info, started_at=None, ended_at=utcnow(), state=state, datasets=RunDatasets(), error=error)
