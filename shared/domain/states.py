"""State machines for artifacts, intents, executions and uploads."""

from __future__ import annotations

from enum import StrEnum

from shared.domain.errors import IllegalTransition


class LifecycleState(StrEnum):
    PENDING = "PENDING"  # working material
    READY = "READY"  # record of fact
    REJECTED = "REJECTED"
    DELETED = "DELETED"  # a tombstone that lineage still resolves


class PayloadState(StrEnum):
    LIVE = "live"
    EXPIRED = "expired"
    DELETED = "deleted"


class IntentStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExecutionStatus(StrEnum):
    ACCEPTED = "accepted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class UploadStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    INGESTED = "ingested"
    REJECTED = "rejected"


_INTENT_TRANSITIONS: dict[IntentStatus, frozenset[IntentStatus]] = {
    IntentStatus.PENDING: frozenset({IntentStatus.IN_PROGRESS, IntentStatus.CANCELLED, IntentStatus.FAILED}),
    IntentStatus.IN_PROGRESS: frozenset({IntentStatus.COMPLETED, IntentStatus.FAILED}),
    IntentStatus.COMPLETED: frozenset(),
    IntentStatus.FAILED: frozenset(),
    IntentStatus.CANCELLED: frozenset(),
}

_LIFECYCLE_TRANSITIONS: dict[LifecycleState, frozenset[LifecycleState]] = {
    LifecycleState.PENDING: frozenset({LifecycleState.READY, LifecycleState.REJECTED, LifecycleState.DELETED}),
    LifecycleState.READY: frozenset({LifecycleState.DELETED}),
    LifecycleState.REJECTED: frozenset({LifecycleState.DELETED}),
    LifecycleState.DELETED: frozenset(),
}

_EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.ACCEPTED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED, ExecutionStatus.FAILED}),
    ExecutionStatus.RUNNING: frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED}),
    ExecutionStatus.COMPLETED: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
}


def check_intent_transition(current: IntentStatus, target: IntentStatus) -> None:
    if target not in _INTENT_TRANSITIONS[current]:
        raise IllegalTransition(f"An intent that is {current.value} cannot become {target.value}.")


def check_lifecycle_transition(current: LifecycleState, target: LifecycleState) -> None:
    if target not in _LIFECYCLE_TRANSITIONS[current]:
        raise IllegalTransition(f"An artifact that is {current.value} cannot become {target.value}.")


def check_execution_transition(current: ExecutionStatus, target: ExecutionStatus) -> None:
    if target not in _EXECUTION_TRANSITIONS[current]:
        raise IllegalTransition(f"An execution that is {current.value} cannot become {target.value}.")


class Stage(StrEnum):
    """The execution log's stage names: the seed lifecycle manager's six, then the worker's between them."""

    ACCEPT_INTENT = "accept_intent"
    CREATE_EXECUTION = "create_execution"
    EXECUTE_INTENT = "execute_intent"
    HANDLE_ARTIFACTS = "handle_artifacts"
    PUBLISH_EVENTS = "publish_events"
    COMPLETE_EXECUTION = "complete_execution"
    FAILED = "failed"
    DISPATCHED = "dispatched"
    CLAIMED = "claimed"
    ATTEMPT_FAILED = "attempt_failed"
    REDISPATCHED = "redispatched"
