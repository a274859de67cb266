"""The Execution Lifecycle Manager, with the seed's six stages as methods, each logged under its name:

  accept_intent -> create_execution -> execute_intent -> handle_artifacts -> publish_events -> complete_execution
                                                                                          (or failed)

The first three cost one write (the execution document is created with their entries); the last three are written by
the unit of work in the same transaction as the use case's state change. Worker stages (dispatched, claimed, ...) sit
between them for executions that go on elsewhere. The manager knows nothing of HTTP: it returns an
`ExecutionOutcome`, and the edges map it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shared.domain.errors import DomainError, Duplicate, PermanentError, TransientError
from shared.domain.ids import new_id
from shared.domain.intents import Intent
from shared.domain.models import Execution, StageEntry
from shared.domain.policy import check_two_phase
from shared.domain.states import ExecutionStatus, Stage
from shared.logs import get_logger, log_context
from shared.ports import Tx
from shared.runtime.artifact_plane import ArtifactPlane
from shared.runtime.context import ExecutionContext, Result
from shared.runtime.lineage import lineage_of
from shared.runtime.registry import Registration, get_intent_handlers
from shared.runtime.uow import UnitOfWork
from shared.runtime.validation import validate

if TYPE_CHECKING:
    from shared.ports import Services, Store

log = get_logger(__name__)


@dataclass(frozen=True)
class ExecutionOutcome:
    """How an execution ended, in domain terms: a result, or the error that stopped it."""

    execution_id: str
    intent_type: str
    result: Result | None = None
    error: Exception | None = None
    success_status: int = 200

    @property
    def ok(self) -> bool:
        return self.error is None


def opening_stages(detail: dict[str, Any], solution_id: str) -> list[StageEntry]:
    """The entries an execution is created with when it runs at once: accept_intent, create_execution, execute_intent."""
    return [StageEntry(stage=Stage.ACCEPT_INTENT, detail=detail),
            StageEntry(stage=Stage.CREATE_EXECUTION, detail={"solution_id": solution_id}),
            StageEntry(stage=Stage.EXECUTE_INTENT)]


class ExecutionLifecycleManager:
    def __init__(self, services: Services, plane: ArtifactPlane | None = None):
        self._services = services
        self.plane = plane or ArtifactPlane()

    # 1. accept_intent
    @staticmethod
    def accept_intent(intent: Intent) -> tuple[Registration, BaseModel]:
        """Find the intent's handler and validate its parameters strictly; a DomainError refuses it."""
        registration = get_intent_handlers(intent.intent_type)[0]
        return registration, validate(registration.params_model, intent.parameters)

    # 2. create_execution
    def create_execution(self, intent: Intent, execution_id: str, detail: dict[str, Any] | None = None) -> UnitOfWork:
        """The execution with its first entries (accept_intent, create_execution, execute_intent). It is written with
        the unit of work's first commit, in the same transaction as the first state change, so opening an execution
        costs no write of its own; a handler that commits nothing writes it once, at its end."""
        stages = opening_stages({"intent_id": intent.intent_id, **(detail or {})}, intent.solution_id)
        execution = Execution(
            execution_id=execution_id, tenant_id=intent.tenant_id, intent_type=intent.intent_type,
            session_id=intent.session_id, user_id=intent.user_id, solution_id=intent.solution_id,
            metadata=dict(intent.metadata), stages=stages, status=ExecutionStatus.RUNNING)
        log.info("intent accepted")
        return UnitOfWork(ExecutionContext.for_intent(intent, execution_id, self._services), self, execution)

    def unit_of_work(self, ctx: ExecutionContext) -> UnitOfWork:
        """A unit of work on an execution that is already stored."""
        return UnitOfWork(ctx, self)

    def write_log(self, target: Tx | Store, uow: UnitOfWork, entries: list[StageEntry], *,
                  status: ExecutionStatus | None = None, error: str | None = None, error_code: str | None = None,
                  result: dict[str, Any] | None = None, intent_id: str | None = None) -> None:
        """Append entries to the execution's log; the first write of a new execution creates it whole."""
        if uow.execution is not None:
            changes: dict[str, Any] = {"stages": [*uow.execution.stages, *entries], "updated_at": entries[-1].at}
            for name, value in (("status", status), ("error", error), ("error_code", error_code), ("result", result),
                                ("intent_id", intent_id)):
                if value is not None:
                    changes[name] = value
            target.create_execution(uow.execution.model_copy(update=changes))
        else:
            target.log_stage(uow.context.tenant_id, uow.context.execution_id, entries, status=status, error=error,
                             error_code=error_code, result=result, intent_id=intent_id)

    # 3. execute_intent
    def execute_intent(self, uow: UnitOfWork, registration: Registration, command: BaseModel) -> Result:
        result: Result = registration.handler(command, uow)
        if not uow.committed:  # a handler that changed no state still ends its execution, in one write
            self.write_log(self._services.store, uow, [StageEntry(stage=Stage.COMPLETE_EXECUTION, detail=result.detail)],
                           status=ExecutionStatus.COMPLETED, result=result.detail)
            uow.execution = None
        return result

    # 4. handle_artifacts (inside the unit of work's transaction)
    def handle_artifacts(self, tx: Tx, ctx: ExecutionContext, result: Result) -> list[StageEntry]:
        check_two_phase(ctx.intent.intent_type, result.artifacts)  # before any write is buffered
        if not result.artifacts:
            return []
        stored = [self.plane.create_artifact(tx, a, solution_id=ctx.solution_id) for a in result.artifacts]
        result.artifacts[:] = stored
        return [StageEntry(stage=Stage.HANDLE_ARTIFACTS, detail={"artifact_ids": [a.artifact_id for a in stored]})]

    # 5. publish_events (inside the transaction: staged in the outbox, relayed after commit)
    @staticmethod
    def publish_events(tx: Tx, result: Result, lineage: list[dict[str, Any]] | None = None,
                       ctx: ExecutionContext | None = None) -> list[StageEntry]:
        # The commit's OpenLineage events ride on its first outbox record: no document of their own.
        rider = list(lineage or [])
        for event in result.events:
            tx.stage_event(event, rider)
            rider = []
        for command in result.commands:
            tx.stage_command(command, rider)
            rider = []
        if rider and ctx is not None:
            tx.stage_lineage(ctx.tenant_id, ctx.execution_id, rider)
        if not (result.events or result.commands):
            return []
        return [StageEntry(stage=Stage.PUBLISH_EVENTS, detail={
            "events": [e.event_type for e in result.events], "commands": [c.command_id for c in result.commands]})]

    # 6. complete_execution (or failed, or dispatched when a worker goes on)
    def complete_execution(self, tx: Tx, uow: UnitOfWork, result: Result, entries: list[StageEntry]) -> None:
        if result.failure is not None:
            error, code = result.failure
            entries.append(StageEntry(stage=Stage.FAILED, detail={"error_code": code, **result.detail}))
            self.write_log(tx, uow, entries, status=ExecutionStatus.FAILED, error=error, error_code=code)
        elif result.complete:
            entries.append(StageEntry(stage=Stage.COMPLETE_EXECUTION, detail=result.detail))
            summary = {"artifact_ids": [a.artifact_id for a in result.artifacts], **result.detail}
            self.write_log(tx, uow, entries, status=ExecutionStatus.COMPLETED, result=summary, intent_id=result.intent_id)
        elif result.intent_id:
            entries.append(StageEntry(stage=Stage.DISPATCHED, detail=result.detail))
            self.write_log(tx, uow, entries, status=ExecutionStatus.RUNNING, intent_id=result.intent_id)
        elif entries or uow.execution is not None:
            self.write_log(tx, uow, entries or [StageEntry(stage=Stage.EXECUTE_INTENT, detail=result.detail)])

    def record(self, tx: Tx, uow: UnitOfWork, result: Result) -> None:
        """Stages 4-6, written in the unit of work's transaction after the use case's own reads and writes."""
        entries = self.handle_artifacts(tx, uow.context, result)
        entries += self.publish_events(tx, result, lineage_of(self._services.settings, uow, result), uow.context)
        self.complete_execution(tx, uow, result, entries)

    # the whole flow, for a client's intent
    def execute(self, intent: Intent, execution_id: str | None = None) -> ExecutionOutcome:
        execution_id = execution_id or new_id("exec")
        with log_context(execution_id=execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id):
            try:
                registration, command = self.accept_intent(intent)
            except DomainError as exc:
                self._record_refusal(intent, execution_id, exc)
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            uow = self.create_execution(intent, execution_id)
            try:
                result = self.execute_intent(uow, registration, command)
            except (DomainError, PermanentError) as exc:
                self.fail(uow, exc.message, exc.code)
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            except TransientError as exc:
                log.warning("transient failure", extra={"fields": {"error": str(exc)[:500]}})
                self.fail(uow, "A dependency is temporarily unavailable; retry with the same Idempotency-Key.", "UNAVAILABLE")
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            except Exception as exc:
                log.exception("unexpected failure")
                self.fail(uow, "Internal error; it has been logged.", "INTERNAL")
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            log.info("intent handled")
            return ExecutionOutcome(execution_id, intent.intent_type, result=result, success_status=registration.success_status)

    def run_internal(
        self, intent: Intent, handler: Callable[[UnitOfWork], Result], execution_id: str | None = None
    ) -> Result | None:
        """A platform-initiated intent (an event, a task, a journey step) with the same execution log.

        Permanent failures are recorded and swallowed (the delivery is acknowledged); transient ones are recorded and
        re-raised so the platform retries; a duplicate completes as a no-op."""
        execution_id = execution_id or new_id("exec")
        with log_context(execution_id=execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id):
            uow = self.create_execution(intent, execution_id, dict(intent.metadata))
            store = self._services.store
            try:
                result = handler(uow)
                if not uow.committed:
                    self.write_log(store, uow, [StageEntry(stage=Stage.COMPLETE_EXECUTION, detail=result.detail)],
                                   status=ExecutionStatus.COMPLETED, result=result.detail)
                return result
            except Duplicate:
                if not uow.committed and uow.execution is not None:
                    return None  # a redelivery that found the work done leaves no second execution behind
                self.write_log(store, uow, [StageEntry(stage=Stage.COMPLETE_EXECUTION, detail={"duplicate": True})],
                               status=ExecutionStatus.COMPLETED, result={"duplicate": True})
                return None
            except (PermanentError, DomainError) as exc:
                self.fail(uow, exc.message, exc.code)
                return None
            except TransientError as exc:
                self.fail(uow, f"Temporarily unavailable, the platform retries: {exc}", "UNAVAILABLE")
                raise

    def resume(self, tenant_id: str, execution_id: str, intent_type: str, *, session_id: str, user_id: str | None,
               solution_id: str | None = None, metadata: dict[str, Any] | None = None) -> UnitOfWork:
        """A unit of work on an execution that already exists (a worker or the sweep carries it on)."""
        intent = Intent.create(intent_type, tenant_id=tenant_id, session_id=session_id, user_id=user_id or "platform",
                               solution_id=solution_id, metadata=metadata)
        return self.unit_of_work(ExecutionContext.for_intent(intent, execution_id, self._services))

    def housekeeping(self) -> UnitOfWork:
        """A unit of work that belongs to no execution (dedup records, leases, sweeps): its steps return plain values,
        so no stage is logged, but their outbox records still commit and relay with them."""
        intent = Intent.create("housekeeping", tenant_id="platform", session_id="platform", user_id="platform")
        return self.unit_of_work(ExecutionContext.for_intent(intent, "", self._services))

    def _record_refusal(self, intent: Intent, execution_id: str, exc: DomainError) -> None:
        """A refused intent still gets its execution, in one write: accept_intent (refused), create_execution, failed."""
        stages = opening_stages({"intent_id": intent.intent_id, "refused": exc.code}, intent.solution_id)
        stages[-1] = StageEntry(stage=Stage.FAILED, detail={"error_code": exc.code})
        try:
            self._services.store.create_execution(Execution(
                execution_id=execution_id, tenant_id=intent.tenant_id, intent_type=intent.intent_type,
                session_id=intent.session_id, user_id=intent.user_id, solution_id=intent.solution_id,
                metadata=dict(intent.metadata), stages=stages, status=ExecutionStatus.FAILED, error=exc.message,
                error_code=exc.code))
        except Exception:
            log.exception("could not record the refusal")
        log.info("intent refused", extra={"fields": {"error_code": exc.code}})

    def fail(self, uow: UnitOfWork, message: str, code: str) -> None:
        try:
            entries = [StageEntry(stage=Stage.FAILED, detail={"error_code": code})]
            # An execution that never committed wrote nothing and STARTed nothing: its failure emits no lineage.
            lineage = [] if uow.execution is not None else lineage_of(
                self._services.settings, uow, Result(failure=(message, code)))
            if lineage:  # the FAIL event commits with the failure, so a crash loses neither
                def _step(tx: Tx) -> None:
                    tx.stage_lineage(uow.context.tenant_id, uow.context.execution_id, lineage)
                    self.write_log(tx, uow, entries, status=ExecutionStatus.FAILED, error=message, error_code=code)

                _, staged = self._services.store.run_in_transaction(_step)
                self._services.relay.deliver(staged)
            else:
                self.write_log(self._services.store, uow, entries, status=ExecutionStatus.FAILED, error=message,
                               error_code=code)
            uow.execution = None
        except Exception:
            log.exception("could not record the failure")
        log.info("intent failed", extra={"fields": {"error_code": code}})
