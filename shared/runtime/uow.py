"""The unit of work (after cosmicpython's unit_of_work.py): a use case's state change, its outbox records and its
execution-log entries commit in ONE Firestore transaction; the staged records then go to the relay that bootstrap
wired in. Nothing else in the code commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from shared.ports import Tx

if TYPE_CHECKING:
    from shared.domain.models import Execution
    from shared.ports import Services
    from shared.runtime.context import ExecutionContext
    from shared.runtime.lifecycle import ExecutionLifecycleManager

R = TypeVar("R")


class UnitOfWork:
    def __init__(self, context: ExecutionContext, lifecycle: ExecutionLifecycleManager, execution: Execution | None = None):
        self.context = context
        self._lifecycle = lifecycle
        self.execution = execution  # a new execution, written with the first commit that records a Result
        self.commits = 0

    @property
    def services(self) -> Services:
        return self.context.services

    @property
    def committed(self) -> bool:
        return self.commits > 0

    def commit(self, step: Callable[[Tx], R]) -> R:
        """Run `step` (reads first, then buffered writes) in one transaction. A step that returns a Result has its
        artifacts, events, commands and stage entries written by the lifecycle in the same transaction."""
        from shared.runtime.context import Result

        def _run(tx: Tx) -> R:
            value = step(tx)
            if isinstance(value, Result):
                self._lifecycle.record(tx, self, value)
            return value

        value, staged = self.services.store.run_in_transaction(_run)
        self.commits += 1
        if isinstance(value, Result):
            self.execution = None  # written by that commit
        if staged:
            self.services.relay.deliver(staged)  # right after commit; the sweep catches whatever this misses
        return value
