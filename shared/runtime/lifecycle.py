"""The Execution Lifecycle Manager: the seed's six stages, each logged under its name.

  accept_intent -> create_execution -> execute_intent -> handle_artifacts -> publish_events -> complete_execution
                                                                                          (or failed)

Only the message bus drives it (bootstrap builds both). It writes nothing by itself: the first three stages are opened
with the execution (`open`) and written with its first commit; the last three are written by `record` inside the unit
of work's transaction, after the handler's own reads and writes; a handler that committed nothing, a failure and a
refusal are written through the unit of work too (`complete`, `fail`, `refuse`). Worker stages (dispatched, claimed,
...) sit between them for executions that go on elsewhere; a handler adds them as `Result.stages`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shared.domain.errors import DomainError
from shared.domain.ids import new_id
from shared.domain.intents import Intent
from shared.domain.models import Execution, StageEntry
from shared.domain.policy import check_two_phase
from shared.domain.states import ExecutionStatus, Stage
from shared.logs import get_logger
from shared.runtime.artifact_plane import ArtifactPlane
from shared.runtime.context import ExecutionContext, Result
from shared.runtime.lineage import lineage_of

if TYPE_CHECKING:
    from shared.ports import Tx

log = get_logger(__name__)
R = TypeVar("R")


class Work(Protocol):
    """What the lifecycle needs of a unit of work (shared.runtime.uow.UnitOfWork, which it does not import)."""

    context: ExecutionContext
    execution: Execution | None
    ended: bool  # an earlier commit of this unit of work ended the execution (its COMPLETE/FAIL is out)

    def commit(self, step: Callable[[Tx], R], *, blind: bool = False) -> R: ...


def opening_stages(detail: dict[str, Any], solution_id: str) -> list[StageEntry]:
    """The entries an execution is created with when it runs at once: accept_intent, create_execution, execute_intent."""
    return [StageEntry(stage=Stage.ACCEPT_INTENT, detail=detail),
            StageEntry(stage=Stage.CREATE_EXECUTION, detail={"solution_id": solution_id}),
            StageEntry(stage=Stage.EXECUTE_INTENT)]


class ExecutionLifecycleManager:
    def __init__(self, plane: ArtifactPlane | None = None):
        self.plane = plane or ArtifactPlane()

    # 1-3. accept_intent, create_execution, execute_intent: the execution as it opens (written by the first commit)
    @staticmethod
    def open(intent: Intent, execution_id: str | None, detail: dict[str, Any] | None = None) -> Execution:
        stages = opening_stages({"intent_id": intent.intent_id, **(detail or {})}, intent.solution_id)
        return Execution(
            execution_id=execution_id or new_id("exec"), tenant_id=intent.tenant_id, intent_type=intent.intent_type,
            session_id=intent.session_id, user_id=intent.user_id, solution_id=intent.solution_id,
            metadata=dict(intent.metadata), stages=stages, status=ExecutionStatus.RUNNING)

    @staticmethod
    def write_log(tx: Tx, work: Work, entries: list[StageEntry], *, status: ExecutionStatus | None = None,
                  error: str | None = None, error_code: str | None = None, result: dict[str, Any] | None = None,
                  intent_id: str | None = None) -> None:
        """Append entries to the execution's log; the first write of a new execution creates it whole."""
        if work.execution is not None:
            changes: dict[str, Any] = {"stages": [*work.execution.stages, *entries], "updated_at": entries[-1].at}
            for name, value in (("status", status), ("error", error), ("error_code", error_code), ("result", result),
                                ("intent_id", intent_id)):
                if value is not None:
                    changes[name] = value
            tx.create_execution(work.execution.model_copy(update=changes))
        else:
            tx.log_stage(work.context.tenant_id, work.context.execution_id, entries, status=status, error=error,
                         error_code=error_code, result=result, intent_id=intent_id)

    # 4. handle_artifacts (inside the unit of work's transaction)
    def handle_artifacts(self, tx: Tx, ctx: ExecutionContext, result: Result) -> list[StageEntry]:
        check_two_phase(ctx.intent.intent_type, result.artifacts)  # before any write is buffered
        if not result.artifacts:
            return []
        stored = [self.plane.create_artifact(tx, a, solution_id=ctx.solution_id, create_only=result.create_only)
                  for a in result.artifacts]
        result.artifacts[:] = stored
        return [StageEntry(stage=Stage.HANDLE_ARTIFACTS, detail={"artifact_ids": [a.artifact_id for a in stored]})]

    # 5. publish_events (inside the transaction: staged in the outbox, relayed after commit)
    @staticmethod
    def publish_events(tx: Tx, result: Result) -> list[StageEntry]:
        for event in result.events:
            tx.stage_event(event)
        for command in result.commands:
            tx.stage_command(command)
        if not (result.events or result.commands):
            return []
        return [StageEntry(stage=Stage.PUBLISH_EVENTS, detail={
            "events": [e.event_type for e in result.events], "commands": [c.command_id for c in result.commands]})]

    # 6. complete_execution (or failed, or dispatched when a worker goes on)
    def complete_execution(self, tx: Tx, work: Work, result: Result, entries: list[StageEntry]) -> None:
        if result.failure is not None:
            error, code = result.failure
            entries.append(StageEntry(stage=Stage.FAILED, detail={"error_code": code, **result.detail}))
            self.write_log(tx, work, entries, status=ExecutionStatus.FAILED, error=error, error_code=code)
        elif result.complete:
            entries.append(StageEntry(stage=Stage.COMPLETE_EXECUTION, detail=result.detail))
            summary = {"artifact_ids": [a.artifact_id for a in result.artifacts], **result.detail}
            self.write_log(tx, work, entries, status=ExecutionStatus.COMPLETED, result=summary, intent_id=result.intent_id)
        elif result.intent_id:
            entries.append(StageEntry(stage=Stage.DISPATCHED, detail=result.detail))
            self.write_log(tx, work, entries, status=ExecutionStatus.RUNNING, intent_id=result.intent_id)
        elif entries or work.execution is not None:
            self.write_log(tx, work, entries or [StageEntry(stage=Stage.EXECUTE_INTENT, detail=result.detail)])

    def record(self, tx: Tx, work: Work, result: Result) -> None:
        """Stages 4-6, written in the unit of work's transaction after the handler's own reads and writes."""
        if not work.context.execution_id:
            return  # housekeeping: no execution to log
        entries = list(result.stages)
        entries += self.handle_artifacts(tx, work.context, result)
        entries += self.publish_events(tx, result)
        self.complete_execution(tx, work, result, entries)
        self.stage_lineage(tx, work, result)

    @staticmethod
    def stage_lineage(tx: Tx, work: Work, result: Result) -> None:
        """The execution's OpenLineage RunEvents, last in the commit's outbox document: START with the commit that
        creates the execution, COMPLETE or FAIL with the one that ends it (shared/runtime/lineage.py)."""
        ctx = work.context
        opened_at = work.execution.created_at if work.execution is not None else None
        events = lineage_of(ctx.services.settings, ctx, result, opened_at=opened_at, ended=work.ended)
        if events:
            tx.stage_lineage(ctx.tenant_id, ctx.execution_id, events)

    # the ends the bus writes when the handler's own commits did not
    def complete(self, work: Work, result: Result) -> None:
        """A handler that changed no state still ends its execution, in one blind write."""
        entry = StageEntry(stage=Stage.COMPLETE_EXECUTION, detail=result.detail)
        ended = Result(inputs=result.inputs, detail=result.detail)

        def step(tx: Tx) -> None:
            self.stage_lineage(tx, work, ended)
            self.write_log(tx, work, [entry], status=ExecutionStatus.COMPLETED, result=result.detail)

        work.commit(step, blind=True)
        work.execution = None
        work.ended = True

    def fail(self, work: Work, message: str, code: str) -> None:
        entry = StageEntry(stage=Stage.FAILED, detail={"error_code": code})

        def step(tx: Tx) -> None:
            self.stage_lineage(tx, work, Result(failure=(message, code)))  # the FAIL commits with the failure
            self.write_log(tx, work, [entry], status=ExecutionStatus.FAILED, error=message, error_code=code)

        try:
            work.commit(step, blind=True)
            work.execution = None
            work.ended = True
        except Exception:
            log.exception("could not record the failure")
        log.info("intent failed", extra={"fields": {"error_code": code}})

    def refuse(self, work: Work, exc: DomainError) -> None:
        """A refused intent still gets its execution, in one write: accept_intent (refused), create_execution, failed."""
        execution = work.execution
        if execution is None:
            return
        stages = list(execution.stages)
        stages[0] = StageEntry(stage=Stage.ACCEPT_INTENT, detail={**stages[0].detail, "refused": exc.code})
        stages[-1] = StageEntry(stage=Stage.FAILED, detail={"error_code": exc.code})
        refused = execution.model_copy(update={"stages": stages, "status": ExecutionStatus.FAILED, "error": exc.message,
                                               "error_code": exc.code})
        try:
            work.commit(lambda tx: tx.create_execution(refused), blind=True)
            work.execution = None
        except Exception:
            log.exception("could not record the refusal")
        log.info("intent refused", extra={"fields": {"error_code": exc.code}})
