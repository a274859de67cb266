"""The in-memory store's commit (the Tx port): reads are recorded with the version they saw, writes are buffered, and
the store applies them together if nothing read has changed since (else it runs the step again, as Firestore retries
an aborted transaction). Adopted documents and create-only writes follow the same rules as Firestore's."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shared.domain.journey_model import Journey
from shared.domain.models import Artifact, Command, Event, Execution, PendingIntent, Reference, StageEntry, Upload, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.partners.models import Acknowledgement, Partner
from shared.ports import OutboxRecord, Versioned

if TYPE_CHECKING:
    from shared.adapters.memory import MemoryStore

Key = tuple[str, str, str]  # (kind, tenant, id)
LIVE = (IntentStatus.PENDING, IntentStatus.IN_PROGRESS)


class MemoryTx:
    def __init__(self, store: MemoryStore, *, blind: bool = False):
        self._s = store
        self._blind = blind
        self.reads: dict[Key, int] = {}  # key -> version seen (0: absent)
        self.adopted: dict[Key, int] = {}
        self.writes: list[tuple[str, Key, Any]] = []  # (op, key, value): put | create | delete | log | touch
        self._staged: list[OutboxRecord] = []
        self._held: str | None = None

    # reads
    def _get(self, key: Key) -> Any:
        if key in self.adopted:
            return self._s.value(key)
        if self._blind:
            raise RuntimeError(f"a blind commit reads nothing, yet {key} was read")
        value, version = self._s.entry(key)
        self.reads.setdefault(key, version)
        return value

    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        value: Artifact | None = self._get(("artifacts", tenant_id, artifact_id))
        return value

    def _adopt(self, key: Key, read: Versioned[Any]) -> Any:
        if key in self.reads:
            raise RuntimeError(f"{key} was already read in this transaction")
        self.adopted[key] = int(read.version)
        return read.value

    def adopt_artifact(self, read: Versioned[Artifact]) -> Artifact:
        return self._adopt(("artifacts", read.value.tenant_id, read.value.artifact_id), read)

    def adopt_upload(self, read: Versioned[Upload]) -> Upload:
        return self._adopt(("uploads", read.value.tenant_id, read.value.upload_id), read)

    def already_read(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        key = ("artifacts", tenant_id, artifact_id)
        value: Artifact | None = self._s.value(key) if key in self.reads or key in self.adopted else None
        return value

    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None:
        value: PendingIntent | None = self._get(("intents", tenant_id, intent_id))
        return value

    def intents_of(self, tenant_id: str, intent_type: str, target_artifact_id: str) -> tuple[PendingIntent | None, PendingIntent | None]:
        self._get(("slots", tenant_id, f"{intent_type}:{target_artifact_id}"))  # a concurrent writer there retries us
        live = [i for i in self._s.all("intents", tenant_id) if i.intent_type == intent_type
                and i.target_artifact_id == target_artifact_id and i.status in LIVE]
        for intent in live:
            self.reads.setdefault(("intents", tenant_id, intent.intent_id), self._s.entry(("intents", tenant_id, intent.intent_id))[1])
        pending = next((i for i in live if i.status == IntentStatus.PENDING), None)
        running = next((i for i in live if i.status == IntentStatus.IN_PROGRESS), None)
        return pending, running

    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        value: Upload | None = self._get(("uploads", tenant_id, upload_id))
        return value

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        value: Execution | None = self._get(("executions", tenant_id, execution_id))
        return value

    def seen(self, key: str) -> bool:
        return self._get(("dedup", "", key)) is not None

    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None:
        value: Journey | None = self._get(("journeys", tenant_id, journey_id))
        return value

    def get_partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        value: Partner | None = self._get(("partners", tenant_id, partner_id))
        return value

    def as2_owner(self, tenant_id: str, as2_id: str) -> str | None:
        value: str | None = self._get(("as2_ids", tenant_id, as2_id))
        return value

    # writes (buffered until the store applies them)
    def put_artifact(self, artifact: Artifact) -> None:
        self.writes.append(("put", ("artifacts", artifact.tenant_id, artifact.artifact_id), artifact))

    def create_artifact(self, artifact: Artifact) -> None:
        self.writes.append(("create", ("artifacts", artifact.tenant_id, artifact.artifact_id), artifact))

    def put_reference(self, reference: Reference) -> None:
        self.writes.append(("ref", ("references", reference.tenant_id, reference.artifact_id), reference))

    def delete_reference(self, tenant_id: str, artifact_id: str, reference_id: str) -> None:
        self.writes.append(("unref", ("references", tenant_id, artifact_id), reference_id))

    def put_intent(self, intent: PendingIntent) -> None:
        self.writes.append(("put", ("intents", intent.tenant_id, intent.intent_id), intent))
        if intent.target_artifact_id:
            self.writes.append(("touch", ("slots", intent.tenant_id, f"{intent.intent_type}:{intent.target_artifact_id}"), True))

    def put_upload(self, upload: Upload) -> None:
        self.writes.append(("put", ("uploads", upload.tenant_id, upload.upload_id), upload))

    def mark_seen(self, key: str, info: dict[str, Any]) -> None:
        self.writes.append(("put", ("dedup", "", key), {**info, "seen_at": utcnow()}))

    def create_execution(self, execution: Execution) -> None:
        self.writes.append(("create", ("executions", execution.tenant_id, execution.execution_id), execution))

    def log_stage(self, tenant_id: str, execution_id: str, entry: StageEntry | list[StageEntry], *,
                  status: ExecutionStatus | None = None, error: str | None = None, error_code: str | None = None,
                  result: dict[str, Any] | None = None, intent_id: str | None = None) -> None:
        entries = entry if isinstance(entry, list) else [entry]
        changes = {k: v for k, v in (("status", status), ("error", error), ("error_code", error_code if error else None),
                                     ("result", result), ("intent_id", intent_id)) if v is not None}
        self.writes.append(("log", ("executions", tenant_id, execution_id), (entries, changes)))

    def put_journey(self, journey: Journey) -> None:
        self.writes.append(("put", ("journeys", journey.tenant_id, journey.journey_id), journey))

    def put_partner(self, partner: Partner) -> None:
        self.writes.append(("put", ("partners", partner.tenant_id, partner.partner_id), partner))

    def delete_partner(self, tenant_id: str, partner_id: str) -> None:
        self.writes.append(("delete", ("partners", tenant_id, partner_id), None))

    def put_ack(self, ack: Acknowledgement) -> None:
        self.writes.append(("put", ("acknowledgements", ack.tenant_id, ack.ack_id), ack))

    def set_as2_owner(self, tenant_id: str, as2_id: str, partner_id: str | None) -> None:
        self.writes.append(("delete" if partner_id is None else "put", ("as2_ids", tenant_id, as2_id), partner_id))

    # the outbox: one record per commit that staged messages
    def _stage(self, record_id: str, kind: str, payload: dict[str, Any]) -> None:
        if all(r.record_id != record_id for r in self._staged):
            self._staged.append(OutboxRecord(record_id=record_id, kind=kind, status="pending", payload=payload,
                                             attempts=0, created_at=utcnow(), lease_until=None))

    def stage_event(self, event: Event) -> None:
        self._stage(event.event_id, "event", event.model_dump(mode="json"))

    def stage_command(self, command: Command) -> None:
        self._stage(command.command_id, "command", command.model_dump(mode="json"))

    def stage_lineage(self, tenant_id: str, execution_id: str, events: list[dict[str, Any]]) -> None:
        if events:
            key = "\n".join(e["run"]["runId"] + e["eventType"] for e in events)
            self._stage("lineage_" + hashlib.sha256(key.encode()).hexdigest()[:40], "lineage", {"events": events})

    def hold_outbox_for_trigger(self, document_id: str) -> None:
        self._held = document_id

    def flush(self) -> None:
        if not self._staged:
            return
        ids = [r.record_id for r in self._staged]
        document_id = self._held or (ids[0] if len(ids) == 1 else "batch_" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:40])
        self._staged = [replace(r, document_id=document_id, status="trigger" if self._held else "pending") for r in self._staged]
        self.writes.append(("outbox", ("outbox", "", document_id), list(self._staged)))

    @property
    def staged(self) -> list[OutboxRecord]:
        return list(self._staged)
