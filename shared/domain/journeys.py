"""The saga of `journey_content_file_upload_materialization`: ingest → select profile → parse → approval → save.

Pure. A journey is a document with ordered steps; each step is an intent execution. `advance` looks at what the
platform holds now (the upload, the file, the profile intent, the parsed artifact) and moves the journey as far as
that allows, returning the effects to stage in the same transaction. Because it is driven by state, not by counting
events, a duplicate or late event changes nothing, and any crash is repaired by running it again.

On cancel or a permanent failure the steps are compensated one by one in reverse order: working material the journey
derived is discarded, a pending intent it made is cancelled, a READY record of fact is always kept.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.domain.errors import Conflict
from shared.domain.journey_model import (
    STEP_ORDER,
    Action,
    CancelIntent,
    Compensation,
    CreateIntent,
    DispatchParse,
    IntentFact,
    Journey,
    JourneyEntry,
    JourneyStatus,
    JourneyStep,
    NewId,
    Plan,
    StartJourneyParams,
    StartStep,
    StepName,
    StepStatus,
    World,
)
from shared.domain.retention import journey_purge_at
from shared.domain.states import IntentStatus, LifecycleState, UploadStatus

_FINISHED_COMPENSATIONS = frozenset({Compensation.DONE, Compensation.KEPT, Compensation.NOT_NEEDED})
_DONE_STEPS = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})
_SAVE_STEPS = (StepName.SAVE_FILE, StepName.SAVE_PARSED)



def new_journey(
    journey_id: str, tenant_id: str, session_id: str, user_id: str, params: StartJourneyParams, now: datetime,
    *, intent_id: str | None = None, solution_id: str = "default", start_execution_id: str | None = None,
) -> Journey:
    return Journey(
        journey_id=journey_id, tenant_id=tenant_id, session_id=session_id, user_id=user_id, solution_id=solution_id,
        save=params.save, ingestion_profile=params.ingestion_profile, parse_options=dict(params.parse_options or {}),
        upload_id=params.upload_id, file_id=params.file_id, intent_id=intent_id,
        steps=[JourneyStep(name=name) for name in STEP_ORDER], created_at=now, updated_at=now,
        start_execution_id=start_execution_id,
        history=[JourneyEntry(at=now, what="started", detail={"save": params.save,
                                                              "source": "file" if params.file_id else "upload"})],
    )


# ---- moving forward ----------------------------------------------------------------------------------------------


class _Run:
    """One advance over a working copy of the journey."""

    def __init__(self, journey: Journey, world: World, new_id: NewId, now: datetime):
        self.j = journey.model_copy(deep=True)
        self.world = world
        self.new_id = new_id
        self.now = now
        self.actions: list[Action] = []

    def note(self, what: str, step: JourneyStep | None = None, **detail: Any) -> None:
        self.j.history.append(JourneyEntry(at=self.now, what=what, step=step.name.value if step else None, detail=detail))

    def start(self, step: JourneyStep, status: StepStatus = StepStatus.RUNNING, **changes: Any) -> None:
        step.status = status
        step.started_at = step.started_at or self.now
        for key, value in changes.items():
            setattr(step, key, value)
        self.note(f"step_{status.value}", step)

    def complete(self, step: JourneyStep, **changes: Any) -> None:
        step.started_at = step.started_at or self.now
        step.status = StepStatus.COMPLETED
        step.finished_at = self.now
        for key, value in changes.items():
            setattr(step, key, value)
        self.note("step_completed", step, execution_id=step.execution_id, artifact_id=step.artifact_id)

    def fail(self, step: JourneyStep, code: str, message: str) -> None:
        step.status = StepStatus.FAILED
        step.finished_at = self.now
        step.error, step.error_code = message, code
        self.j.status = JourneyStatus.FAILED
        self.j.error, self.j.error_code = message, code
        for later in self.j.steps:
            if later.status in (StepStatus.PENDING, StepStatus.WAITING):
                later.status = StepStatus.CANCELLED
        self.note("failed", step, error_code=code, error=message)

    # each returns True to go on to the next step, False to stop here

    def ingest(self, step: JourneyStep) -> bool:
        file = self.world.file
        if file is not None:
            if file.lifecycle_state in (LifecycleState.DELETED, LifecycleState.REJECTED):
                self.fail(step, "FILE_UNAVAILABLE", f"The file {file.artifact_id} is {file.lifecycle_state.value}.")
                return False
            self.j.file_id = file.artifact_id
            self.complete(step, artifact_id=file.artifact_id, execution_id=file.execution_id)
            return True
        upload = self.world.upload
        if upload is not None and upload.status == UploadStatus.REJECTED:
            self.fail(step, "UPLOAD_REJECTED", upload.reason or "The upload was rejected.")
            return False
        if self.j.file_id is not None or (upload is not None and upload.status == UploadStatus.INGESTED):
            self.fail(step, "FILE_UNAVAILABLE", "The file no longer exists.")
            return False
        if step.status != StepStatus.WAITING:
            self.start(step, StepStatus.WAITING)
        return False

    def select_profile(self, step: JourneyStep) -> bool:
        assert self.j.file_id is not None
        adopt = self.j.intent_id or (self.world.upload.intent_id if self.world.upload else None)
        if adopt is not None and self.world.intent is None:
            self.fail(step, "INTENT_MISSING", f"The profile choice {adopt} no longer exists.")
            return False
        intent_id = adopt or self.new_id("intent")
        execution_id = self.new_id("exec")
        self.actions.append(CreateIntent(intent_id, execution_id, self.j.file_id, adopted=adopt is not None))
        if adopt is None:
            self.world = replace(self.world, intent=IntentFact(intent_id, IntentStatus.PENDING))
        self.j.intent_id = intent_id
        self.complete(step, intent_id=intent_id, execution_id=execution_id)
        return True

    def parse(self, step: JourneyStep) -> bool:
        intent = self.world.intent
        if intent is None or intent.intent_id != self.j.intent_id:
            self.fail(step, "INTENT_MISSING", f"The profile choice {self.j.intent_id} no longer exists.")
            return False
        if intent.status == IntentStatus.CANCELLED:
            self.fail(step, "INTENT_CANCELLED", f"The profile choice {intent.intent_id} was cancelled outside the journey.")
            return False
        if step.status == StepStatus.PENDING:
            if intent.status == IntentStatus.PENDING:
                execution_id = self.new_id("exec")
                assert self.j.file_id is not None
                self.actions.append(DispatchParse(intent.intent_id, execution_id, self.j.file_id))
                self.start(step, intent_id=intent.intent_id, execution_id=execution_id)
                return False
            # dispatched by someone else first (an upload's own profile choice): follow that execution
            self.start(step, intent_id=intent.intent_id, execution_id=intent.execution_id)
        return self._parse_result(step, intent)

    def _parse_result(self, step: JourneyStep, intent: IntentFact) -> bool:
        if intent.status == IntentStatus.COMPLETED and intent.result_artifact_id:
            self.j.parsed_artifact_id = intent.result_artifact_id
            self.complete(step, artifact_id=intent.result_artifact_id, execution_id=intent.execution_id or step.execution_id)
            return True
        if intent.status == IntentStatus.FAILED:
            self.fail(step, intent.error_code or "PARSE_FAILED", intent.error or "The parse failed.")
            return False
        return False

    def approval(self, step: JourneyStep) -> bool:
        if self.j.save == "auto":
            step.status = StepStatus.SKIPPED
            self.note("step_skipped", step)
            return True
        if self.j.approved:
            if self.j.status == JourneyStatus.AWAITING_APPROVAL:
                self.j.status = JourneyStatus.RUNNING
            self.complete(step, execution_id=self.j.approval_execution_id)
            return True
        if step.status != StepStatus.WAITING:
            self.start(step, StepStatus.WAITING)
        if self.j.status != JourneyStatus.AWAITING_APPROVAL:
            self.j.status = JourneyStatus.AWAITING_APPROVAL
            self.note("awaiting_approval")
        return False

    def save(self, step: JourneyStep) -> bool:
        if step.status == StepStatus.PENDING:
            artifact_id = self.j.file_id if step.name == StepName.SAVE_FILE else self.j.parsed_artifact_id
            assert artifact_id is not None
            self.start(step, artifact_id=artifact_id, round=step.round + 1)
            self.actions.append(StartStep(step.name, artifact_id, step.round))
        return False  # the consumer runs the save and reports back (`step_succeeded` / `step_failed`)

    def forward(self) -> None:
        handlers = {StepName.INGEST: self.ingest, StepName.SELECT_PROFILE: self.select_profile,
                    StepName.PARSE: self.parse, StepName.APPROVAL: self.approval,
                    StepName.SAVE_FILE: self.save, StepName.SAVE_PARSED: self.save}
        for step in self.j.steps:
            if step.status in _DONE_STEPS:
                continue
            if not handlers[step.name](step):
                break
        else:
            self.j.status = JourneyStatus.COMPLETED
            self.note("completed")
        if self.j.status in (JourneyStatus.FAILED, JourneyStatus.CANCELLED):
            self.compensate()

    # ---- compensation, one step at a time in reverse order ----------------------------------------------------

    def compensate(self) -> None:
        if self.j.compensation == Compensation.DONE:
            return
        if self.j.compensation is None:
            self.j.compensation = Compensation.RUNNING
            self.note("compensating")
        for step in reversed(self.j.steps):
            if step.compensation in _FINISHED_COMPENSATIONS:
                continue
            if step.compensation == Compensation.RUNNING:
                return  # its compensating execution reports back
            if not self._compensate_step(step):
                return
        self.j.compensation = Compensation.DONE
        self.note("compensated")

    def _settle(self, step: JourneyStep, how: Compensation, **detail: Any) -> bool:
        step.compensation = how
        self.note(f"compensation_{how.value}", step, **detail)
        return True

    def _compensate_step(self, step: JourneyStep) -> bool:
        if step.name in _SAVE_STEPS:
            # A save that completed made a record of fact: never undone.
            return self._settle(step, Compensation.KEPT if step.status == StepStatus.COMPLETED else Compensation.NOT_NEEDED)
        if step.name == StepName.PARSE:
            return self._compensate_parse(step)
        if step.name == StepName.SELECT_PROFILE:
            intent = self.world.intent
            if step.status == StepStatus.COMPLETED and intent is not None and intent.status == IntentStatus.PENDING:
                self.actions.append(CancelIntent(intent.intent_id))
                return self._settle(step, Compensation.DONE, intent_id=intent.intent_id)
            return self._settle(step, Compensation.NOT_NEEDED)
        # ingest: the file is the user's upload, not something the journey derived; approval leaves nothing
        return self._settle(step, Compensation.NOT_NEEDED)

    def _compensate_parse(self, step: JourneyStep) -> bool:
        if step.status == StepStatus.RUNNING:
            intent = self.world.intent
            if intent is not None and intent.status in (IntentStatus.PENDING, IntentStatus.IN_PROGRESS):
                if step.compensation != Compensation.AWAITING_RESULT:
                    step.compensation = Compensation.AWAITING_RESULT
                    self.note("compensation_awaiting_result", step)
                return False  # the parse cannot be stopped mid-way; its result is discarded when it lands
            if intent is not None and intent.status == IntentStatus.COMPLETED and intent.result_artifact_id:
                self.j.parsed_artifact_id = intent.result_artifact_id
                self.complete(step, artifact_id=intent.result_artifact_id,
                              execution_id=intent.execution_id or step.execution_id)
            else:  # it ended without a result: nothing was derived
                step.status = StepStatus.FAILED
                step.finished_at = self.now
                return self._settle(step, Compensation.NOT_NEEDED)
        if step.status != StepStatus.COMPLETED or step.artifact_id is None:
            return self._settle(step, Compensation.NOT_NEEDED)
        parsed = self.world.parsed
        if parsed is not None and parsed.lifecycle_state == LifecycleState.READY:
            return self._settle(step, Compensation.KEPT, artifact_id=parsed.artifact_id)
        if parsed is None or parsed.lifecycle_state == LifecycleState.DELETED:
            return self._settle(step, Compensation.DONE, artifact_id=step.artifact_id, already_gone=True)
        step.compensation = Compensation.RUNNING
        step.round += 1
        self.actions.append(StartStep(step.name, step.artifact_id, step.round, compensate=True))
        self.note("compensation_running", step, artifact_id=step.artifact_id)
        return False


def _finish(before: Journey, run: _Run) -> Plan:
    j = run.j
    j.active = j.status == JourneyStatus.RUNNING or j.compensation in (Compensation.RUNNING,)
    j.purge_at = None if j.active else (j.purge_at or journey_purge_at(run.now))
    changed = j.model_dump(exclude={"updated_at", "version"}) != before.model_dump(exclude={"updated_at", "version"})
    if changed:
        j.updated_at = run.now
        j.version = before.version + 1
    return Plan(j, run.actions, changed, j.status != before.status)


def advance(journey: Journey, world: World, new_id: NewId, now: datetime) -> Plan:
    """Move the journey as far as the world allows. A journey with nothing to do comes back unchanged."""
    run = _Run(journey, world, new_id, now)
    if journey.status == JourneyStatus.COMPLETED:
        return Plan(journey)
    if journey.status in (JourneyStatus.FAILED, JourneyStatus.CANCELLED):
        run.compensate()
    else:
        run.forward()
    return _finish(journey, run)


# ---- what the user and the step runner report -----------------------------------------------------------------------


def approve(journey: Journey, execution_id: str, now: datetime) -> Journey:
    """The user's save approval. Approving before the journey reaches the approval step is kept for when it does."""
    if journey.save == "auto":
        raise Conflict("This journey saves automatically; it has no approval to give.", code="JOURNEY_SAVES_AUTOMATICALLY")
    if journey.approved:
        return journey  # approving twice changes nothing
    if journey.status in (JourneyStatus.FAILED, JourneyStatus.CANCELLED):
        raise Conflict(f"The journey is {journey.status.value}; there is nothing left to approve.", code="JOURNEY_NOT_ACTIVE")
    j = journey.model_copy(deep=True)
    j.approved = True
    j.approval_execution_id = execution_id
    j.history.append(JourneyEntry(at=now, what="approved", step=StepName.APPROVAL.value, detail={"execution_id": execution_id}))
    return j


def cancel(journey: Journey, execution_id: str, now: datetime) -> Journey:
    """Stop the journey; `advance` then compensates. Refused once saving began: a record of fact is never undone."""
    if journey.status == JourneyStatus.CANCELLED:
        return journey  # cancelling twice changes nothing
    if journey.status == JourneyStatus.COMPLETED:
        raise Conflict("The journey completed: its records of fact are never undone.", code="JOURNEY_COMPLETED")
    if journey.status == JourneyStatus.FAILED:
        raise Conflict("The journey already failed and was compensated.", code="JOURNEY_NOT_ACTIVE")
    if any(journey.step(name).status in (StepStatus.RUNNING, StepStatus.COMPLETED) for name in _SAVE_STEPS):
        raise Conflict("The journey is saving: a record of fact is never undone.", code="JOURNEY_SAVING")
    j = journey.model_copy(deep=True)
    j.status = JourneyStatus.CANCELLED
    for step in j.steps:
        if step.status in (StepStatus.PENDING, StepStatus.WAITING):
            step.status = StepStatus.CANCELLED
    j.history.append(JourneyEntry(at=now, what="cancelled", detail={"execution_id": execution_id}))
    return j


def step_succeeded(journey: Journey, step_name: StepName, execution_id: str, now: datetime) -> Journey | None:
    """A save ran to the end. None when the step was no longer waiting for it (a duplicate report)."""
    step = journey.step(step_name)
    if step.status != StepStatus.RUNNING or step_name not in _SAVE_STEPS:
        return None
    j = journey.model_copy(deep=True)
    s = j.step(step_name)
    s.status, s.execution_id, s.finished_at = StepStatus.COMPLETED, execution_id, now
    j.history.append(JourneyEntry(at=now, what="step_completed", step=step_name.value, detail={"execution_id": execution_id}))
    return j


def step_failed(journey: Journey, step_name: StepName, execution_id: str, code: str, message: str,
                now: datetime) -> Journey | None:
    """A save was refused for good (e.g. the working material expired): the journey fails and compensates."""
    step = journey.step(step_name)
    if step.status != StepStatus.RUNNING or step_name not in _SAVE_STEPS:
        return None
    j = journey.model_copy(deep=True)
    j.step(step_name).execution_id = execution_id
    run = _Run(j, World(), lambda prefix: prefix, now)
    run.fail(run.j.step(step_name), code, message)
    return run.j


def compensation_finished(journey: Journey, step_name: StepName, execution_id: str, kept: bool,
                          now: datetime) -> Journey | None:
    step = journey.step(step_name)
    if step.compensation != Compensation.RUNNING:
        return None
    j = journey.model_copy(deep=True)
    s = j.step(step_name)
    s.compensation = Compensation.KEPT if kept else Compensation.DONE
    s.compensation_execution_id = execution_id
    j.history.append(JourneyEntry(at=now, what=f"compensation_{s.compensation.value}", step=step_name.value,
                                  detail={"execution_id": execution_id}))
    return j


def redrive(journey: Journey, now: datetime) -> tuple[Journey, list[Action]]:
    """The sweep found the journey idle too long: send again whatever out-of-transaction work it waits on.

    The new round gives the resent work a new event id; the work itself is idempotent."""
    j = journey.model_copy(deep=True)
    actions: list[Action] = []
    for step in j.steps:
        if step.compensation == Compensation.RUNNING and step.artifact_id:
            step.round += 1
            actions.append(StartStep(step.name, step.artifact_id, step.round, compensate=True))
        elif step.status == StepStatus.RUNNING and step.name in _SAVE_STEPS and step.artifact_id \
                and j.status == JourneyStatus.RUNNING:
            step.round += 1
            actions.append(StartStep(step.name, step.artifact_id, step.round))
    if actions:
        j.history.append(JourneyEntry(at=now, what="redriven", detail={"steps": [a.step.value for a in actions
                                                                                    if isinstance(a, StartStep)]}))
    return j, actions
