"""ExecutionContext (the seed's runtime context for a domain service) and Result (what a use case hands back).

A Result says what happened in domain terms: its data, the artifacts it made, the events and commands it stages.
It carries no HTTP status; the edges map it (shared/edges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain.errors import ValidationFailed
from shared.domain.intents import Intent
from shared.domain.models import Artifact, Command, Event, StageEntry, utcnow

if TYPE_CHECKING:
    from shared.ports import Services, Store

DEFAULT_MATERIALIZATION_TYPE = "full_artifact"
SUPPORTED_BACKING_STORES = frozenset({"gcs"})
MATERIALIZATION_TYPES = frozenset({"full_artifact", "reference", "summary"})


@dataclass
class Result:
    """One atomic step's effects. The unit of work writes them, with the execution log, in one transaction."""

    data: dict[str, Any] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    complete: bool = True  # False: the execution goes on elsewhere (a worker completes it)
    intent_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    failure: tuple[str, str] | None = None  # (error, error_code): the execution ends failed, recorded last
    stages: list[StageEntry] = field(default_factory=list)  # worker stages (claimed, redispatched, ...) logged first
    subject: Any = None  # the domain object the result is about (an artifact): the edges present it
    create_only: bool = False  # the artifacts are new: created, never overwritten (the commit fails if one exists)
    inputs: list[Artifact] = field(default_factory=list)  # artifacts it read (as they were), for lineage events


@dataclass
class ExecutionContext:
    """The seed's ExecutionContext: who runs what, under which execution, with which state surface and log."""

    execution_id: str
    intent: Intent
    services: Services
    created_at: datetime = field(default_factory=utcnow)

    @classmethod
    def for_intent(cls, intent: Intent, execution_id: str, services: Services) -> ExecutionContext:
        return cls(execution_id=execution_id, intent=intent, services=services)

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

    @property
    def state_surface(self) -> Store:
        """Where artifacts, intents and uploads live (Firestore)."""
        return self.services.store

    @property
    def wal(self) -> Store:
        """The execution log: one document per execution with its ordered stages."""
        return self.services.store

    # The seed's execution-context metadata, read as the seed's handlers read it.
    @property
    def boundary_contract_id(self) -> str | None:
        value = self.metadata.get("boundary_contract_id")
        return str(value) if value else None

    @property
    def materialization_type(self) -> str:
        value = str(self.metadata.get("materialization_type") or DEFAULT_MATERIALIZATION_TYPE)
        if value not in MATERIALIZATION_TYPES:
            raise ValidationFailed(
                f"metadata.materialization_type must be one of {', '.join(sorted(MATERIALIZATION_TYPES))}.",
                code="INVALID_MATERIALIZATION_TYPE")
        return value

    @property
    def materialization_backing_store(self) -> str:
        value = str(self.metadata.get("materialization_backing_store") or "gcs")
        if value not in SUPPORTED_BACKING_STORES:
            raise ValidationFailed(
                f"metadata.materialization_backing_store {value[:40]!r} is not supported; this platform stores in gcs.",
                code="UNSUPPORTED_BACKING_STORE")
        return value

    def to_json(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "intent": self.intent.to_json(), "tenant_id": self.tenant_id,
                "session_id": self.session_id, "solution_id": self.solution_id, "metadata": dict(self.metadata),
                "created_at": self.created_at.isoformat()}
