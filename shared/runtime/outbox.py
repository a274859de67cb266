"""The outbox relay: deliver staged records right after commit; the sweep delivers whatever was missed.

The process that commits a record delivers it at once, with no claim: the sweep only takes records older than its
grace period, so for that long the record is the committer's alone. A commit run by a trigger that retries until it
succeeds (finalize's Eventarc event) holds its record for that trigger instead: it is sent at once, never marked and
never swept; a failure to send fails the trigger, whose retry sends the same record again (`resend`).
The sweep claims each record with a short lease, so two sweeps never send it at the same time. A crash after sending
and before marking leaves the record undelivered; the sweep sends it again with the same event id or task name, and
consumers deduplicate on those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from shared.domain.errors import TransientError
from shared.domain.models import Command, Event, utcnow
from shared.logs import get_logger
from shared.ports import CommandQueue, EventPublisher, LineageSink, OutboxRecord, OutboxRepository

log = get_logger(__name__)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class OutboxRelay:
    def __init__(
        self,
        store: OutboxRepository,
        publisher: EventPublisher,
        queue: CommandQueue,
        *,
        lease_seconds: int = 60,
        ttl_days: int = 7,
        fault: Callable[[str, str], None] | None = None,  # fault injection seam: (point, record_id)
        lineage: LineageSink | None = None,
    ):
        self._store = store
        self._publisher = publisher
        self._queue = queue
        self._lease = lease_seconds
        self._ttl_days = ttl_days
        self._fault = fault
        self._lineage = lineage

    def _at(self, point: str, record_id: str) -> None:
        if self._fault is not None:
            self._fault(point, record_id)

    def deliver(self, records: list[OutboxRecord]) -> DeliveryReport:
        """Send records this process has just committed (the sweep leaves them alone for its grace period)."""
        report = DeliveryReport()
        for group in _by_document(records):
            self._send(group, report)
        return report

    def resend(self, document_id: str) -> DeliveryReport:
        """Send again the messages of a commit held for its trigger: the retry of that trigger calls this."""
        report = DeliveryReport()
        records = self._store.held_outbox(document_id)
        if records:
            self._send(records, report)
        return report

    def redeliver(self, document_ids: list[str]) -> DeliveryReport:
        """Claim each outbox document with a lease, then send its messages: for commits whose committer did not."""
        report = DeliveryReport()
        for document_id in document_ids:
            records = self._store.claim_outbox(document_id, self._lease)
            if records is None:
                report.skipped.append(document_id)
                continue
            self._send(records, report)
        return report

    def _send(self, records: list[OutboxRecord], report: DeliveryReport) -> None:
        """Every message of one commit, then one delivery mark for them all. A failure leaves the whole document to
        the sweep, which sends every message again (consumers deduplicate on event id, Cloud Tasks on task name)."""
        document_id = records[0].document_id or records[0].record_id
        for record in records:
            self._at("before_publish", record.record_id)
            try:
                if record.kind == "event":
                    self._publisher.publish(Event.model_validate(record.payload))
                elif record.kind == "lineage":
                    # staged last in its commit, so a lineage backend that is down delays no business message; it
                    # holds the document back, and the resend is deduplicated on both sides (event id; run id+state)
                    if self._lineage is not None:
                        self._lineage.emit(record.payload["events"])
                else:
                    self._queue.enqueue(Command.model_validate(record.payload))
            except Exception as exc:  # any failure leaves the record for the sweep, or for its trigger's retry
                log.warning("outbox delivery failed", extra={"fields": {"record_id": record.record_id, "error": str(exc)}})
                if record.status == "trigger":  # its trigger fails and retries: the retry sends it again
                    raise TransientError(f"sending {record.record_id} failed; the trigger retries: {exc}") from exc
                self._store.release_outbox(document_id, str(exc))
                report.failed.append(record.record_id)
                return
            self._at("after_publish", record.record_id)
        if records[0].status != "trigger":
            self._store.mark_delivered(document_id, self._ttl_days)
        report.delivered.extend(r.record_id for r in records)

    def sweep(self, grace_seconds: int, limit: int = 200) -> DeliveryReport:
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        report = self.redeliver(self._store.pending_outbox(cutoff, limit))
        if report.delivered or report.failed:
            log.info("outbox sweep", extra={"fields": {"delivered": len(report.delivered), "failed": len(report.failed)}})
        return report


def _by_document(records: list[OutboxRecord]) -> list[list[OutboxRecord]]:
    groups: dict[str, list[OutboxRecord]] = {}
    for record in records:
        groups.setdefault(record.document_id or record.record_id, []).append(record)
    return list(groups.values())
