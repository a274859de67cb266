"""A decision whose commit finds an adopted document changed is made again on fresh reads, a bounded number of times."""

from __future__ import annotations

import pytest

from shared.domain.errors import TransientError
from shared.ports import RecordChanged
from shared.runtime.uow import DECISIONS, decided_on_fresh_reads


def test_a_decision_that_lost_a_race_is_made_again_and_its_second_answer_stands() -> None:
    runs: list[int] = []

    def decide() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise RecordChanged("moved since it was read")
        return "duplicate"

    assert decided_on_fresh_reads(decide, "upload") == "duplicate"
    assert len(runs) == 2


def test_a_document_that_keeps_changing_is_a_transient_error_after_a_bounded_number_of_decisions() -> None:
    runs: list[int] = []

    def decide() -> str:
        runs.append(1)
        raise RecordChanged("moved again")

    with pytest.raises(TransientError, match="artifact kept changing"):
        decided_on_fresh_reads(decide, "artifact")
    assert len(runs) == DECISIONS


def test_other_errors_are_not_taken_for_a_lost_race() -> None:
    def decide() -> str:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        decided_on_fresh_reads(decide, "upload")
