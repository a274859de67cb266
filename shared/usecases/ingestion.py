"""What inline `ingest_file` and the finalize handler share: hashing, type sniffing and registering the file artifact."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.detection import HEAD_BYTES, sniff
from shared.domain.events import artifact_event
from shared.domain.ids import content_fingerprint, file_id_for, stable_key
from shared.domain.lineage import root_lineage
from shared.domain.models import Artifact, Materialization, ProducedBy, SemanticDescriptor, utcnow
from shared.domain.states import LifecycleState
from shared.ports import Tx
from shared.runtime.context import Result
from shared.usecases.objects import gs_uri


@dataclass(frozen=True)
class ContentFacts:
    size: int
    sha256: str
    fingerprint: str
    head: bytes


def facts_of_bytes(data: bytes, session_id: str) -> ContentFacts:
    sink = FactsSink(session_id, len(data))
    sink.write(data)
    return sink.facts()


class ContentTooLarge(Exception):
    """The stream went past the size limit; it was stopped there."""


class FactsSink:
    """A write-only stream that hashes, keeps the head for sniffing and stops past max_bytes, in constant memory."""

    def __init__(self, session_id: str, max_bytes: int):
        self._session_id = session_id
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self._max:
            raise ContentTooLarge()
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._hash.update(chunk)
        return len(chunk)

    def facts(self) -> ContentFacts:
        return ContentFacts(self.size, self._hash.hexdigest(), content_fingerprint(self._hash, self._session_id), bytes(self._head))


def detect_type(head: bytes, filename: str | None) -> tuple[str, str]:
    """(format, mime type) from the bytes themselves; the client's claim never decides."""
    detected = sniff(head, filename)
    return detected.format, detected.mime_type


def boundary_contract_for(tenant_id: str, file_id: str) -> str:
    return f"bc_{stable_key('boundary', tenant_id, file_id)[:24]}"


@dataclass(frozen=True)
class FileSpec:
    tenant_id: str
    session_id: str
    user_id: str | None
    execution_id: str
    bucket: str
    object_name: str
    generation: str | None
    ui_name: str
    filename: str
    file_type: str | None
    mime_type: str
    ingestion_type: str
    boundary_contract_id: str | None
    source_metadata: dict[str, Any]
    ttl_days: int = 7
    materialization_type: str = "full_artifact"


def build_file_artifact(spec: FileSpec, facts: ContentFacts, detected_format: str, detected_mime: str) -> Artifact:
    file_id = file_id_for(spec.tenant_id, facts.fingerprint)
    location = gs_uri(spec.bucket, spec.object_name)
    return Artifact(
        artifact_id=file_id, artifact_type="file", lifecycle_state=LifecycleState.PENDING,
        tenant_id=spec.tenant_id, session_id=spec.session_id, user_id=spec.user_id,
        file_reference=f"file:{spec.tenant_id}:{spec.session_id}:{file_id}",
        storage_location=location,
        materializations=[Materialization(
            materialization_id=f"mat_{file_id}", uri=location, format=spec.mime_type, persistent=False,
            size_bytes=facts.size, materialization_type=spec.materialization_type,
        )],
        materialization_pending=True,
        boundary_contract_id=spec.boundary_contract_id or boundary_contract_for(spec.tenant_id, file_id),
        produced_by=ProducedBy(intent="ingest_file", execution_id=spec.execution_id),
        semantic_descriptor=SemanticDescriptor(schema="file_v1", record_count=None, parser_type=None, embedding_model=None),
        lineage=root_lineage(file_id), parent_artifacts=[], retention_policy="working_material", regenerable=False,
        ui_name=spec.ui_name, filename=spec.filename, file_type=spec.file_type or detected_format,
        mime_type=spec.mime_type, detected_type=detected_format, ingestion_type=spec.ingestion_type,
        file_size=facts.size, file_hash=f"sha256:{facts.sha256}", content_fingerprint=facts.fingerprint,
        expires_at=utcnow() + timedelta(days=spec.ttl_days),
        source_metadata={**spec.source_metadata, "detected_mime_type": detected_mime,
                         **({"object_generation": spec.generation} if spec.generation else {})},
    )


def _ids(artifact: Artifact, deduplicated: bool) -> dict[str, Any]:
    return {"file_id": artifact.artifact_id, "artifact_id": artifact.artifact_id, "deduplicated": deduplicated}


def register_file(tx: Tx, candidate: Artifact, *, announce_duplicate: bool = False,
                  assume_new: bool = False) -> tuple[Artifact, bool, Result]:
    """Create the file artifact unless the same bytes already exist in this session. Call after the tx's other reads.

    A tombstone does not block: ingesting deleted bytes again brings the file back as new working material.
    `assume_new` reads nothing: the artifact is created with a create-only write, and the commit fails with
    AlreadyStored if the bytes are known after all (the caller then registers again, reading).
    `announce_duplicate`: a second upload of known bytes still announces itself (with its upload id), so whatever
    waits on that upload, such as an auto-dispatch intent, is not left waiting."""
    execution_id = candidate.produced_by.execution_id
    upload_id = candidate.source_metadata.get("upload_id")
    existing = None if assume_new else tx.get_artifact(candidate.tenant_id, candidate.artifact_id)
    if existing is not None and existing.lifecycle_state == LifecycleState.DELETED:
        existing = None  # the same bytes after a delete are a new ingestion; the tombstone gives way
    if existing is not None:
        events = [artifact_event("artifact_ingested", existing, execution_id, ingestion_type=candidate.ingestion_type,
                                 file_size=existing.file_size, upload_id=upload_id, deduplicated=True)] if announce_duplicate else []
        return existing, True, Result(_ids(existing, True), subject=existing, events=events, detail={
            "artifact_id": existing.artifact_id, "deduplicated": True})
    event = artifact_event("artifact_ingested", candidate, execution_id, ingestion_type=candidate.ingestion_type,
                           file_size=candidate.file_size, upload_id=upload_id, deduplicated=False)
    return candidate, False, Result(_ids(candidate, False), subject=candidate, artifacts=[candidate], events=[event],
                                    detail={"artifact_id": candidate.artifact_id, "deduplicated": False},
                                    create_only=assume_new)
