"""The message bus (after cosmicpython's messagebus.py): every trigger is a message, handled by
`handle(message, uow) -> Result` in a unit of work the bus makes for it.

- A client's intent (`SubmitIntent`) is accepted against the intent catalog or refused, runs in a new execution, and
  ends as an `ExecutionOutcome` the HTTP edge maps.
- A command (finalize, the parse task and its heartbeat, sweep jobs, retention, uploads) goes to its one handler in
  COMMAND_HANDLERS; an event to each of its handlers in EVENT_HANDLERS; a query to QUERY_HANDLERS.
- The bus owns the lifecycle: a handler only says which execution it works in (`uow.start` / `uow.resume`), returns
  a Result and raises domain errors. The bus writes what the handler's commits did not: the end of an execution
  that committed nothing, a failure, a refusal, always through the unit of work.

Error taxonomy for platform messages: a duplicate is a no-op (None); a permanent or domain error of an execution the
handler started is recorded and acknowledged (None); a transient error is recorded and raised, so the platform
retries. Errors outside an execution pass through to the edge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import DomainError, Duplicate, PermanentError, TransientError
from shared.domain.ids import new_id
from shared.domain.messages import Query, SubmitIntent
from shared.domain.models import Event
from shared.logs import bind, get_logger, joined_origin, log_context
from shared.ports import Services
from shared.runtime.context import Result
from shared.runtime.lifecycle import ExecutionLifecycleManager
from shared.runtime.registry import IntentCatalog
from shared.runtime.uow import UnitOfWork
from shared.runtime.validation import validate

log = get_logger(__name__)
Handler = Callable[[Any, UnitOfWork], Any]
QueryHandler = Callable[[Any, Services], Any]


@dataclass(frozen=True)
class ExecutionOutcome:
    """How a client's intent ended, in domain terms: a result, or the error that stopped it."""

    execution_id: str
    intent_type: str
    result: Result | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class MessageBus:
    def __init__(self, services: Services, intents: IntentCatalog, command_handlers: dict[type, Handler],
                 event_handlers: dict[str, list[Handler]], query_handlers: dict[str, QueryHandler],
                 lifecycle: ExecutionLifecycleManager | None = None):
        self.services = services
        self.intents = intents
        self.command_handlers = command_handlers
        self.event_handlers = event_handlers
        self.query_handlers = query_handlers
        self.lifecycle = lifecycle or ExecutionLifecycleManager()

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.services, self.lifecycle, self.handle)

    def handle(self, message: Any) -> Any:
        if isinstance(message, SubmitIntent):
            return self._submit(message)
        if isinstance(message, Event):
            return self._event(message)
        if isinstance(message, Query):
            return self.query_handlers[message.name](message, self.services)
        handler = self.command_handlers.get(type(message))
        if handler is None:
            raise TypeError(f"no handler for {type(message).__name__}")
        return self._run(message, handler)

    def execute(self, intent: Any, execution_id: str | None = None) -> ExecutionOutcome:
        return self._submit(SubmitIntent(intent, execution_id))

    # ---- a client's intent ----
    def _submit(self, message: SubmitIntent) -> ExecutionOutcome:
        intent = message.intent
        execution_id = message.execution_id or new_id("exec")
        with log_context(execution_id=execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id):
            uow = self.unit_of_work().start(intent, execution_id)
            try:  # accept_intent: find the handler and validate the parameters strictly
                registration = self.intents.get_intent_handler(intent.intent_type)
                command = validate(registration.params_model, intent.parameters)
            except DomainError as exc:
                self.lifecycle.refuse(uow, exc)
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            log.info("intent accepted")
            try:
                result: Result = registration.handler(command, uow)
                if uow.execution is not None:
                    self.lifecycle.complete(uow, result)
            except (DomainError, PermanentError) as exc:
                self.lifecycle.fail(uow, exc.message, exc.code)
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            except TransientError as exc:
                log.warning("transient failure", extra={"fields": {"error": str(exc)[:500]}})
                self.lifecycle.fail(uow, "A dependency is temporarily unavailable; retry with the same Idempotency-Key.",
                                    "UNAVAILABLE")
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            except Exception as exc:
                log.exception("unexpected failure")
                self.lifecycle.fail(uow, "Internal error; it has been logged.", "INTERNAL")
                return ExecutionOutcome(execution_id, intent.intent_type, error=exc)
            log.info("intent handled")
            return ExecutionOutcome(execution_id, intent.intent_type, result=result)

    # ---- events: every reaction, each in its own unit of work ----
    def _event(self, event: Event) -> str:
        handlers = self.event_handlers.get(event.event_type, [])
        if not handlers:
            return "ignored"
        outcomes = [self._run(event, handler) for handler in handlers]
        return ",".join(str(o) for o in outcomes if o) or "ignored"

    # ---- commands the platform raises ----
    def _run(self, message: Any, handler: Handler) -> Any:
        joined = None
        try:
            with log_context():  # the execution's labels end with it
                try:
                    return self._run_in_context(message, handler)
                finally:
                    joined = joined_origin()
        finally:  # the journey it joined does not: the edge's closing line names it too
            if joined and not joined_origin():
                bind(origin_execution_id=joined)

    def _run_in_context(self, message: Any, handler: Handler) -> Any:
        uow = self.unit_of_work()
        try:
            value = handler(message, uow)
        except Duplicate:
            if uow.started and uow.committed:  # the work was done by an earlier commit of this execution
                self.lifecycle.complete(uow, Result(detail={"duplicate": True}))
            return None  # a redelivery that found the work done leaves no second execution behind
        except (PermanentError, DomainError) as exc:
            if not uow.started:
                raise
            self.lifecycle.fail(uow, exc.message, exc.code)
            return None
        except TransientError as exc:
            if uow.started and not uow.ended:  # an execution its commit ended keeps its end (a send that failed after)
                self.lifecycle.fail(uow, f"Temporarily unavailable, the platform retries: {exc}", "UNAVAILABLE")
            raise
        if uow.execution is not None:  # started, and no commit wrote it
            if isinstance(value, Result):
                self.lifecycle.complete(uow, value)
            else:
                uow.discard()  # an outcome, not a Result: nothing happened worth an execution
        return value
