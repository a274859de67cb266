"""ExecutionContext and Outcome: what a handler receives and what it hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain.intents import Intent
from shared.domain.models import Artifact, Command, Event, StageEntry, utcnow
from shared.domain.policy import check_two_phase
from shared.domain.states import ExecutionStatus
from shared.ports import Tx

if TYPE_CHECKING:
    from shared.bootstrap import Services


@dataclass
class Outcome:
    """The result of a handler's atomic step. The lifecycle writes it, with the execution log, in one transaction."""

    status_code: int
    body: dict[str, Any]
    artifacts: list[Artifact] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    complete: bool = True  # False: the execution goes on elsewhere (a worker completes it)
    intent_id: str | None = None
    stage_detail: dict[str, Any] = field(default_factory=dict)
    failure: tuple[str, str] | None = None  # (error, error_code): the execution ends failed, recorded last


@dataclass
class ExecutionContext:
    execution_id: str
    intent: Intent
    services: Services
    created_at: datetime = field(default_factory=utcnow)
    committed: bool = False

    @property
    def tenant_id(self) -> str:
        return self.intent.tenant_id

    @property
    def session_id(self) -> str:
        return self.intent.session_id

    @property
    def user_id(self) -> str:
        return self.intent.user_id

    @property
    def solution_id(self) -> str:
        return self.intent.solution_id

    @property
    def metadata(self) -> dict[str, Any]:
        return self.intent.metadata

    def transact(self, step: Callable[[Tx], Outcome]) -> Outcome:
        """Run `step` in one transaction together with its artifacts, outbox records and execution log entries."""
        outcome = commit_outcome(self.services, self.tenant_id, self.execution_id, step, self.intent.intent_type)
        self.committed = True
        return outcome


def write_outcome(tx: Tx, tenant_id: str, execution_id: str, outcome: Outcome) -> None:
    """Buffer the outcome's writes; callers have finished their reads. The execution log gets one update."""
    for artifact in outcome.artifacts:
        tx.put_artifact(artifact)
    for event in outcome.events:
        tx.stage_event(event)
    for command in outcome.commands:
        tx.stage_command(command)
    entries: list[StageEntry] = []
    if outcome.artifacts:
        entries.append(StageEntry(stage="artifacts_registered", detail={"artifact_ids": [a.artifact_id for a in outcome.artifacts]}))
    if outcome.events or outcome.commands:
        entries.append(StageEntry(stage="events_staged", detail={
            "events": [e.event_type for e in outcome.events], "commands": [c.command_id for c in outcome.commands]}))
    if outcome.failure is not None:
        error, code = outcome.failure
        entries.append(StageEntry(stage="failed", detail={"error_code": code, **outcome.stage_detail}))
        tx.log_stage(tenant_id, execution_id, entries, status=ExecutionStatus.FAILED, error=error, error_code=code)
    elif outcome.complete:
        entries.append(StageEntry(stage="completed", detail=outcome.stage_detail))
        tx.log_stage(tenant_id, execution_id, entries, status=ExecutionStatus.COMPLETED, result=_summary(outcome),
                     intent_id=outcome.intent_id)
    elif outcome.intent_id:
        entries.append(StageEntry(stage="dispatched", detail=outcome.stage_detail))
        tx.log_stage(tenant_id, execution_id, entries, status=ExecutionStatus.RUNNING, intent_id=outcome.intent_id)
    elif entries:
        tx.log_stage(tenant_id, execution_id, entries)


def _summary(outcome: Outcome) -> dict[str, Any]:
    return {"artifact_ids": [a.artifact_id for a in outcome.artifacts], **outcome.stage_detail}


def commit_outcome(
    services: Services, tenant_id: str, execution_id: str, step: Callable[[Tx], Outcome], intent_type: str
) -> Outcome:
    def _run(tx: Tx) -> Outcome:
        outcome = step(tx)
        check_two_phase(intent_type, outcome.artifacts)  # before any write is buffered: nothing is committed
        write_outcome(tx, tenant_id, execution_id, outcome)
        return outcome

    outcome, staged = services.store.run_in_transaction(_run)
    if staged:
        services.relay.deliver(staged)  # right after commit; the sweep catches whatever this misses
    return outcome
