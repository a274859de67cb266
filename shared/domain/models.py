"""Domain records: artifacts, pending intents, executions, uploads, events and commands. No I/O here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from shared.domain.states import ExecutionStatus, IntentStatus, LifecycleState, PayloadState, UploadStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class Materialization(Strict):
    materialization_id: str
    storage_type: Literal["gcs", "firestore"] = "gcs"  # firestore: a summary kept on the artifact document itself
    uri: str
    format: str
    persistent: bool = False
    materialization_type: str = "full_artifact"  # the seed's execution-context `materialization_type`
    compression: str | None = None
    size_bytes: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # A `reference` materialization points at an object it does not own: the generation and the storage-computed
    # MD5 seen when its sha256 was verified at save, so a read can tell the object has not been replaced.
    content_hash: str | None = None
    object_generation: str | None = None
    object_md5: str | None = None


class Lineage(Strict):
    derived_from: list[str] = Field(default_factory=list)
    derivation_intent: str | None = None
    derivation_run_id: str | None = None
    generation: int = 0
    root_artifact_id: str
    # A regeneration of an expired derived artifact: the original, and whether the outputs hashed the same.
    regenerated_from: str | None = None
    reproduced: bool | None = None


class ProducedBy(Strict):
    intent: str
    execution_id: str
    # What a regeneration re-runs: the producing intent, its recorded options, and the producer's version.
    intent_id: str | None = None
    parameters: dict[str, Any] | None = None
    version: str | None = None


class SemanticDescriptor(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_: str | list[dict[str, Any]] | None = Field(default=None, alias="schema")
    record_count: int | None = None
    parser_type: str | None = None
    embedding_model: str | None = None


ARTIFACT_TYPES: set[str] = {"file", "parsed_content", "acknowledgement"}
_COMPUTED = frozenset({"intent_type", "execution_id", "payload_storage_path"})


def register_artifact_type(artifact_type: str) -> None:
    """Artifact types are open: a realm registers the types it produces before it makes them."""
    if not artifact_type.replace("_", "").isalnum() or not artifact_type[:1].isalpha() or len(artifact_type) > 64:
        raise ValueError(f"artifact type {artifact_type!r} must be a short snake_case name")
    ARTIFACT_TYPES.add(artifact_type)


class Artifact(Strict):
    artifact_id: str
    artifact_type: str
    lifecycle_state: LifecycleState = LifecycleState.PENDING
    tenant_id: str
    session_id: str
    user_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    file_reference: str | None = None
    storage_location: str
    materializations: list[Materialization] = Field(default_factory=list)
    materialization_pending: bool = True
    boundary_contract_id: str
    produced_by: ProducedBy
    semantic_descriptor: SemanticDescriptor = Field(default_factory=SemanticDescriptor)
    lineage: Lineage
    parent_artifacts: list[str] = Field(default_factory=list)
    retention_policy: str = "working_material"
    regenerable: bool = False
    payload_state: PayloadState = PayloadState.LIVE
    expires_at: datetime | None = None
    # File facts (file artifacts) and payload facts (parsed artifacts).
    ui_name: str | None = None
    filename: str | None = None
    file_type: str | None = None
    mime_type: str | None = None
    detected_type: str | None = None
    ingestion_type: str | None = None
    file_size: int | None = None
    file_hash: str | None = None
    content_fingerprint: str | None = None
    source_metadata: dict[str, Any] = Field(default_factory=dict)
    outputs: list[dict[str, Any]] = Field(default_factory=list)
    deleted_at: datetime | None = None
    purge_at: datetime | None = None  # a tombstone's document is removed by Firestore TTL after this
    # Promises that outlive a request (shared/domain/holds.py): storage retention, legal hold, permanent release.
    retain_until: datetime | None = None  # Object Retention Lock on the record's objects (regulatory_7y)
    legal_hold: bool = False
    legal_hold_since: datetime | None = None
    legal_hold_by: str | None = None
    held_expires_at: datetime | None = None  # the expiry a hold suspended; restored when the hold is cleared
    released_at: datetime | None = None  # a permanent record may be deleted only once a tenant admin released it
    released_by: str | None = None
    # The Artifact Plane registry fields (artifact-plane-plan.md). Those that restate other fields are computed from
    # them, so they can never disagree; they are stored too, so that they can be queried.
    realm: str = "content"
    solution_id: str = "default"
    payload_artifact_id: str | None = None  # the artifact whose stored payload this one uses (itself when None)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in _COMPUTED):
            return {k: v for k, v in data.items() if k not in _COMPUTED}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def intent_type(self) -> str:
        return self.produced_by.intent

    @computed_field  # type: ignore[prop-decorator]
    @property
    def execution_id(self) -> str:
        return self.produced_by.execution_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payload_storage_path(self) -> str:
        return self.storage_location

    @field_validator("artifact_type")
    @classmethod
    def _registered_type(cls, value: str) -> str:
        if value not in ARTIFACT_TYPES:
            raise ValueError(f"artifact type {value!r} is not registered")
        return value

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="python", by_alias=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PendingIntent(Strict):
    intent_id: str
    intent_type: Literal["parse_content"] = "parse_content"
    status: IntentStatus = IntentStatus.PENDING
    tenant_id: str
    session_id: str
    user_id: str | None = None
    target_artifact_id: str | None = None  # None while it waits for an upload
    upload_id: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    execution_id: str | None = None
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    last_error: str | None = None
    error_code: str | None = None
    result_artifact_id: str | None = None
    superseded_by: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"lease_owner"})


class StageEntry(Strict):
    stage: str
    at: datetime = Field(default_factory=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict)


class Execution(Strict):
    execution_id: str
    tenant_id: str
    intent_type: str
    status: ExecutionStatus = ExecutionStatus.ACCEPTED
    session_id: str | None = None
    user_id: str | None = None
    solution_id: str = "default"
    metadata: dict[str, Any] = Field(default_factory=dict)  # the intent's metadata, kept as the seed asks
    intent_id: str | None = None
    stages: list[StageEntry] = Field(default_factory=list)
    error: str | None = None
    error_code: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude={"tenant_id"})
        if self.status != ExecutionStatus.FAILED:
            body.pop("error", None)
            body.pop("error_code", None)
        return body


class Upload(Strict):
    upload_id: str
    tenant_id: str
    session_id: str
    user_id: str | None = None
    bucket: str
    object_name: str
    ui_name: str
    filename: str
    mime_type: str
    file_type: str | None = None
    declared_size: int
    upload_protocol: Literal["single_put", "resumable"] = "single_put"
    session_url: str | None = None  # the GCS resumable session (a bearer capability: never listed, only resumed)
    session_origin: str | None = None  # the browser origin the session was created for (GCS binds CORS to it)
    status: UploadStatus = UploadStatus.AWAITING_UPLOAD
    file_id: str | None = None
    reason: str | None = None
    generation: str | None = None
    pending_intent_id: str | None = None
    execution_id: str
    ingest_execution_id: str | None = None  # finalize's execution: it holds the messages finalize's retry sends again
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    boundary_contract_id: str | None = None
    materialization_type: str = "full_artifact"
    solution_id: str = "default"
    # The journey that asked for this upload: its finalize event continues it (see Event).
    trace_context: str | None = None
    origin_execution_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"upload_id": self.upload_id, "status": self.status.value}
        if self.file_id:
            body["file_id"] = self.file_id
        if self.reason:
            body["reason"] = self.reason
        return body


class Event(Strict):
    """A fact that happened; fanned out on Pub/Sub. `event_id` is stable across redelivery."""

    event_id: str
    event_type: str
    tenant_id: str
    execution_id: str
    occurred_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)
    # The journey it belongs to: the W3C traceparent of the span that staged it, and the execution that began it.
    trace_context: str | None = None
    origin_execution_id: str | None = None


class Command(Strict):
    """An instruction to one worker; delivered as a named Cloud Task. `command_id` is the task name."""

    command_id: str
    command_type: Literal["parse_content", "deliver_as2"]
    tenant_id: str
    execution_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    trace_context: str | None = None  # as on Event
    origin_execution_id: str | None = None


class Reference(Strict):
    """The Data Brain's record of one stored object: which artifact it is, and what it holds."""

    reference_id: str
    uri: str
    tenant_id: str
    artifact_id: str
    artifact_type: str
    materialization_id: str
    format: str
    size: int | None = None
    content_hash: str | None = None
    persistent: bool = False
    execution_id: str | None = None
    derived_from: list[str] = Field(default_factory=list)
    root_artifact_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"tenant_id"})
