"""Ports: what the use cases need from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from shared.domain.journey_model import Journey
from shared.domain.models import Artifact, Command, Event, Execution, PendingIntent, Reference, StageEntry, Upload
from shared.domain.states import ExecutionStatus

if TYPE_CHECKING:
    from shared.parsing.ocr import OcrEngine
    from shared.partners.models import Acknowledgement, Partner
    from shared.partners.ports import KeyStore, PartnerStore
    from shared.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned[M]:
    """A document read outside any transaction, with the store's version of it. A transaction that `adopt`s it
    reads it no more: its writes there commit only if the document is still that version (RecordChanged otherwise),
    which costs no read, where reading it again inside the transaction costs one."""

    value: M
    version: Any
    stored: dict[str, Any] | None = None  # what the document holds beside the model (an artifact's references)


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    session_id: str
    solution_id: str | None = None  # the token's `solution_id` claim, when the issuer sets one
    roles: frozenset[str] = frozenset()  # the token's `roles` claim (e.g. "operator": dead letters)


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal: ...


@dataclass(frozen=True)
class BlobInfo:
    bucket: str
    name: str
    size: int
    generation: str
    content_type: str | None
    metadata: dict[str, str]
    md5_hash: str | None = None  # computed by Cloud Storage (base64), so a replaced object cannot keep it
    retain_until: datetime | None = None  # Object Retention Lock's retainUntilTime, when set
    retention_mode: str | None = None  # "Locked" or "Unlocked"
    temporary_hold: bool = False


class ByteSink(Protocol):
    def write(self, chunk: bytes, /) -> int: ...


@dataclass(frozen=True)
class SessionState:
    """Where a resumable upload session stands: `committed` bytes persisted; `complete` when the object exists;
    `gone` when the session expired or was cancelled; `known` is False when the store cannot tell without harm."""

    committed: int
    complete: bool = False
    gone: bool = False
    known: bool = True


class BlobStore(Protocol):
    def stat(self, bucket: str, name: str) -> BlobInfo | None: ...
    def open_read(self, bucket: str, name: str, generation: str | None = None) -> AbstractContextManager[BinaryIO]: ...
    def download_into(self, bucket: str, name: str, generation: str | None, sink: ByteSink) -> bool: ...
    def open_write(self, bucket: str, name: str, content_type: str) -> AbstractContextManager[BinaryIO]: ...
    def write_bytes_if_absent(self, bucket: str, name: str, data: bytes, content_type: str) -> bool: ...
    def copy(self, src_bucket: str, src_name: str, dst_bucket: str, dst_name: str) -> BlobInfo: ...
    def delete(self, bucket: str, name: str, generation: str | None = None) -> bool: ...
    def list_names(self, bucket: str, prefix: str) -> list[str]: ...
    def set_retention(self, bucket: str, name: str, retain_until: datetime) -> BlobInfo: ...
    def set_temporary_hold(self, bucket: str, name: str, held: bool) -> BlobInfo | None: ...
    def signed_put_url(self, bucket: str, name: str, content_type: str, headers: dict[str, str], ttl_seconds: int) -> str: ...
    def signed_get_url(self, bucket: str, name: str, ttl_seconds: int) -> str: ...
    def start_resumable_upload(self, bucket: str, name: str, content_type: str, size: int, origin: str | None = None) -> str: ...
    def query_resumable_upload(self, session_url: str, size: int) -> SessionState: ...


class EventPublisher(Protocol):
    def publish(self, event: Event) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    """An event that exhausted its deliveries, as it sits in the dead-letter subscription."""

    ack_id: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    published_at: datetime
    delivery_attempts: int  # how often the events subscription tried it before giving up (0: not told)


class DeadLetterBox(Protocol):
    """The dead-letter subscription: events are held while looked at, then released, or removed once replayed."""

    def hold(self, max_messages: int, hold_seconds: int) -> list[DeadLetter]: ...
    def release(self, ack_ids: list[str]) -> None: ...
    def remove(self, ack_ids: list[str]) -> None: ...
    def replay(self, letter: DeadLetter) -> None: ...


class CommandQueue(Protocol):
    def enqueue(self, command: Command) -> None: ...


def execution_outbox_id(tenant_id: str, execution_id: str, *, end: bool = False) -> str:
    """The outbox id of the messages a commit keeps in an execution's document: the commit that creates it (its
    `outbox` field), or, held for its trigger's retry, the commit that ends it (`outbox_end`). One commit creates an
    execution and one ends it, so neither can overwrite the other's messages."""
    return f"tenants/{tenant_id}/executions/{execution_id}" + ("#end" if end else "")


def upload_outbox_id(tenant_id: str, upload_id: str) -> str:
    """The outbox id of the messages finalize holds in the upload record it ingests (one ingest per upload)."""
    return f"tenants/{tenant_id}/uploads/{upload_id}"


@dataclass(frozen=True)
class OutboxRecord:
    record_id: str
    kind: str  # "event" | "command" | "lineage" (OpenLineage RunEvents: payload {"events": [...]})
    status: str  # "pending" | "delivering" | "delivered"; "trigger": its trigger's retry resends it, never the sweep
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease_until: datetime | None
    document_id: str = ""  # where the commit's messages are: an outbox document's id, or execution_outbox_id(...)


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the HTTP edge keeps for one Idempotency-Key; the policy over it lives in shared.edges.idempotency."""

    request_hash: str
    started_at: datetime
    expire_at: datetime
    completed: bool = False
    status_code: int | None = None
    body: dict[str, Any] | None = None
    version: Any = None  # the store's own version of the record as read (a conditional put names it)


class RecordChanged(Exception):
    """A conditional put found the record other than the one it meant to replace (another request moved first)."""


class AlreadyStored(Exception):
    """A create-only write found its document there: the commit wrote nothing."""


class LineageSink(Protocol):
    """Where OpenLineage RunEvents go; `emit` is idempotent per event (run id and state), so a redelivery adds none."""

    def emit(self, events: list[dict[str, Any]]) -> None: ...


# ---- one commit's view of each aggregate (the Tx is their composition) ----
class ArtifactsInTx(Protocol):
    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None: ...
    def adopt_artifact(self, read: Versioned[Artifact]) -> Artifact: ...
    def already_read(self, tenant_id: str, artifact_id: str) -> Artifact | None: ...
    def put_artifact(self, artifact: Artifact) -> None: ...
    def create_artifact(self, artifact: Artifact) -> None: ...
    def put_reference(self, reference: Reference) -> None: ...
    def delete_reference(self, tenant_id: str, artifact_id: str, reference_id: str) -> None: ...


class IntentsInTx(Protocol):
    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None: ...
    def intents_of(
        self, tenant_id: str, intent_type: str, target_artifact_id: str,
    ) -> tuple[PendingIntent | None, PendingIntent | None]: ...
    def put_intent(self, intent: PendingIntent) -> None: ...


class UploadsInTx(Protocol):
    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None: ...
    def adopt_upload(self, read: Versioned[Upload]) -> Upload: ...
    def put_upload(self, upload: Upload) -> None: ...
    def seen(self, key: str) -> bool: ...
    def mark_seen(self, key: str, info: dict[str, Any]) -> None: ...


class ExecutionsInTx(Protocol):
    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None: ...
    def create_execution(self, execution: Execution) -> None: ...
    def log_stage(
        self, tenant_id: str, execution_id: str, entry: StageEntry | list[StageEntry], *, status: ExecutionStatus | None = None,
        error: str | None = None, error_code: str | None = None, result: dict[str, Any] | None = None,
        intent_id: str | None = None,
    ) -> None: ...


class OutboxInTx(Protocol):
    def stage_event(self, event: Event) -> None: ...
    def stage_command(self, command: Command) -> None: ...
    def stage_lineage(self, tenant_id: str, execution_id: str, events: list[dict[str, Any]]) -> None: ...
    def hold_outbox_for_trigger(self, document_id: str) -> None: ...
    @property
    def staged(self) -> list[OutboxRecord]: ...


class JourneysInTx(Protocol):
    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None: ...
    def put_journey(self, journey: Journey) -> None: ...


class PartnersInTx(Protocol):
    def get_partner(self, tenant_id: str, partner_id: str) -> Partner | None: ...
    def put_partner(self, partner: Partner) -> None: ...
    def delete_partner(self, tenant_id: str, partner_id: str) -> None: ...
    def put_ack(self, ack: Acknowledgement) -> None: ...
    def as2_owner(self, tenant_id: str, as2_id: str) -> str | None: ...
    def set_as2_owner(self, tenant_id: str, as2_id: str, partner_id: str | None) -> None: ...


class Tx(ArtifactsInTx, IntentsInTx, UploadsInTx, ExecutionsInTx, OutboxInTx, JourneysInTx, PartnersInTx, Protocol):
    """One Firestore commit: reads first (or documents adopted from outside reads), then buffered writes, committed
    together. Only the composition of the aggregates' views above: it declares nothing of its own."""


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_page_token: str | None


# ---- the repositories, one per aggregate (the Store is their composition) ----
class Commits(Protocol):
    """The unit of work's way in: a transaction, or a blind batch for a step that reads nothing."""

    def run_in_transaction(self, fn: Callable[[Tx], T]) -> tuple[T, list[OutboxRecord]]: ...
    def write_batch(self, fn: Callable[[Tx], T]) -> tuple[T, list[OutboxRecord]]: ...


class ArtifactRepository(Protocol):
    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None: ...
    def read_artifact(self, tenant_id: str, artifact_id: str) -> Versioned[Artifact] | None: ...
    def list_artifacts(
        self, tenant_id: str, *, artifact_type: str | None, lifecycle_state: str | None, session_id: str | None,
        page_size: int, page_token: str | None,
    ) -> Page: ...
    def list_children(self, tenant_id: str, artifact_id: str) -> list[Artifact]: ...
    def expired_artifacts(self, now: datetime, limit: int) -> list[Artifact]: ...


class ReferenceRepository(Protocol):
    def get_reference(self, tenant_id: str, reference_id: str) -> Reference | None: ...
    def list_references(self, tenant_id: str, artifact_id: str, limit: int = 100) -> list[Reference]: ...
    def sample_references(self, start_at: str, limit: int) -> list[Reference]: ...


class IntentRepository(Protocol):
    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None: ...
    def list_intents(
        self, tenant_id: str, *, target_artifact_id: str | None, status: str | None, page_size: int,
        page_token: str | None = None,
    ) -> Page: ...
    def expired_leases(self, now: datetime, limit: int) -> list[PendingIntent]: ...


class UploadRepository(Protocol):
    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None: ...
    def read_upload(self, tenant_id: str, upload_id: str) -> Versioned[Upload] | None: ...
    def seen_and_upload(self, keys: list[str], tenant_id: str | None, upload_id: str | None) -> tuple[bool, Upload | None]: ...


class ExecutionRepository(Protocol):
    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None: ...
    def stale_executions(self, status: str, updated_before: datetime, limit: int) -> list[Execution]: ...


class IdempotencyRepository(Protocol):
    """Records only: the policy over them is shared.edges.idempotency."""

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None: ...
    def put_idempotency(self, tenant_id: str, key: str, record: IdempotencyRecord, *,
                        replacing: IdempotencyRecord | None = None, conditional: bool = False) -> None: ...
    def delete_idempotency(self, tenant_id: str, key: str) -> None: ...


class OutboxRepository(Protocol):
    def claim_outbox(self, document_id: str, lease_seconds: int) -> list[OutboxRecord] | None: ...
    def mark_delivered(self, record_id: str, ttl_days: int) -> None: ...
    def release_outbox(self, record_id: str, error: str) -> None: ...
    def pending_outbox(self, older_than: datetime, limit: int) -> list[str]: ...
    def oldest_pending_outbox(self) -> datetime | None: ...
    def outbox_records(self) -> Iterator[OutboxRecord]: ...
    def held_outbox(self, document_id: str) -> list[OutboxRecord]: ...


class JourneyRepository(Protocol):
    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None: ...
    def find_journeys(self, tenant_id: str, *, upload_id: str | None = None, intent_id: str | None = None,
                      status: str | None = None, limit: int = 20) -> list[Journey]: ...
    def stale_journeys(self, updated_before: datetime, limit: int) -> list[Journey]: ...


class Store(Commits, ArtifactRepository, ReferenceRepository, IntentRepository, UploadRepository, ExecutionRepository,
            IdempotencyRepository, OutboxRepository, JourneyRepository, Protocol):
    """What bootstrap wires in: one adapter (Firestore) serves every repository. Only their composition: code that
    needs one aggregate takes its repository (the relay an OutboxRepository, the edge an IdempotencyRepository)."""


class Relay(Protocol):
    """Hands committed outbox records to Pub/Sub and Cloud Tasks; the sweep catches what it misses."""

    def deliver(self, records: list[OutboxRecord]) -> Any: ...
    def resend(self, document_id: str) -> Any: ...
    def sweep(self, grace_seconds: int, limit: int = 200) -> Any: ...


class Services(Protocol):
    """Everything a use case may reach, wired once per instance by bootstrap. mypy checks the adapters against it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def publisher(self) -> EventPublisher: ...
    @property
    def queue(self) -> CommandQueue: ...
    @property
    def verifier(self) -> TokenVerifier: ...
    @property
    def relay(self) -> Relay: ...
    @property
    def dead_letters(self) -> DeadLetterBox: ...
    @property
    def partners(self) -> PartnerStore: ...
    @property
    def as2_keys(self) -> KeyStore: ...
    @property
    def ocr(self) -> OcrEngine | None: ...  # None where no OCR engine is configured or installed
