"""The journey saga as pure logic: step order, what each observation moves, duplicates, approval, compensation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from shared.domain.errors import Conflict
from shared.domain.journey_model import (
    STEP_ORDER,
    ArtifactFact,
    CancelIntent,
    Compensation,
    CreateIntent,
    DispatchParse,
    IntentFact,
    Journey,
    JourneyStatus,
    StartJourneyParams,
    StartStep,
    StepName,
    StepStatus,
    UploadFact,
    World,
)
from shared.domain.journeys import advance, approve, cancel, compensation_finished, new_journey, redrive, step_failed, step_succeeded
from shared.domain.states import IntentStatus, LifecycleState, UploadStatus

NOW = datetime(2026, 1, 27, 10, 0, tzinfo=UTC)
FILE = ArtifactFact("file_1", LifecycleState.PENDING, "exec_ingest")
PARSED = ArtifactFact("parsed_1", LifecycleState.PENDING, "exec_parse")


def ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def start(save: str = "manual", **source: str) -> Journey:
    params = StartJourneyParams.model_validate({"ingestion_profile": "structured", "save": save, **(source or {"file_id": "file_1"})})
    return new_journey("journey_1", "t", "s", "u", params, NOW)


def status_of(journey: Journey) -> dict[str, str]:
    return {s.name.value: s.status.value for s in journey.steps}


def dispatched(journey: Journey) -> tuple[Journey, DispatchParse]:
    plan = advance(journey, World(file=FILE), ids(), NOW)
    dispatch = next(a for a in plan.actions if isinstance(a, DispatchParse))
    return plan.journey, dispatch


def parsed(journey: Journey) -> Journey:
    j, dispatch = dispatched(journey)
    done = IntentFact(dispatch.intent_id, IntentStatus.COMPLETED, dispatch.execution_id, "parsed_1")
    return advance(j, World(file=FILE, intent=done, parsed=PARSED), ids(), NOW).journey


def intent_world(journey: Journey, status: IntentStatus, parsed: ArtifactFact | None = PARSED) -> World:
    step = journey.step(StepName.PARSE)
    result = "parsed_1" if status == IntentStatus.COMPLETED else None
    return World(file=FILE, intent=IntentFact(journey.intent_id or "", status, step.execution_id, result), parsed=parsed)


def test_steps_are_the_seed_journey_in_order():
    assert [s.name for s in start().steps] == list(STEP_ORDER) == [
        StepName.INGEST, StepName.SELECT_PROFILE, StepName.PARSE, StepName.APPROVAL, StepName.SAVE_FILE, StepName.SAVE_PARSED]


def test_start_params_take_exactly_one_source():
    with pytest.raises(ValueError):
        StartJourneyParams.model_validate({"ingestion_profile": "structured"})
    with pytest.raises(ValueError):
        StartJourneyParams.model_validate({"file_id": "f", "upload_id": "u"})
    with pytest.raises(ValueError):
        StartJourneyParams.model_validate({"file_id": "f", "save": "sometimes"})
    assert StartJourneyParams.model_validate({"upload_id": "upl_1"}).save == "manual"


def test_an_ingested_file_runs_through_profile_to_a_dispatched_parse_in_one_advance():
    plan = advance(start(), World(file=FILE), ids(), NOW)
    j = plan.journey
    assert status_of(j) == {"ingest": "completed", "select_profile": "completed", "parse": "running",
                            "approval": "pending", "save_file": "pending", "save_parsed_content": "pending"}
    assert j.step(StepName.INGEST).execution_id == "exec_ingest"  # the ingest's own execution
    create, dispatch = plan.actions
    assert isinstance(create, CreateIntent) and not create.adopted and create.file_id == "file_1"
    assert isinstance(dispatch, DispatchParse) and dispatch.intent_id == create.intent_id == j.intent_id
    assert j.step(StepName.SELECT_PROFILE).execution_id == create.execution_id
    assert j.step(StepName.PARSE).execution_id == dispatch.execution_id
    assert plan.changed and j.version == 1 and j.status == JourneyStatus.RUNNING and j.active


def test_a_journey_on_an_upload_waits_for_its_ingest_then_goes_on():
    j = start(upload_id="upl_1")
    waiting = advance(j, World(upload=UploadFact("upl_1", UploadStatus.AWAITING_UPLOAD)), ids(), NOW)
    assert waiting.journey.step(StepName.INGEST).status == StepStatus.WAITING and waiting.actions == []
    again = advance(waiting.journey, World(upload=UploadFact("upl_1", UploadStatus.AWAITING_UPLOAD)), ids(), NOW)
    assert not again.changed  # nothing new: no write
    ingested = advance(waiting.journey, World(upload=UploadFact("upl_1", UploadStatus.INGESTED, "file_1"), file=FILE), ids(), NOW)
    assert ingested.journey.file_id == "file_1"
    assert [type(a) for a in ingested.actions] == [CreateIntent, DispatchParse]


def test_a_rejected_upload_fails_the_journey_with_its_reason():
    j = advance(start(upload_id="upl_1"), World(upload=UploadFact("upl_1", UploadStatus.REJECTED, reason="The uploaded file is empty.")),
                ids(), NOW).journey
    assert j.status == JourneyStatus.FAILED and j.error_code == "UPLOAD_REJECTED" and j.error == "The uploaded file is empty."
    assert j.compensation == Compensation.DONE and not j.active
    assert all(s.compensation == Compensation.NOT_NEEDED for s in j.steps)


def test_an_upload_profile_choice_is_adopted_and_its_dispatch_followed():
    j = start(upload_id="upl_1")
    upload = UploadFact("upl_1", UploadStatus.INGESTED, "file_1", intent_id="intent_up")
    busy = IntentFact("intent_up", IntentStatus.IN_PROGRESS, "exec_auto")
    plan = advance(j, World(upload=upload, file=FILE, intent=busy), ids(), NOW)
    (create,) = plan.actions  # no second dispatch: the upload's own choice is already parsing
    assert isinstance(create, CreateIntent) and create.adopted and create.intent_id == "intent_up"
    assert plan.journey.step(StepName.PARSE).execution_id == "exec_auto"
    assert plan.journey.step(StepName.PARSE).status == StepStatus.RUNNING


def test_manual_save_waits_for_approval_and_persists_nothing_before_it():
    j = parsed(start("manual"))
    assert j.status == JourneyStatus.AWAITING_APPROVAL and not j.active
    assert j.step(StepName.APPROVAL).status == StepStatus.WAITING
    assert j.step(StepName.SAVE_FILE).status == StepStatus.PENDING
    assert j.parsed_artifact_id == "parsed_1" and j.step(StepName.PARSE).artifact_id == "parsed_1"
    unapproved = advance(j, intent_world(j, IntentStatus.COMPLETED), ids(), NOW)
    assert not unapproved.changed and unapproved.actions == []  # no save is ever sent without approval

    approved = approve(j, "exec_approve", NOW)
    plan = advance(approved, intent_world(approved, IntentStatus.COMPLETED), ids(), NOW)
    assert plan.journey.status == JourneyStatus.RUNNING
    assert plan.journey.step(StepName.APPROVAL).execution_id == "exec_approve"
    assert plan.actions == [StartStep(StepName.SAVE_FILE, "file_1", 1)]


def test_auto_save_skips_approval_and_saves_file_then_parsed_content():
    j = parsed(start("auto"))
    assert j.step(StepName.APPROVAL).status == StepStatus.SKIPPED
    assert j.step(StepName.SAVE_FILE).status == StepStatus.RUNNING
    world = intent_world(j, IntentStatus.COMPLETED)
    j = step_succeeded(j, StepName.SAVE_FILE, "exec_save_1", NOW)
    plan = advance(j, world, ids(), NOW)
    assert plan.actions == [StartStep(StepName.SAVE_PARSED, "parsed_1", 1)]
    done = advance(step_succeeded(plan.journey, StepName.SAVE_PARSED, "exec_save_2", NOW), world, ids(), NOW).journey
    assert done.status == JourneyStatus.COMPLETED and not done.active
    assert [s.execution_id for s in done.steps if s.name in (StepName.SAVE_FILE, StepName.SAVE_PARSED)] == ["exec_save_1", "exec_save_2"]


def test_an_ended_journey_is_given_a_purge_time_and_a_running_one_none():
    """Journeys do not pile up: once one ends, Firestore's TTL (infra/firestore_indexes.json) removes it after
    JOURNEY_DAYS; while it runs or compensates it has no purge time."""
    from datetime import timedelta

    from shared.domain.retention import JOURNEY_DAYS

    j = parsed(start("auto"))
    assert j.active and j.purge_at is None
    world = intent_world(j, IntentStatus.COMPLETED)
    j = advance(step_succeeded(j, StepName.SAVE_FILE, "exec_save_1", NOW), world, ids(), NOW).journey
    assert j.active and j.purge_at is None
    done = advance(step_succeeded(j, StepName.SAVE_PARSED, "exec_save_2", NOW), world, ids(), NOW).journey
    assert done.status == JourneyStatus.COMPLETED and not done.active
    assert done.purge_at == NOW + timedelta(days=JOURNEY_DAYS)
    later = advance(done, world, ids(), NOW + timedelta(days=3)).journey
    assert later.purge_at == done.purge_at  # set once, when it ended


def test_duplicate_reports_change_nothing():
    j = parsed(start("auto"))
    once = step_succeeded(j, StepName.SAVE_FILE, "exec_save_1", NOW)
    assert once is not None
    assert step_succeeded(once, StepName.SAVE_FILE, "exec_save_again", NOW) is None
    assert step_failed(once, StepName.SAVE_FILE, "x", "E", "m", NOW) is None
    assert step_succeeded(j, StepName.PARSE, "x", NOW) is None  # only saves report this way
    world = intent_world(j, IntentStatus.COMPLETED)
    first = advance(j, world, ids(), NOW)
    assert not first.changed and first.actions == []  # the same observation twice moves nothing


def test_a_parse_failure_fails_the_journey_and_nothing_is_left_to_undo():
    j, _ = dispatched(start())
    failed = IntentFact(j.intent_id or "", IntentStatus.FAILED, "exec_p", error="The file is empty.", error_code="EMPTY_FILE")
    out = advance(j, World(file=FILE, intent=failed), ids(), NOW).journey
    assert out.status == JourneyStatus.FAILED and out.error_code == "EMPTY_FILE"
    assert out.step(StepName.PARSE).status == StepStatus.FAILED
    assert {s.status for s in out.steps[3:]} == {StepStatus.CANCELLED}
    assert out.compensation == Compensation.DONE


def test_cancel_after_parse_discards_the_parsed_working_material_in_reverse_order():
    j = cancel(parsed(start()), "exec_cancel", NOW)
    plan = advance(j, intent_world(j, IntentStatus.COMPLETED), ids(), NOW)
    assert plan.journey.status == JourneyStatus.CANCELLED and plan.journey.active
    assert plan.actions == [StartStep(StepName.PARSE, "parsed_1", 1, compensate=True)]
    steps = plan.journey.steps
    assert [s.compensation for s in steps][2:] == [Compensation.RUNNING, Compensation.NOT_NEEDED,
                                                   Compensation.NOT_NEEDED, Compensation.NOT_NEEDED]
    assert steps[0].compensation is None and steps[1].compensation is None  # earlier steps wait their turn
    finished = compensation_finished(plan.journey, StepName.PARSE, "exec_discard", kept=False, now=NOW)
    assert finished is not None
    assert compensation_finished(finished, StepName.PARSE, "exec_again", kept=False, now=NOW) is None
    gone = ArtifactFact("parsed_1", LifecycleState.DELETED)
    done = advance(finished, intent_world(finished, IntentStatus.COMPLETED, gone), ids(), NOW).journey
    assert done.compensation == Compensation.DONE and not done.active
    assert done.step(StepName.PARSE).compensation == Compensation.DONE
    assert done.step(StepName.PARSE).compensation_execution_id == "exec_discard"
    assert done.step(StepName.INGEST).compensation == Compensation.NOT_NEEDED  # the user's upload is not undone
    order = [e.step for e in done.history if e.what.startswith("compensation_") and e.what != "compensation_running"]
    assert order == [s.value for s in reversed(STEP_ORDER)]


def test_a_parsed_artifact_saved_meanwhile_is_kept_on_cancel():
    j = cancel(parsed(start()), "exec_cancel", NOW)
    ready = ArtifactFact("parsed_1", LifecycleState.READY)
    plan = advance(j, intent_world(j, IntentStatus.COMPLETED, ready), ids(), NOW)
    assert plan.actions == [] and plan.journey.step(StepName.PARSE).compensation == Compensation.KEPT


def test_cancel_during_a_parse_waits_for_it_and_then_discards_its_result():
    j, _ = dispatched(start())
    j = cancel(j, "exec_cancel", NOW)
    waiting = advance(j, intent_world(j, IntentStatus.IN_PROGRESS, None), ids(), NOW)
    assert waiting.actions == [] and waiting.journey.step(StepName.PARSE).compensation == Compensation.AWAITING_RESULT
    assert waiting.journey.active  # the sweep keeps an eye on it
    landed = advance(waiting.journey, intent_world(waiting.journey, IntentStatus.COMPLETED), ids(), NOW)
    assert landed.journey.step(StepName.PARSE).status == StepStatus.COMPLETED
    assert landed.actions == [StartStep(StepName.PARSE, "parsed_1", 1, compensate=True)]
    assert landed.journey.status == JourneyStatus.CANCELLED  # a late result never revives a cancelled journey


def test_cancel_before_the_parse_cancels_the_pending_intent():
    j = start(upload_id="upl_1")
    upload = UploadFact("upl_1", UploadStatus.INGESTED, "file_1", intent_id="intent_up")
    j = j.model_copy(update={"intent_id": "intent_up"})
    j.step(StepName.INGEST).status = StepStatus.COMPLETED
    j.step(StepName.SELECT_PROFILE).status = StepStatus.COMPLETED
    j = cancel(j, "exec_cancel", NOW)
    plan = advance(j, World(upload=upload, file=FILE, intent=IntentFact("intent_up", IntentStatus.PENDING)), ids(), NOW)
    assert plan.actions == [CancelIntent("intent_up")]
    assert plan.journey.step(StepName.SELECT_PROFILE).compensation == Compensation.DONE
    assert plan.journey.compensation == Compensation.DONE


def test_a_failed_save_keeps_the_saved_file_and_discards_the_parse():
    j = parsed(start("auto"))
    world = intent_world(j, IntentStatus.COMPLETED)
    j = advance(step_succeeded(j, StepName.SAVE_FILE, "exec_s1", NOW), world, ids(), NOW).journey
    failed = step_failed(j, StepName.SAVE_PARSED, "exec_s2", "PAYLOAD_EXPIRED", "expired", NOW)
    assert failed is not None
    plan = advance(failed, world, ids(), NOW)
    out = plan.journey
    assert out.status == JourneyStatus.FAILED and out.error_code == "PAYLOAD_EXPIRED"
    assert out.step(StepName.SAVE_FILE).compensation == Compensation.KEPT  # a READY record is never undone
    assert out.step(StepName.SAVE_PARSED).compensation == Compensation.NOT_NEEDED
    assert plan.actions == [StartStep(StepName.PARSE, "parsed_1", 1, compensate=True)]


def test_approval_and_cancel_refusals():
    auto = parsed(start("auto"))
    with pytest.raises(Conflict) as exc:
        approve(auto, "e", NOW)
    assert exc.value.code == "JOURNEY_SAVES_AUTOMATICALLY"
    with pytest.raises(Conflict) as exc:
        cancel(auto, "e", NOW)  # saving began
    assert exc.value.code == "JOURNEY_SAVING"
    manual = parsed(start("manual"))
    once = approve(manual, "e1", NOW)
    assert approve(once, "e2", NOW).approval_execution_id == "e1"  # approving twice changes nothing
    cancelled = cancel(manual, "c1", NOW)
    assert cancel(cancelled, "c2", NOW) is cancelled
    with pytest.raises(Conflict) as exc:
        approve(cancelled, "e", NOW)
    assert exc.value.code == "JOURNEY_NOT_ACTIVE"
    completed = manual.model_copy(update={"status": JourneyStatus.COMPLETED})
    with pytest.raises(Conflict) as exc:
        cancel(completed, "c", NOW)
    assert exc.value.code == "JOURNEY_COMPLETED"


def test_approval_given_early_is_kept_for_the_approval_step():
    j, _ = dispatched(start("manual"))
    early = approve(j, "exec_early", NOW)
    done = advance(early, intent_world(early, IntentStatus.COMPLETED), ids(), NOW)
    assert done.journey.step(StepName.APPROVAL).status == StepStatus.COMPLETED
    assert done.actions == [StartStep(StepName.SAVE_FILE, "file_1", 1)]


def test_redrive_resends_out_of_transaction_work_under_a_new_round():
    j = parsed(start("auto"))
    again, actions = redrive(j, NOW)
    assert actions == [StartStep(StepName.SAVE_FILE, "file_1", 2)]
    assert again.step(StepName.SAVE_FILE).round == 2
    idle = parsed(start("manual"))
    assert redrive(idle, NOW)[1] == []  # awaiting the user: nothing to resend


def test_a_profile_intent_cancelled_elsewhere_fails_the_journey():
    j, _ = dispatched(start())
    j.step(StepName.PARSE).status = StepStatus.PENDING
    out = advance(j, World(file=FILE, intent=IntentFact(j.intent_id or "", IntentStatus.CANCELLED)), ids(), NOW).journey
    assert out.status == JourneyStatus.FAILED and out.error_code == "INTENT_CANCELLED"


def test_the_public_view_has_the_contract_fields():
    view = parsed(start()).view()
    assert {"journey_id", "journey_type", "status", "steps", "artifacts"} <= set(view)
    assert view["journey_type"] == "journey_content_file_upload_materialization"
    assert view["artifacts"] == {"file": "file_1", "parsed_content": "parsed_1"}
    assert view["steps"][2]["name"] == "parse" and view["steps"][2]["artifact_id"] == "parsed_1"
    assert "error" not in view
