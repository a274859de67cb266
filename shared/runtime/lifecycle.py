"""The execution lifecycle: accept, create the execution, run the handler, register artifacts, stage events,
complete or fail. Every step is an entry in the execution's durable log."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.domain.errors import DomainError, Duplicate, PermanentError, TransientError
from shared.domain.ids import new_id
from shared.domain.intents import Intent
from shared.domain.models import Execution, StageEntry
from shared.domain.states import ExecutionStatus
from shared.logs import get_logger, log_context
from shared.runtime.context import ExecutionContext, Outcome
from shared.runtime.registry import get_intent_handler
from shared.runtime.validation import validate

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = get_logger(__name__)


def error_body(message: str, code: str, execution_id: str, intent_type: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "error_code": code, "execution_id": execution_id, "intent_type": intent_type}
    if details:
        body["details"] = details
    return body


class ExecutionLifecycleManager:
    def __init__(self, services: Services):
        self._services = services

    def _accept(self, intent: Intent, execution_id: str, detail: dict[str, Any], *, started: bool) -> None:
        """Create the execution with its first entries in one write: accepted, and started when it runs at once."""
        stages = [StageEntry(stage="accepted", detail=detail)]
        if started:
            stages.append(StageEntry(stage="started"))
        self._services.store.create_execution(Execution(
            execution_id=execution_id, tenant_id=intent.tenant_id, intent_type=intent.intent_type,
            session_id=intent.session_id, user_id=intent.user_id, stages=stages,
            status=ExecutionStatus.RUNNING if started else ExecutionStatus.ACCEPTED,
        ))
        log.info("intent accepted")

    def _complete_uncommitted(self, ctx: ExecutionContext, outcome: Outcome) -> None:
        """A handler that changed no state still ends its execution as completed."""
        if not ctx.committed:
            self._services.store.log_stage(
                ctx.tenant_id, ctx.execution_id, StageEntry(stage="completed", detail=outcome.stage_detail),
                status=ExecutionStatus.COMPLETED, result=outcome.stage_detail,
            )

    def execute(self, intent: Intent, execution_id: str | None = None) -> tuple[int, dict[str, Any]]:
        execution_id = execution_id or new_id("exec")
        with log_context(execution_id=execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id):
            try:
                registration = get_intent_handler(intent.intent_type)
                params = validate(registration.params_model, intent.parameters)
            except DomainError as exc:
                self._accept(intent, execution_id, {"intent_id": intent.intent_id}, started=False)
                return self._fail(intent, execution_id, exc.status, exc.message, exc.code, exc.details)
            self._accept(intent, execution_id, {"intent_id": intent.intent_id}, started=True)
            try:
                ctx = ExecutionContext(execution_id=execution_id, intent=intent, services=self._services)
                outcome: Outcome = registration.handler(ctx, params)
                self._complete_uncommitted(ctx, outcome)
                log.info("intent handled", extra={"fields": {"status_code": outcome.status_code}})
                return outcome.status_code, {"execution_id": execution_id, "intent_type": intent.intent_type, **outcome.body}
            except DomainError as exc:
                return self._fail(intent, execution_id, exc.status, exc.message, exc.code, exc.details)
            except PermanentError as exc:
                return self._fail(intent, execution_id, 422, exc.message, exc.code)
            except TransientError as exc:
                log.warning("transient failure", extra={"fields": {"error": str(exc)}})
                message = "A dependency is temporarily unavailable; retry with the same Idempotency-Key."
                return self._fail(intent, execution_id, 503, message, "UNAVAILABLE")
            except Exception:
                log.exception("unexpected failure")
                return self._fail(intent, execution_id, 500, "Internal error; it has been logged.", "INTERNAL")

    def run_internal(
        self, intent: Intent, handler: Callable[[ExecutionContext], Outcome], execution_id: str | None = None
    ) -> Outcome | None:
        """Run a platform-initiated intent (an event, a task) with the same execution log as an HTTP one.

        Permanent failures are recorded and swallowed (the delivery is acknowledged); transient ones are recorded and
        re-raised so the platform retries; a duplicate completes as a no-op."""
        execution_id = execution_id or new_id("exec")
        store = self._services.store
        with log_context(execution_id=execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id):
            self._accept(intent, execution_id, {"intent_id": intent.intent_id, **intent.metadata}, started=True)
            ctx = ExecutionContext(execution_id=execution_id, intent=intent, services=self._services)
            try:
                outcome = handler(ctx)
                self._complete_uncommitted(ctx, outcome)
                return outcome
            except Duplicate:
                store.log_stage(intent.tenant_id, execution_id, StageEntry(stage="completed", detail={"duplicate": True}),
                                status=ExecutionStatus.COMPLETED, result={"duplicate": True})
                return None
            except (PermanentError, DomainError) as exc:
                code = exc.code
                self._fail(intent, execution_id, 422, exc.message, code)
                return None
            except TransientError as exc:
                self._fail(intent, execution_id, 503, f"Temporarily unavailable, the platform retries: {exc}", "UNAVAILABLE")
                raise

    def _fail(
        self, intent: Intent, execution_id: str, status: int, message: str, code: str, details: Any = None
    ) -> tuple[int, dict[str, Any]]:
        try:
            self._services.store.log_stage(
                intent.tenant_id, execution_id, StageEntry(stage="failed", detail={"error_code": code}),
                status=ExecutionStatus.FAILED, error=message, error_code=code,
            )
        except Exception:
            log.exception("could not record the failure")
        log.info("intent rejected" if status < 500 else "intent failed", extra={"fields": {"error_code": code, "status_code": status}})
        return status, error_body(message, code, execution_id, intent.intent_type, details)
