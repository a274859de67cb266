"""The journey document and its vocabulary: statuses, steps, compensations, and the parameters that start or name
a journey. `shared.domain.journeys` moves it; adapters store it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.domain.intents import IngestionProfile, Params, StorableMap
from shared.domain.states import IntentStatus, LifecycleState, UploadStatus

JourneyType = Literal["journey_content_file_upload_materialization"]
JOURNEY_TYPE: JourneyType = "journey_content_file_upload_materialization"
SaveMode = Literal["manual", "auto"]


class JourneyStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepName(StrEnum):
    INGEST = "ingest"
    SELECT_PROFILE = "select_profile"
    PARSE = "parse"
    APPROVAL = "approval"
    SAVE_FILE = "save_file"
    SAVE_PARSED = "save_parsed_content"


STEP_ORDER: tuple[StepName, ...] = tuple(StepName)


class StepStatus(StrEnum):
    PENDING = "pending"  # not reached yet
    WAITING = "waiting"  # reached; waits on the user (an upload, an approval)
    RUNNING = "running"  # its execution is under way
    COMPLETED = "completed"
    SKIPPED = "skipped"  # not part of this journey (approval when save is auto)
    FAILED = "failed"
    CANCELLED = "cancelled"  # never ran: the journey stopped first


class Compensation(StrEnum):
    AWAITING_RESULT = "awaiting_result"  # the step's execution is still running; compensated once it ends
    RUNNING = "running"  # a compensating execution is under way
    DONE = "done"  # undone: working material discarded, or a pending intent cancelled
    KEPT = "kept"  # a READY record of fact is never undone
    NOT_NEEDED = "not_needed"  # the step left nothing of the journey's own making



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JourneyStep(_Strict):
    name: StepName
    status: StepStatus = StepStatus.PENDING
    execution_id: str | None = None
    artifact_id: str | None = None
    intent_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    error_code: str | None = None
    round: int = 0  # how often the step's work was sent; a re-drive sends it again under a new round
    compensation: Compensation | None = None
    compensation_execution_id: str | None = None

    def view(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name.value, "status": self.status.value}
        for key in ("execution_id", "artifact_id", "intent_id", "error", "error_code", "compensation_execution_id"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.compensation is not None:
            body["compensation"] = self.compensation.value
        for key in ("started_at", "finished_at"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value.isoformat()
        return body


class JourneyEntry(_Strict):
    at: datetime
    what: str
    step: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Journey(_Strict):
    journey_id: str
    journey_type: JourneyType = JOURNEY_TYPE
    tenant_id: str
    session_id: str
    user_id: str
    solution_id: str = "default"
    status: JourneyStatus = JourneyStatus.RUNNING
    save: SaveMode = "manual"
    ingestion_profile: IngestionProfile | None = None  # None: the journey resumes an existing profile choice
    parse_options: dict[str, Any] = Field(default_factory=dict)
    upload_id: str | None = None
    file_id: str | None = None
    intent_id: str | None = None
    parsed_artifact_id: str | None = None
    approved: bool = False
    approval_execution_id: str | None = None
    steps: list[JourneyStep]
    error: str | None = None
    error_code: str | None = None
    compensation: Compensation | None = None  # RUNNING while the compensations run, DONE when all ended
    active: bool = True  # has work the platform owes it (what the sweep looks at)
    purge_at: datetime | None = None  # set once it ends: Firestore's TTL removes it then (retention.JOURNEY_DAYS)
    history: list[JourneyEntry] = Field(default_factory=list)
    start_execution_id: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def step(self, name: StepName | str) -> JourneyStep:
        return next(s for s in self.steps if s.name == name)

    def view(self) -> dict[str, Any]:
        """The public shape: GET /v1/journeys/{journey_id}."""
        body: dict[str, Any] = {
            "journey_id": self.journey_id, "journey_type": self.journey_type, "status": self.status.value,
            "save": self.save, "ingestion_profile": self.ingestion_profile, "upload_id": self.upload_id,
            "file_id": self.file_id, "intent_id": self.intent_id, "approved": self.approved,
            "steps": [s.view() for s in self.steps],
            "artifacts": {"file": self.file_id, "parsed_content": self.parsed_artifact_id},
            "compensation": self.compensation.value if self.compensation else None,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }
        if self.error is not None:
            body["error"] = self.error
            body["error_code"] = self.error_code
        return body


class StartJourneyParams(Params):
    """The body of POST /v1/journeys."""

    file_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    upload_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    ingestion_profile: IngestionProfile | None = None
    parse_options: StorableMap | None = None
    save: SaveMode = "manual"

    @model_validator(mode="after")
    def _one_source(self) -> StartJourneyParams:
        if (self.file_id is None) == (self.upload_id is None):
            raise PydanticCustomError("one_source", "give exactly one of file_id or upload_id")
        return self


class JourneyRef(Params):
    journey_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")


# ---- what the platform holds now -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadFact:
    upload_id: str
    status: UploadStatus
    file_id: str | None = None
    reason: str | None = None
    intent_id: str | None = None  # a profile chosen with the upload request


@dataclass(frozen=True)
class ArtifactFact:
    artifact_id: str
    lifecycle_state: LifecycleState
    execution_id: str | None = None  # the execution that produced it


@dataclass(frozen=True)
class IntentFact:
    intent_id: str
    status: IntentStatus
    execution_id: str | None = None
    result_artifact_id: str | None = None
    error: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class World:
    upload: UploadFact | None = None
    file: ArtifactFact | None = None
    intent: IntentFact | None = None
    parsed: ArtifactFact | None = None


# ---- the effects a step asks for; the use case performs them in the same transaction ----------------------------


@dataclass(frozen=True)
class CreateIntent:
    """select_profile: record the profile as a pending intent (or adopt the one already chosen)."""

    intent_id: str
    execution_id: str
    file_id: str
    adopted: bool


@dataclass(frozen=True)
class DispatchParse:
    intent_id: str
    execution_id: str
    file_id: str


@dataclass(frozen=True)
class StartStep:
    """Work that cannot share the transaction (a save copies objects; a discard deletes them): sent through the
    outbox, run by the consumer, reported back. `compensate` marks the undoing of the step."""

    step: StepName
    artifact_id: str
    round: int
    compensate: bool = False


@dataclass(frozen=True)
class CancelIntent:
    intent_id: str


Action = CreateIntent | DispatchParse | StartStep | CancelIntent


@dataclass
class Plan:
    journey: Journey
    actions: list[Action] = field(default_factory=list)
    changed: bool = False
    status_changed: bool = False


NewId = Callable[[str], str]
