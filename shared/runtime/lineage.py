"""The lifecycle's lineage hook: which OpenLineage RunEvents a commit of an execution emits.

START when the execution begins in this commit (its document is created with it), COMPLETE or FAIL when it ends in
it; a dispatched parse emits START with the dispatch and COMPLETE (or FAIL) with the worker's commit. The events
ride on the commit's outbox records (shared/runtime/lifecycle.py `publish_events`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.models import utcnow
from shared.lineage.events import (
    JOURNEY_JOB,
    LINEAGE_INTENTS,
    RunDatasets,
    RunInfo,
    datasets_of,
    journey_run_id,
    run_events,
)

if TYPE_CHECKING:
    from shared.runtime.context import Result
    from shared.runtime.uow import UnitOfWork
    from shared.settings import Settings


def lineage_of(settings: Settings, uow: UnitOfWork, result: Result) -> list[dict[str, Any]]:
    ctx = uow.context
    intent_type = ctx.intent.intent_type
    if not ctx.execution_id or (intent_type not in LINEAGE_INTENTS and not result.artifacts and not result.inputs
                                and not result.commands):
        return []
    now = utcnow()
    started = (uow.execution.created_at if uow.execution is not None else None)
    state, error = None, None
    if result.failure is not None:
        state, error = "FAIL", result.failure[0]
    elif result.complete:
        state = "COMPLETE"
    journey_id = ctx.metadata.get("journey_id") or result.detail.get("journey_id")
    if intent_type not in LINEAGE_INTENTS and not result.complete and any(
            c.command_type == "parse_content" for c in result.commands):
        # An automatic dispatch opens its parse execution itself: that parse run STARTs here.
        info = RunInfo(ctx.execution_id, "parse_content", settings.job_namespace)
        return run_events(info, started_at=now, ended_at=None, state=None, datasets=RunDatasets())
    if intent_type == "start_journey":
        # The execution that starts a journey opens the journey's own run: the parent of every step.
        if started is None or not journey_id or result.failure is not None:
            return []
        info = RunInfo(ctx.execution_id, intent_type, settings.job_namespace, run_id=journey_run_id(str(journey_id)),
                       job_name=JOURNEY_JOB)
        return run_events(info, started_at=started, ended_at=None, state=None, datasets=RunDatasets())
    info = RunInfo(ctx.execution_id, intent_type, settings.job_namespace,
                   journey_id=str(journey_id) if journey_id else None)
    return run_events(info, started_at=started, ended_at=now if state else None, state=state,
                      datasets=datasets_of(intent_type, result.inputs, result.artifacts), error=error)


def journey_end_lineage(settings: Settings, journey_id: str, status: str, error: str | None) -> list[dict[str, Any]]:
    """COMPLETE, FAIL or ABORT of a journey's own run, when it reaches its end."""
    state = {"completed": "COMPLETE", "failed": "FAIL", "cancelled": "ABORT"}.get(status)
    if state is None:
        return []
    info = RunInfo(journey_id, JOURNEY_JOB, settings.job_namespace, run_id=journey_run_id(journey_id), job_name=JOURNEY_JOB)
    return run_events(info, started_at=None, ended_at=utcnow(), state=state, datasets=RunDatasets(), error=error)
