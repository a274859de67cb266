"""The parse worker: a Cloud Tasks target. Claims the intent under a lease, parses in a stream, writes the payload
to the derived bucket and registers a PENDING `parsed_content` artifact with structured lineage.

Re-parsing a file is an explicit new intent, and it yields a new parsed artifact with its own lineage
(derivation_run_id = its execution); a redelivered task of the same intent yields the same artifact id."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.domain.errors import Duplicate, PermanentError, TransientError
from shared.domain.events import artifact_event, intent_event
from shared.domain.ids import new_id, parsed_id_for
from shared.domain.intents import ParseContext
from shared.domain.lineage import derived_lineage
from shared.domain.messages import ParseTask, RenewParseLease, RunParseTask
from shared.domain.models import (
    Artifact,
    Materialization,
    PendingIntent,
    ProducedBy,
    SemanticDescriptor,
    StageEntry,
    utcnow,
)
from shared.domain.reproduction import PARSE_PRODUCER_VERSION
from shared.domain.states import IntentStatus, LifecycleState, Stage
from shared.logs import get_logger, log_context
from shared.ports import Services, Tx, execution_outbox_id
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.objects import gs_uri, parsed_prefix, split_gs_uri
from shared.usecases.payload_facts import hashing_outputs, structured_statistics
from shared.usecases.pending_intents import update_intent_status
from shared.usecases.regenerate import reproduced_parse

log = get_logger(__name__)


@dataclass(frozen=True)
class WorkResult:
    status: str  # completed | failed | duplicate | lease_held | exhausted | retry (the edge asks Cloud Tasks to retry)
    detail: dict[str, Any]


def _uow(uow: UnitOfWork, task: ParseTask, execution_id: str | None = None) -> UnitOfWork:
    """The parse's execution, opened by whoever dispatched it; the worker carries it on."""
    journey_id = task.payload.get("journey_id")  # a journey's parse: its lineage events name the journey's run
    return uow.fork().resume(task.tenant_id, execution_id or task.execution_id, "parse_content",
                             metadata={"journey_id": journey_id} if journey_id else None)


def _fail_step(intent_id: str, tenant_id: str, reason: str, code: str, carried: list[StageEntry]) -> Any:
    def step(tx: Tx) -> Result:
        intent = tx.get_intent(tenant_id, intent_id)
        if intent is None or intent.status != IntentStatus.IN_PROGRESS:
            raise Duplicate()
        failed = update_intent_status(intent, IntentStatus.FAILED, last_error=reason, error_code=code,
                                      lease_owner=None, lease_expires_at=None)
        tx.put_intent(failed)
        execution_id = intent.execution_id or ""
        return Result(events=[intent_event("intent_failed", failed, execution_id, reason=reason, error_code=code)],
                      failure=(reason, code), detail={"attempts": intent.attempts}, stages=carried)
    return step


@dataclass(frozen=True)
class Claim:
    intent: PendingIntent
    # The execution-log entries of this claim (and of a predecessor whose lease lapsed): the claim writes only the
    # intent, and they commit with the attempt's end (its completion, failure or release).
    entries: list[StageEntry]


def _lapsed(intent: PendingIntent, now: Any) -> list[StageEntry]:
    """The entry of an attempt whose worker died holding the lease (it never wrote its end)."""
    if not (intent.lease_owner and intent.lease_expires_at and intent.lease_expires_at <= now):
        return []
    return [StageEntry(stage=Stage.ATTEMPT_FAILED, at=intent.lease_expires_at, detail={
        "attempt": intent.attempts, "worker": intent.lease_owner, "error": "the worker stopped; its lease lapsed"})]


def _claim(uow: UnitOfWork, task: ParseTask, worker_id: str) -> Claim | WorkResult:
    settings = uow.services.settings

    def step(tx: Tx) -> Claim | WorkResult:
        intent = tx.get_intent(task.tenant_id, task.intent_id)
        now = utcnow()
        if intent is None or intent.status != IntentStatus.IN_PROGRESS:
            ended = intent is not None and intent.status in (IntentStatus.COMPLETED, IntentStatus.FAILED)
            return WorkResult("duplicate", {"reason": "intent is not in progress",
                                            **({"execution_id": intent.execution_id} if ended and intent else {})})
        if intent.lease_owner and intent.lease_expires_at and intent.lease_expires_at > now:
            return WorkResult("lease_held", {"reason": "another worker holds the lease"})
        attempts = intent.attempts + 1
        if attempts > settings.max_parse_attempts:
            return WorkResult("exhausted", {"attempts": intent.attempts, "lapsed": _lapsed(intent, now)})
        claimed = intent.model_copy(update={"attempts": attempts, "lease_owner": worker_id, "updated_at": now,
                                            "lease_expires_at": now + timedelta(seconds=settings.claim_lease_seconds)})
        tx.put_intent(claimed)
        return Claim(claimed, [*_lapsed(intent, now),
                               StageEntry(stage=Stage.CLAIMED, at=now, detail={"attempt": attempts, "worker": worker_id})])

    value = _uow(uow, task).commit(step)
    if isinstance(value, WorkResult) and value.status == "exhausted":
        reason = f"Gave up after {settings.max_parse_attempts} attempts."
        return _finish_failure(uow, task, reason, "MAX_ATTEMPTS_EXCEEDED", value.detail.pop("lapsed"))
    return value


class Heartbeat:
    """Renews the worker's short lease while the parse runs, so a live long parse is never taken over, and a dead
    worker's lease lapses within `claim_lease_seconds` for the sweep (or the task's retry) to reclaim."""

    def __init__(self, uow: UnitOfWork, task: ParseTask, worker_id: str):
        self._uow = uow
        self._services = uow.services
        self._task = task
        self._worker_id = worker_id
        self._stop = threading.Event()
        self.lost = threading.Event()  # set once another claim took the intent over, or it left in_progress
        self.renewals = 0
        self._thread = threading.Thread(target=self._run, name=f"lease-{worker_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        every = self._services.settings.lease_renew_seconds
        while not self._stop.wait(every):
            try:
                if not self.renew():
                    self.lost.set()
                    log.warning("lease lost while parsing", extra={"fields": {"intent_id": self._task.intent_id}})
                    return
                self.renewals += 1
            except Exception:  # a failed renewal is retried at the next beat; the lease has slack for a few
                log.warning("lease renewal failed", exc_info=True)

    def renew(self) -> bool:
        return bool(self._uow.handle(RenewParseLease(self._task.tenant_id, self._task.intent_id, self._worker_id)))


def renew_parse_lease(message: RenewParseLease, uow: UnitOfWork) -> bool:
    """The heartbeat: extend the lease this worker holds; False once it lost it."""
    lease = timedelta(seconds=uow.services.settings.claim_lease_seconds)

    def step(tx: Tx) -> bool:
        intent = tx.get_intent(message.tenant_id, message.intent_id)
        if intent is None or intent.status != IntentStatus.IN_PROGRESS or intent.lease_owner != message.worker_id:
            return False
        tx.put_intent(intent.model_copy(update={"lease_expires_at": utcnow() + lease}))
        return True

    return bool(uow.commit(step))


def _finish_failure(uow: UnitOfWork, task: ParseTask, reason: str, code: str, carried: list[StageEntry]) -> WorkResult:
    intent = uow.services.store.get_intent(task.tenant_id, task.intent_id)
    execution_id = (intent.execution_id if intent else None) or task.execution_id
    try:
        _uow(uow, task, execution_id).commit(_fail_step(task.intent_id, task.tenant_id, reason, code, carried))
    except Duplicate:
        return WorkResult("duplicate", {})
    log.warning("parse failed", extra={"fields": {"intent_id": task.intent_id, "error_code": code, "reason": reason}})
    return WorkResult("failed", {"error_code": code, "error": reason})


def _release(uow: UnitOfWork, task: ParseTask, claim: Claim, error: str) -> None:
    """Give the lease back so the platform's retry (with backoff) can claim at once."""

    def step(tx: Tx) -> Result | None:
        intent = tx.get_intent(task.tenant_id, task.intent_id)
        if intent is None or intent.lease_owner != claim.intent.lease_owner or intent.status != IntentStatus.IN_PROGRESS:
            return None
        tx.put_intent(intent.model_copy(update={"lease_owner": None, "lease_expires_at": utcnow(), "last_error": error[:500]}))
        failed = StageEntry(stage=Stage.ATTEMPT_FAILED, detail={"attempt": intent.attempts, "error": error[:500]})
        return Result(complete=False, stages=[*claim.entries, failed])

    _uow(uow, task).commit(step)


def _resend_held(uow: UnitOfWork, task: ParseTask, result: WorkResult) -> WorkResult:
    """A task of an intent that has ended: it may be the retry of the attempt that ended it and died (or failed to
    send) before its messages left, so it sends them again when that attempt held them; duplicates are dropped by
    consumers on event id."""
    execution_id = result.detail.pop("execution_id", None)
    if execution_id:
        try:
            uow.services.relay.resend(execution_outbox_id(task.tenant_id, execution_id, end=True))
        except TransientError:
            return WorkResult("retry", {"error": "sending the parse's messages failed; retried with backoff"})
    return result


def _parse_to_derived(services: Services, source: Artifact, intent: PendingIntent, parsed_id: str) -> Any:
    from shared.detection import sniff_stream
    from shared.parsing import ParseError, parse
    from shared.parsing.ocr import OcrLimits, OcrSession

    # A regeneration names the object that holds the recorded input now (a saved file's record copy, say).
    bucket, name = split_gs_uri(str(intent.context.get("source_uri") or source.storage_location))
    generation = intent.context.get("source_generation") or source.source_metadata.get("object_generation")
    derived = services.settings.derived_bucket
    prefix = parsed_prefix(source.tenant_id, parsed_id)
    # Only the client's choice is validated here; a regeneration's own keys (regenerates, source_*) are the platform's.
    profile = ParseContext.model_validate({k: v for k, v in intent.context.items()
                                           if k in ("ingestion_profile", "parse_options")}).ingestion_profile
    options = dict(intent.context.get("parse_options") or {})
    engine, settings = services.ocr, services.settings
    ocr = None if engine is None else OcrSession(engine, OcrLimits(settings.ocr_max_pages, settings.ocr_max_seconds))
    if services.blobs.stat(bucket, name) is None:
        raise PermanentError("The source file's payload no longer exists (it expired or was deleted).", code="SOURCE_MISSING")
    open_output, digests = hashing_outputs(
        lambda out_name, content_type: services.blobs.open_write(derived, prefix + out_name, content_type))
    try:
        with services.blobs.open_read(bucket, name, generation) as stream:
            detected = sniff_stream(stream, source.filename)
            result = parse(stream, detected, profile, options, open_output, ocr)
    except ParseError as exc:
        raise PermanentError(exc.message, code=exc.code) from None
    return result, derived, prefix, digests


def _build_parsed(source: Artifact, intent: PendingIntent, parsed_id: str, result: Any, derived: str, prefix: str,
                  execution_id: str, ttl_days: int, digests: dict[str, str] | None = None,
                  column_stats: dict[str, Any] | None = None) -> Artifact:
    digests = digests or {}
    outputs = [{**o.model_dump(mode="json"), "uri": gs_uri(derived, prefix + o.name),
                **({"sha256": digests[o.name]} if o.name in digests else {})} for o in result.outputs]
    mats = [Materialization(materialization_id=f"mat_{parsed_id}_{i}", uri=o["uri"], format=o["format"],
                            persistent=False, size_bytes=o.get("bytes_written")) for i, o in enumerate(outputs)]
    now = utcnow()
    return Artifact(
        artifact_id=parsed_id, artifact_type="parsed_content", lifecycle_state=LifecycleState.PENDING,
        tenant_id=source.tenant_id, session_id=intent.session_id, user_id=intent.user_id,
        storage_location=outputs[0]["uri"] if outputs else gs_uri(derived, prefix),
        materializations=mats, materialization_pending=True, boundary_contract_id=source.boundary_contract_id,
        produced_by=ProducedBy(intent="parse_content", execution_id=execution_id, intent_id=intent.intent_id,
                               parameters={"ingestion_profile": intent.context.get("ingestion_profile"),
                                           "parse_options": dict(intent.context.get("parse_options") or {})},
                               version=PARSE_PRODUCER_VERSION),
        semantic_descriptor=SemanticDescriptor.model_validate({
            "schema": [field.model_dump(mode="json") for field in result.schema] if result.schema else None,
            "record_count": result.record_count, "parser_type": result.parser_type,
            "embedding_model": None, "detected_format": result.detected_format,
            "ingestion_profile": intent.context.get("ingestion_profile"), "chunk_count": result.chunk_count,
            "page_count": result.page_count, "warnings": list(result.warnings),
            # What the parser guessed (encoding, delimiter, header, types), how sure it was, and the option that overrides it.
            "guesses": dict(result.guesses),
            # Per-column statistics of the structured output: what a summary record keeps.
            **({"column_stats": column_stats} if column_stats else {}),
            # The OCR engine and version that read scanned pages, and the PDF reader that read the text.
            **result.descriptor}),
        lineage=derived_lineage([source], "parse_content", execution_id), parent_artifacts=[source.artifact_id],
        retention_policy="working_material", regenerable=True, expires_at=now + timedelta(days=ttl_days),
        ui_name=source.ui_name, filename=source.filename, detected_type=result.detected_format, outputs=outputs,
    )


def handle_parse_task(message: RunParseTask, uow: UnitOfWork) -> WorkResult:
    task, services = message.task, uow.services
    worker_id = new_id("worker")
    with log_context(execution_id=task.execution_id, tenant_id=task.tenant_id, intent_type="parse_content"):
        try:
            claimed = _claim(uow, task, worker_id)
        except TransientError as exc:  # e.g. contention outlasted our retries: Cloud Tasks retries with backoff
            log.warning("claim failed; the task will be retried", extra={"fields": {"error": str(exc)[:300]}})
            return WorkResult("retry", {"reason": "claim failed transiently"})
        if isinstance(claimed, WorkResult):
            if claimed.status == "lease_held":
                # The holder may have died: retrying after the queue's backoff reclaims once its short lease lapses;
                # a live holder keeps renewing, and this duplicate runs out of attempts harmlessly.
                return WorkResult("retry", claimed.detail)
            return _resend_held(uow, task, claimed)
        intent, entries = claimed.intent, claimed.entries
        execution_id = intent.execution_id or task.execution_id
        source = services.store.get_artifact(task.tenant_id, intent.target_artifact_id or "")
        if source is None or source.lifecycle_state == LifecycleState.DELETED:
            return _finish_failure(uow, task, "The source file no longer exists.", "SOURCE_MISSING", entries)
        parsed_id = parsed_id_for(task.tenant_id, intent.intent_id)
        try:
            with Heartbeat(uow, task, worker_id):
                result, derived, prefix, digests = _parse_to_derived(services, source, intent, parsed_id)
                stats = next((structured_statistics(services.blobs, derived, prefix + o.name)
                              for o in result.outputs if o.format == "parquet"), None)
        except PermanentError as exc:
            return _finish_failure(uow, task, exc.message, exc.code, entries)
        except Exception as exc:
            log.warning("parse attempt failed; will retry", exc_info=not isinstance(exc, TransientError))
            with contextlib.suppress(TransientError):  # unreleased, the short lease lapses by itself
                _release(uow, task, claimed, str(exc))
            return WorkResult("retry", {"error": "transient failure; retried with backoff"})
        parsed = _build_parsed(source, intent, parsed_id, result, derived, prefix, execution_id,
                               services.settings.working_material_ttl_days, digests, stats)

        def complete(tx: Tx) -> Result:
            current = tx.get_intent(task.tenant_id, intent.intent_id)
            if current is None or current.lease_owner != worker_id or current.status != IntentStatus.IN_PROGRESS:
                raise Duplicate()  # the lease was lost; whoever holds it writes the same artifact
            if message.retried_on_failure(services.settings.parse_task_attempts):
                # Cloud Tasks runs this task again if the send fails or this process dies before it: that retry
                # finds the intent ended and sends these messages again (_resend_held), so they need no delivery
                # mark; they ride in the execution's own update. On the queue's last attempt the sweep keeps them.
                tx.hold_outbox_for_trigger(execution_outbox_id(task.tenant_id, execution_id, end=True))
            produced, failure = reproduced_parse(tx, current, parsed, digests)
            reason, code = failure or (None, None)
            done = update_intent_status(current, IntentStatus.FAILED if failure else IntentStatus.COMPLETED,
                                        result_artifact_id=parsed_id, lease_owner=None, lease_expires_at=None,
                                        last_error=reason, error_code=code)
            tx.put_intent(done)
            body = {"artifact_id": parsed_id, "intent_id": intent.intent_id}
            events = [artifact_event("parse_completed", produced, execution_id, source_artifact_id=source.artifact_id,
                                     intent_id=intent.intent_id, record_count=produced.semantic_descriptor.record_count)]
            if failure:  # the artifact is kept beside the original: the lineage shows both
                events.append(intent_event("intent_failed", done, execution_id, reason=reason, error_code=code))
            return Result(body, artifacts=[produced], inputs=[source], intent_id=intent.intent_id, events=events, failure=failure,
                          detail={"artifact_id": parsed_id, "record_count": produced.semantic_descriptor.record_count},
                          stages=entries)

        try:
            _uow(uow, task, execution_id).commit(complete)
        except Duplicate:
            return WorkResult("duplicate", {"reason": "lease lost"})
        except TransientError as exc:  # the retry parses again onto the same artifact id
            log.warning("completing the parse failed; will retry", extra={"fields": {"error": str(exc)[:300]}})
            with contextlib.suppress(TransientError):
                _release(uow, task, claimed, str(exc))
            return WorkResult("retry", {"error": "transient failure; retried with backoff"})
        # Upload-to-parsed time of this file (its ingest), the journey freshness SLO's measure (metrics.json).
        freshness = round((utcnow() - source.created_at).total_seconds(), 3)
        log.info("parse completed", extra={"fields": {"artifact_id": parsed_id, "freshness_seconds": freshness}})
        return WorkResult("completed", {"artifact_id": parsed_id})
