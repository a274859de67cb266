import pytest

from shared.domain.errors import IllegalTransition
from shared.domain.states import (
    ExecutionStatus,
    IntentStatus,
    LifecycleState,
    check_execution_transition,
    check_intent_transition,
    check_lifecycle_transition,
)

LEGAL_INTENT = {
    (IntentStatus.PENDING, IntentStatus.IN_PROGRESS),
    (IntentStatus.PENDING, IntentStatus.CANCELLED),
    (IntentStatus.PENDING, IntentStatus.FAILED),
    (IntentStatus.IN_PROGRESS, IntentStatus.COMPLETED),
    (IntentStatus.IN_PROGRESS, IntentStatus.FAILED),
}


@pytest.mark.parametrize("current", list(IntentStatus))
@pytest.mark.parametrize("target", list(IntentStatus))
def test_intent_transitions_follow_the_lifecycle(current, target):
    if (current, target) in LEGAL_INTENT:
        check_intent_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_intent_transition(current, target)


def test_completed_intent_cannot_be_cancelled():
    with pytest.raises(IllegalTransition, match="completed cannot become cancelled"):
        check_intent_transition(IntentStatus.COMPLETED, IntentStatus.CANCELLED)


def test_ready_artifact_cannot_return_to_pending():
    with pytest.raises(IllegalTransition):
        check_lifecycle_transition(LifecycleState.READY, LifecycleState.PENDING)
    check_lifecycle_transition(LifecycleState.PENDING, LifecycleState.READY)


def test_finished_execution_is_final():
    for final in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED):
        for target in ExecutionStatus:
            with pytest.raises(IllegalTransition):
                check_execution_transition(final, target)
