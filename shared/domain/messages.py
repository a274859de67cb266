"""The messages the bus handles (after cosmicpython's commands.py and events.py).

A command asks one handler to do something; an event (`shared.domain.models.Event`, by its `event_type`) is offered
to every handler that reacts to it; a query reads. The edges build these from what arrives and call
`bus.handle(message)`; bootstrap's COMMAND_HANDLERS, EVENT_HANDLERS and QUERY_HANDLERS say who handles each."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.intents import Intent
from shared.domain.models import Artifact, Event, Execution, PendingIntent

# ---- inbound payloads ---------------------------------------------------------------------------------------------


class StorageObjectData(BaseModel):
    """The object resource Eventarc delivers with google.cloud.storage.object.v1.finalized."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    bucket: str
    name: str
    generation: str
    size: int = 0
    content_type: str | None = Field(default=None, alias="contentType")
    metageneration: str | None = None


class ParseTask(BaseModel):
    """The body Cloud Tasks delivers: a Command whose payload names the intent."""

    model_config = ConfigDict(extra="ignore")

    command_id: str
    tenant_id: str
    execution_id: str
    payload: dict[str, Any]

    @property
    def intent_id(self) -> str:
        return str(self.payload.get("intent_id", ""))


class PubSubMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = {}
    messageId: str | None = None


class MessagePublished(BaseModel):
    """The data of google.cloud.pubsub.topic.v1.messagePublished."""

    model_config = ConfigDict(extra="ignore")

    message: PubSubMessage
    subscription: str | None = None

    def event(self) -> Event:
        return Event.model_validate(json.loads(base64.b64decode(self.message.data or "")))


# ---- commands -----------------------------------------------------------------------------------------------------


class Message:
    """Marker base of every command and query (events are `Event` models)."""


@dataclass(frozen=True)
class SubmitIntent(Message):
    """A client's intent: accepted or refused, executed, and logged as one execution."""

    intent: Intent
    execution_id: str | None = None


@dataclass(frozen=True)
class IngestUploadedObject(Message):
    """An object finalized in the uploads bucket (Eventarc)."""

    event_id: str
    source: str
    object: StorageObjectData


@dataclass(frozen=True)
class RunParseTask(Message):
    task: ParseTask
    retry_count: int | None = None  # X-CloudTasks-TaskRetryCount: 0 on the first attempt; None when not told

    def retried_on_failure(self, attempts: int) -> bool:
        """Whether Cloud Tasks runs this task again if this attempt fails, when its queue tries each task `attempts`
        times (its max_retry_duration, a day, is far beyond the parse's attempts)."""
        return self.retry_count is not None and self.retry_count + 1 < attempts


@dataclass(frozen=True)
class RenewParseLease(Message):
    """The worker's heartbeat: extend the lease it holds."""

    tenant_id: str
    intent_id: str
    worker_id: str


@dataclass(frozen=True)
class RunSweep(Message):
    limit: int = 200


@dataclass(frozen=True)
class RedispatchParse(Message):
    intent: PendingIntent


@dataclass(frozen=True)
class AbandonExecution(Message):
    execution: Execution


@dataclass(frozen=True)
class ExpireArtifact(Message):
    artifact: Artifact


@dataclass(frozen=True)
class RedriveJourneys(Message):
    idle_seconds: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class ResumeUpload(Message):
    principal: Any  # shared.ports.Principal, from the verified token
    upload_id: str
    origin: str | None = None  # the browser's allowed Origin: a resumable session answers CORS for its creator's


@dataclass(frozen=True)
class ForgetDeletedObject(Message):
    """An object deleted from a bucket (Eventarc's google.cloud.storage.object.v1.deleted): its reference goes."""

    object: StorageObjectData


@dataclass(frozen=True)
class ReconcileReferences(Message):
    """The sweep's check of a bounded sample of references against storage."""

    sample: int
    start_at: str | None = None


# ---- queries ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query(Message):
    """A read: `name` picks the handler in QUERY_HANDLERS; `args` are its keyword arguments."""

    name: str
    principal: Any  # shared.ports.Principal, from the verified token
    args: dict[str, Any] = field(default_factory=dict)


# ---- partner exchange ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiveAs2(Message):
    """A message at `POST /as2` (no bearer token): headers with lower-case names, and the raw body."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class RecordAcknowledgement(Message):
    """One acknowledgement of an interchange: its artifact, its record and (when the partner has a URL) its delivery."""

    tenant_id: str
    partner_id: str
    kind: str  # TA1 | 997 | 999 | CONTRL
    text: str
    status: str
    standard: str
    interchange_control_number: str
    for_artifact_id: str | None
    duplicate: bool
    digest: str  # of the interchange file: the same file acknowledged again is the same acknowledgement


@dataclass(frozen=True)
class SendMdn(Message):
    """An asynchronous MDN, to leave through the outbox."""

    tenant_id: str
    partner_id: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class DeliverAs2(Message):
    """The task that POSTs one AS2 message or MDN to a partner (`shared.domain.models.Command` deliver_as2)."""

    command: Any
