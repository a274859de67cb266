"""The unit of work (after cosmicpython's unit_of_work.py): a use case's state change, its outbox records and its
execution-log entries commit in ONE Firestore transaction; the staged records then go to the relay that bootstrap
wired in. Nothing else in the code writes to the store.

The bus makes one per message and gives it the recorder that writes the execution log; a handler says which
execution it works in (`start` a new one, `resume` a stored one, or neither for housekeeping) and returns a Result."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shared.domain.errors import TransientError
from shared.domain.intents import Intent
from shared.logs import bind, get_logger
from shared.ports import RecordChanged
from shared.runtime.context import ExecutionContext, Result

if TYPE_CHECKING:
    from shared.domain.models import Execution
    from shared.ports import Services, Tx

R = TypeVar("R")
PLATFORM = "platform"
log = get_logger(__name__)
DECISIONS = 3


def decided_on_fresh_reads[D](decide: Callable[[], D], what: str, attempts: int = DECISIONS) -> D:
    """Run `decide` (it reads, then commits the documents it adopted) again when its commit finds one changed since
    it was read: the next run reads what the other writer wrote. After `attempts`, TransientError (retried later)."""
    for attempt in range(1, attempts + 1):
        try:
            return decide()
        except RecordChanged as exc:
            if attempt == attempts:
                raise TransientError(f"the {what} kept changing while this was decided") from exc
            log.info("deciding again: a document changed since it was read", extra={"fields": {"what": what}})
    raise AssertionError("unreachable")


class Recorder(Protocol):
    """Writes execution-log entries into the transaction it is given (bootstrap wires the lifecycle in)."""

    def open(self, intent: Intent, execution_id: str | None, detail: dict[str, Any] | None = None) -> Execution: ...
    def record(self, tx: Tx, uow: UnitOfWork, result: Result) -> None: ...


def _housekeeping_intent() -> Intent:
    return Intent.create("housekeeping", tenant_id=PLATFORM, session_id=PLATFORM, user_id=PLATFORM)


class UnitOfWork:
    def __init__(self, services: Services, recorder: Recorder, handle: Callable[[Any], Any] | None = None,
                 context: ExecutionContext | None = None, execution: Execution | None = None):
        self._services = services
        self._recorder = recorder
        self._handle = handle
        # Housekeeping (dedup keys, leases, journeys' advances) belongs to no execution: execution_id "".
        self.context = context or ExecutionContext.for_intent(_housekeeping_intent(), "", services)
        self.execution = execution  # a new execution, written whole by the first commit that records a Result
        self.commits = 0
        self.started = False  # this unit opened the execution it works in
        self.ended = False  # a commit of this unit ended the execution (completed or failed)

    @property
    def services(self) -> Services:
        return self._services

    @property
    def committed(self) -> bool:
        return self.commits > 0

    # ---- which execution this work belongs to ----
    def start(self, intent: Intent, execution_id: str | None = None, detail: dict[str, Any] | None = None) -> UnitOfWork:
        """Open a new execution of `intent`; it costs no write of its own (the first commit, or the bus, writes it)."""
        self.execution = self._recorder.open(intent, execution_id, detail)
        self.context = ExecutionContext.for_intent(intent, self.execution.execution_id, self._services)
        self.started = True
        bind(execution_id=self.execution.execution_id, intent_type=intent.intent_type, tenant_id=intent.tenant_id)
        return self

    def resume(self, tenant_id: str, execution_id: str, intent_type: str, *, session_id: str = PLATFORM,
               user_id: str | None = None, solution_id: str | None = None,
               metadata: dict[str, Any] | None = None) -> UnitOfWork:
        """Go on with an execution that is already stored (a worker or the sweep carries it on); `metadata` is the
        execution's own where the carrier knows it (a journey step's journey_id: its lineage events' parent)."""
        intent = Intent.create(intent_type, tenant_id=tenant_id, session_id=session_id, user_id=user_id or PLATFORM,
                               solution_id=solution_id, metadata=metadata)
        self.context = ExecutionContext.for_intent(intent, execution_id, self._services)
        self.execution = None
        bind(execution_id=execution_id, intent_type=intent_type, tenant_id=tenant_id)
        return self

    def annotate(self, **fields: Any) -> None:
        """Fields of the new, not yet written execution that the handler learns inside its transaction."""
        if self.execution is not None:
            self.execution = self.execution.model_copy(update=fields)

    def discard(self) -> None:
        """The work turned out to be a duplicate before anything was written: leave no execution behind."""
        self.execution = None

    # ---- writing ----
    def commit(self, step: Callable[[Tx], R], *, blind: bool = False) -> R:
        """Run `step` (reads first, then buffered writes) in one transaction. A step that returns a Result has its
        artifacts, events, commands and stage entries written by the recorder in the same transaction. A `blind`
        step reads nothing, so its writes go as one batch (one commit, no transaction to begin)."""

        def _run(tx: Tx) -> R:
            value = step(tx)
            if isinstance(value, Result):
                self._recorder.record(tx, self, value)
            return value

        store = self._services.store
        value, staged = store.write_batch(_run) if blind else store.run_in_transaction(_run)
        self.commits += 1
        if isinstance(value, Result):
            self.execution = None  # written by that commit
            self.ended = self.ended or value.failure is not None or value.complete
        if staged:
            self._services.relay.deliver(staged)  # right after commit; the sweep catches whatever this misses
        return value

    def record_execution(self, tx: Tx, intent: Intent, execution_id: str, result: Result,
                         detail: dict[str, Any] | None = None) -> None:
        """Another execution, opened and recorded whole inside this unit's transaction (a journey's step)."""
        context = ExecutionContext.for_intent(intent, execution_id, self._services)
        other = UnitOfWork(self._services, self._recorder, self._handle, context,
                           self._recorder.open(intent, execution_id, detail))
        self._recorder.record(tx, other, result)

    # ---- other messages ----
    def handle(self, message: Any) -> Any:
        """Hand another message to the bus now, in a unit of work of its own (a sweep's items, a journey's step,
        the worker's heartbeat)."""
        if self._handle is None:
            raise RuntimeError("this unit of work was made without a bus")
        return self._handle(message)

    def fork(self) -> UnitOfWork:
        """A unit of work on the same execution, for another thread (the worker's heartbeat)."""
        return UnitOfWork(self._services, self._recorder, self._handle, self.context)
