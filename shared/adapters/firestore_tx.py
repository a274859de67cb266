"""Firestore adapter, the transaction side: what one unit of work's commit reads and buffers (FirestoreTx). How models
become documents is shared/adapters/firestore_documents.py; the store that runs it is firestore_store.py."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from shared.adapters.firestore_documents import (
    LIVE_SLOTS,
    OUTBOX_END_FIELD,
    OUTBOX_FIELD,
    execution_of,
    execution_update,
    in_journey,
    outbox_shard,
    plain,
    slot_id,
    to_document,
)
from shared.adapters.firestore_partners import partner_document
from shared.adapters.firestore_references import ReferenceChanges, artifact_of, stored_references
from shared.adapters.firestore_uploads import keeps, upload_of, with_kept
from shared.domain.journey_model import Journey
from shared.domain.models import Artifact, Command, Event, Execution, PendingIntent, Reference, StageEntry, Upload, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.partners.models import Acknowledgement, Partner
from shared.ports import OutboxRecord, Versioned

if TYPE_CHECKING:
    from shared.adapters.firestore_store import FirestoreStore

class FirestoreTx:
    """Implements the Tx port over one firestore.Transaction."""

    def __init__(self, store: FirestoreStore, transaction: firestore.Transaction, deadline: float = float("inf"),
                 *, blind: bool = False):
        self._s = store
        self._t = transaction
        self._deadline = deadline
        self._blind = blind  # a batch: nothing may be read, only adopted
        self._versions: dict[str, Any] = {}  # path -> the version an adopted document was read at
        self._staged: list[OutboxRecord] = []
        self._owner: tuple[str, str] | None = None
        self._held: str | None = None  # the outbox document's id when the commit's trigger resends it (no sweep)
        self._created: list[tuple[Execution, firestore.DocumentReference]] = []  # written by flush, one with the outbox
        self._logged: dict[str, tuple[firestore.DocumentReference, dict[str, Any]]] = {}  # execution updates, by path
        self._uploads: dict[str, tuple[firestore.DocumentReference, dict[str, Any]]] = {}  # upload writes, by path
        # Artifacts written by flush, each with its references: path -> (create?, reference, document)
        self._artifacts: dict[str, tuple[bool, firestore.DocumentReference, dict[str, Any] | None]] = {}
        self._references = ReferenceChanges()
        self._read: dict[str, dict[str, Any] | None] = {}  # path -> what this transaction read there
        self._pointed: set[tuple[str, str]] = set()  # (intent id, slot id): a live intent its slot already points at
        self._slots: dict[str, tuple[PendingIntent | None, PendingIntent | None]] = {}  # slot id -> (pending, running)

    # reads (each document at most once per transaction: a second read returns the first, as Firestore would)
    def _get(self, ref: firestore.DocumentReference | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        if ref.path in self._read:
            return self._read[ref.path]
        if self._blind:
            raise RuntimeError(f"a blind commit reads nothing, yet {ref.path} was read")
        self._s.gate.enter(ref.path, self._deadline)
        snap = ref.get(transaction=self._t)
        self._read[ref.path] = data = snap.to_dict() if snap.exists else None
        return data

    def get_artifact(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        return artifact_of(self._get(self._s.ref(tenant_id, "artifacts", artifact_id)))

    def _adopt(self, ref: firestore.DocumentReference, read: Versioned[Any]) -> None:
        """An outside read as if this transaction had made it: later reads return it, and every write there is
        conditioned on its version (the commit fails with RecordChanged if anyone wrote it since)."""
        if ref.path in self._read and ref.path not in self._versions:
            raise RuntimeError(f"{ref.path} was already read in this transaction")
        self._read[ref.path] = {**to_document(read.value), **(read.stored or {})}
        self._versions[ref.path] = read.version

    def adopt_artifact(self, read: Versioned[Artifact]) -> Artifact:
        self._adopt(self._s.ref_required(read.value.tenant_id, "artifacts", read.value.artifact_id), read)
        return read.value

    def adopt_upload(self, read: Versioned[Upload]) -> Upload:
        self._adopt(self._s.ref_required(read.value.tenant_id, "uploads", read.value.upload_id), read)
        return read.value

    def _put(self, ref: firestore.DocumentReference, document: dict[str, Any]) -> None:
        """A whole document; where it was adopted, only if it is still the version read (an update, which
        Firestore conditions on update_time, replacing every field the model has)."""
        version = self._versions.get(ref.path)
        if version is None:
            self._t.set(ref, document)
        else:
            self._t.update(ref, document, option=self._s.client.write_option(last_update_time=version))

    def already_read(self, tenant_id: str, artifact_id: str) -> Artifact | None:
        """The version of an artifact this transaction has read, without reading it (None when it has not)."""
        ref = self._s.ref(tenant_id, "artifacts", artifact_id)
        return artifact_of(self._read.get(ref.path) if ref is not None else None)

    def get_intent(self, tenant_id: str, intent_id: str) -> PendingIntent | None:
        data = self._get(self._s.ref(tenant_id, "intents", intent_id))
        intent = PendingIntent.model_validate(data) if data else None
        if intent is not None and intent.status in LIVE_SLOTS and intent.target_artifact_id:
            # Every live intent with a target is pointed at by its slot (put_intent keeps that true).
            self._pointed.add((intent.intent_id, slot_id(intent.intent_type, intent.target_artifact_id)))
        return intent

    def get_upload(self, tenant_id: str, upload_id: str) -> Upload | None:
        return upload_of(self._get(self._s.ref(tenant_id, "uploads", upload_id)))

    def get_execution(self, tenant_id: str, execution_id: str) -> Execution | None:
        return execution_of(self._get(self._s.ref(tenant_id, "executions", execution_id)))

    def seen(self, key: str) -> bool:
        ref = self._s.client.collection("dedup").document(key)
        self._s.gate.enter(ref.path, self._deadline)
        return bool(ref.get(transaction=self._t).exists)

    def get_journey(self, tenant_id: str, journey_id: str) -> Journey | None:
        data = self._get(self._s.ref(tenant_id, "journeys", journey_id))
        return Journey.model_validate(data) if data else None

    def get_partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        data = self._get(self._s.ref(tenant_id, "partners", partner_id))
        return Partner.model_validate(data) if data else None

    # writes (buffered until commit)
    def put_partner(self, partner: Partner) -> None:
        self._t.set(self._s.ref_required(partner.tenant_id, "partners", partner.partner_id), partner_document(partner))

    def put_ack(self, ack: Acknowledgement) -> None:
        self._t.set(self._s.ref_required(ack.tenant_id, "acknowledgements", ack.ack_id), ack.model_dump(mode="python"))

    def delete_partner(self, tenant_id: str, partner_id: str) -> None:
        ref = self._s.ref(tenant_id, "partners", partner_id)
        if ref is not None:
            self._t.delete(ref)

    def _as2_claim(self, tenant_id: str, as2_id: str) -> firestore.DocumentReference:
        # An AS2 id is up to 128 printable characters, spaces and quotes included: its document is named by its hash.
        key = "as2_" + hashlib.sha256(as2_id.encode()).hexdigest()[:40]
        return self._s.ref_required(tenant_id, "partner_as2_ids", key)

    def as2_owner(self, tenant_id: str, as2_id: str) -> str | None:
        """The partner an AS2 id belongs to in this tenant, read by id in the transaction (no query)."""
        data = self._get(self._as2_claim(tenant_id, as2_id))
        return str(data["partner_id"]) if data else None

    def set_as2_owner(self, tenant_id: str, as2_id: str, partner_id: str | None) -> None:
        ref = self._as2_claim(tenant_id, as2_id)
        if partner_id is None:
            self._t.delete(ref)
        else:
            self._t.set(ref, {"as2_id": as2_id, "partner_id": partner_id, "updated_at": utcnow()})

    def _artifact(self, tenant_id: str, artifact_id: str, create: bool, document: dict[str, Any] | None) -> str:
        """Buffer an artifact's write (or only note its document, for a change of its references) until flush."""
        ref = self._s.ref_required(tenant_id, "artifacts", artifact_id)
        if document is not None or ref.path not in self._artifacts:  # a reference change keeps the artifact's write
            self._artifacts[ref.path] = (create, ref, document)
        return ref.path

    def put_artifact(self, artifact: Artifact) -> None:
        self._artifact(artifact.tenant_id, artifact.artifact_id, False, to_document(artifact))

    def create_artifact(self, artifact: Artifact) -> None:
        self._artifact(artifact.tenant_id, artifact.artifact_id, True, to_document(artifact))

    def put_reference(self, reference: Reference) -> None:
        """Registered in its artifact's document: written with the artifact, or as a change of that field alone."""
        path = self._artifact(reference.tenant_id, reference.artifact_id, False, None)
        self._references.register(path, reference.reference_id, to_document(reference))

    def delete_reference(self, tenant_id: str, artifact_id: str, reference_id: str) -> None:
        self._references.forget(self._artifact(tenant_id, artifact_id, False, None), reference_id)

    def _flush_artifacts(self) -> None:
        """Each artifact written with its references: the map as read in this commit (none for a document it did
        not read, which it replaces whole), with this commit's changes."""
        for path, (create, ref, document) in self._artifacts.items():
            if document is None:
                self._t.update(ref, self._references.field_update(path))
                continue
            document = self._references.with_document(path, document, stored_references(self._read.get(path)))
            if create:
                self._t.create(ref, document)
            else:
                self._put(ref, document)
        self._artifacts, self._references = {}, ReferenceChanges()

    def create_execution(self, execution: Execution) -> None:
        """Buffered until `flush`: the commit's outbox messages ride in the execution document it creates."""
        self._created.append((execution, self._s.ref_required(execution.tenant_id, "executions", execution.execution_id)))

    def intents_of(self, tenant_id: str, intent_type: str, target_artifact_id: str) -> tuple[PendingIntent | None, PendingIntent | None]:
        """The pending and the running intent of one file, read by id through its slot document: no query inside a
        transaction (a query locks a key range and makes unrelated writers contend). The slot's two pointers are
        resolved by each intent's own status, so an intent that moves from pending to running needs no slot write."""
        key = slot_id(intent_type, target_artifact_id)
        slot = self._get(self._s.ref(tenant_id, "intent_slots", key)) or {}
        pending: PendingIntent | None = None
        running: PendingIntent | None = None
        for intent_id in dict.fromkeys(slot.get(f) for f in ("pending_intent_id", "running_intent_id")):
            intent = self.get_intent(tenant_id, intent_id) if intent_id else None
            # A pointer outlives its intent's state (the intent moved on); only a live intent counts.
            if intent is not None and intent.status == IntentStatus.PENDING and pending is None:
                pending = intent
            elif intent is not None and intent.status == IntentStatus.IN_PROGRESS and running is None:
                running = intent
        self._slots[key] = (pending, running)
        return pending, running

    def put_intent(self, intent: PendingIntent) -> None:
        self._t.set(self._s.ref_required(intent.tenant_id, "intents", intent.intent_id), to_document(intent))
        field = LIVE_SLOTS.get(intent.status)
        if not field or not intent.target_artifact_id:
            return
        key = slot_id(intent.intent_type, intent.target_artifact_id)
        ref = self._s.ref(intent.tenant_id, "intent_slots", key)
        if ref is None or (intent.intent_id, key) in self._pointed:
            return  # the slot points at it already; its status says whether it is the pending or the running one
        pointers: dict[str, Any] = {field: intent.intent_id, "updated_at": utcnow()}
        if key in self._slots:
            # The slot was read in this transaction: keep the other live intent pointed at, whichever field held it.
            pending, running = self._slots[key]
            other = running if field == "pending_intent_id" else pending
            pointers[next(f for f in LIVE_SLOTS.values() if f != field)] = other.intent_id if other else None
        # Every writer keeps the slot in step, in the same transaction, with a blind write (no extra read).
        self._t.set(ref, pointers, merge=True)
        self._pointed.add((intent.intent_id, key))

    def put_upload(self, upload: Upload) -> None:
        """Buffered until flush, which may add the executions the record keeps."""
        upload = in_journey(upload)
        ref = self._s.ref_required(upload.tenant_id, "uploads", upload.upload_id)
        self._uploads[ref.path] = (ref, to_document(upload))

    def put_journey(self, journey: Journey) -> None:
        self._t.set(self._s.ref_required(journey.tenant_id, "journeys", journey.journey_id), to_document(journey))

    def mark_seen(self, key: str, info: dict[str, Any]) -> None:
        expire = utcnow() + timedelta(days=self._s.dedup_ttl_days)
        self._t.set(self._s.client.collection("dedup").document(key), {**plain(info), "seen_at": utcnow(), "expire_at": expire})

    def _stage(self, record_id: str, kind: str, tenant_id: str, execution_id: str, payload: dict[str, Any]) -> None:
        """Buffered until the step ends: then ONE outbox document carries every message of the commit (`flush`)."""
        if any(r.record_id == record_id for r in self._staged):
            return  # the same stable id staged twice in one commit is one message
        self._staged.append(OutboxRecord(record_id=record_id, kind=kind, status="pending", payload=payload, attempts=0,
                                         created_at=utcnow(), lease_until=None))
        self._owner = self._owner or (tenant_id, execution_id)

    def hold_outbox_for_trigger(self, document_id: str) -> None:
        """This commit's messages are resent by its trigger's retry (Eventarc, Cloud Tasks), which also runs it
        again when this process dies before sending them: they are never swept and need no delivery mark (a write
        fewer). They ride in a document the commit writes: the upload record that keeps the execution staging them,
        the execution it creates, or the update that ends it when `document_id` is execution_outbox_id(..., end=True).
        Otherwise a plain `document_id`, which the retry derives from its own event, names an outbox document (a TTL
        clears it); a path to a document this commit does not write is no hold, and the sweep takes them."""
        self._held = document_id

    def flush(self) -> None:
        """Write the commit's outbox messages, with the executions it creates and the uploads it writes.

        An execution that opens and ends here, named by an upload record this commit writes, is kept in that record
        (shared/adapters/firestore_uploads.py). Messages ride in the document of the execution that staged them when
        this commit creates it (its `outbox` field: only this commit creates it, so no later one overwrites them),
        in the upload record that keeps that execution when they are held for the trigger's retry, or in the update
        that ends the execution (`outbox_end`, held too). Otherwise one outbox document carries them, under the
        message's id when there is one (stable across a retried commit), else a hash of all of them. The committer
        delivers right after commit; the sweep, after its grace, whatever is not held."""
        created, self._created = self._created, []
        uploads, self._uploads = self._uploads, {}
        owner = self._owner or ("", "")
        kept: dict[str, tuple[str, Execution]] = {}  # execution path -> (the upload record keeping it, execution)
        for execution, ref in created:
            swept = self._staged and not self._held and (execution.tenant_id, execution.execution_id) == owner
            record = None if swept else next((p for p, (_, doc) in uploads.items() if keeps(doc, execution)), None)
            if record is not None:
                kept[ref.path] = (record, execution)
        documents = {ref.path: (ref, to_document(execution)) for execution, ref in created if ref.path not in kept}
        held_in: dict[str, dict[str, Any]] = {}  # upload path -> the held messages it carries
        if self._staged:
            ids = [r.record_id for r in self._staged]
            staged_by = next((ref.path for e, ref in created if (e.tenant_id, e.execution_id) == owner), None)
            in_upload = kept[staged_by][0] if staged_by in kept else None
            rides = staged_by if staged_by in documents else None
            ends = self._held.removesuffix("#end") if self._held and self._held.endswith("#end") else None
            ended = ends if ends in self._logged else None
            # A hold names a place this commit writes; one it does not write is no hold: the sweep takes them.
            held = self._held if in_upload or ended or (self._held and "/" not in self._held) else None
            document_id = in_upload or rides or held or (
                ids[0] if len(ids) == 1 else "batch_" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:40])
            status = "trigger" if held else "pending"
            self._staged = [replace(r, document_id=document_id, status=status) for r in self._staged]
            first = self._staged[0]
            outbox = {"record_id": document_id, "status": status, "attempts": 0, "created_at": first.created_at,
                      "lease_until": None, "tenant_id": owner[0], "execution_id": owner[1],
                      "shard": outbox_shard(document_id),
                      "messages": [{"record_id": r.record_id, "kind": r.kind, "payload": r.payload} for r in self._staged]}
            if in_upload:  # = upload_outbox_id(tenant, upload)
                held_in[in_upload] = outbox
            elif rides:  # = execution_outbox_id(tenant, execution)
                documents[rides][1][OUTBOX_FIELD] = outbox
            elif ended:  # = execution_outbox_id(tenant, execution, end=True): in the update that ends it
                self._logged[ended][1][OUTBOX_END_FIELD] = outbox
            else:
                expiry = {"expire_at": first.created_at + timedelta(days=self._s.dedup_ttl_days)} if held else {}
                self._t.set(self._s.client.collection("outbox").document(document_id), {**outbox, **expiry})
        for ref, document in documents.values():
            self._t.create(ref, document)
        for path, (ref, document) in uploads.items():
            executions = {e.execution_id: to_document(e) for record, e in kept.values() if record == path}
            version = self._versions.get(path)
            document = with_kept(document, executions, held_in.get(path), version is not None)
            if version is None:
                self._t.set(ref, document, merge=True)  # keeps what the record already keeps
            else:
                self._t.update(ref, document, option=self._s.client.write_option(last_update_time=version))
        for ref, update in self._logged.values():
            self._t.update(ref, update)
        self._logged = {}
        self._flush_artifacts()

    def stage_event(self, event: Event) -> None:
        event = in_journey(event)
        self._stage(event.event_id, "event", event.tenant_id, event.execution_id, event.model_dump(mode="json"))

    def stage_command(self, command: Command) -> None:
        command = in_journey(command)
        self._stage(command.command_id, "command", command.tenant_id, command.execution_id, command.model_dump(mode="json"))

    def stage_lineage(self, tenant_id: str, execution_id: str, events: list[dict[str, Any]]) -> None:
        """OpenLineage RunEvents ride in the commit's one outbox document, as one more message: no document of their
        own unless the commit stages nothing else. The id follows from the events, so a retried commit stages the same."""
        if events:
            record_id = "lineage_" + hashlib.sha256("\n".join(
                e["run"]["runId"] + e["eventType"] for e in events).encode()).hexdigest()[:40]
            self._stage(record_id, "lineage", tenant_id, execution_id, {"events": events})

    def log_stage(
        self, tenant_id: str, execution_id: str, entry: StageEntry | list[StageEntry], *, status: ExecutionStatus | None = None,
        error: str | None = None, error_code: str | None = None, result: dict[str, Any] | None = None,
        intent_id: str | None = None,
    ) -> None:
        ref = self._s.ref_required(tenant_id, "executions", execution_id)
        update = execution_update(entry, status, error, error_code, result, intent_id)
        if ref.path in self._logged:  # a second entry for the same execution in this commit: one update of both
            earlier = self._logged[ref.path][1]
            update["stages"] = firestore.ArrayUnion([*earlier["stages"].values, *update["stages"].values])
            update = {**earlier, **update}
        self._logged[ref.path] = (ref, update)  # written by flush

    @property
    def staged(self) -> list[OutboxRecord]:
        return list(self._staged)
