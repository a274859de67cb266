"""Wiring (after cosmicpython's bootstrap.py). Clients are created lazily, once per instance: never at import time,
never per request.

Bootstrap sits on top: the edges call `get_bus()` (and `get_services()`), and nothing below them imports this module.
It builds the message bus with explicit maps: the intent catalog, COMMAND_HANDLERS, EVENT_HANDLERS and
QUERY_HANDLERS (no module registers itself when imported). Use cases and the runtime see the `shared.ports.Services`
protocol, which mypy checks this class (and so every adapter) against."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from shared.logs import configure
from shared.ports import Services as ServicesPort
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.adapters.as2_keys import FileKeyStore, SecretManagerKeyStore
    from shared.adapters.dead_letters import PubSubDeadLetters
    from shared.adapters.firestore_partners import FirestorePartnerStore
    from shared.adapters.firestore_store import FirestoreStore
    from shared.adapters.gcs import GcsBlobStore
    from shared.adapters.messaging import CloudTasksCommandQueue, PubSubEventPublisher
    from shared.messagebus import MessageBus
    from shared.parsing.ocr import OcrEngine
    from shared.ports import TokenVerifier
    from shared.runtime.outbox import OutboxRelay
    from shared.runtime.registry import IntentCatalog

class _once[R]:  # a decorator, named like functools.cached_property
    """cached_property that builds its value once even when concurrent requests ask for it at the same time
    (functools.cached_property stopped locking in Python 3.12; instances serve many requests at once)."""

    def __init__(self, build: Callable[[Any], R]):
        self._build = build
        self._name = build.__name__
        self._lock = threading.RLock()

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _once[R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> R: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> R | _once[R]:
        if obj is None:
            return self
        with self._lock:
            if self._name not in obj.__dict__:
                obj.__dict__[self._name] = self._build(obj)
            return obj.__dict__[self._name]


class Services:
    def __init__(self, settings: Settings | None = None, **overrides: Any):
        self.settings = settings or get_settings()
        for name, value in overrides.items():  # tests may wire a component of their own (e.g. a relay with faults)
            setattr(self, name, value)

    @_once
    def store(self) -> FirestoreStore:
        from google.cloud import firestore

        from shared.adapters.firestore_store import FirestoreStore

        return FirestoreStore(firestore.Client(project=self.settings.project_id), self.settings.dedup_ttl_days)

    @_once
    def blobs(self) -> GcsBlobStore:
        from shared.adapters.gcs import GcsBlobStore

        s = self.settings
        return GcsBlobStore(s.project_id, s.signing_key_file, s.signing_service_account)

    @_once
    def publisher(self) -> PubSubEventPublisher:
        from shared.adapters.messaging import PubSubEventPublisher

        return PubSubEventPublisher(self.settings.project_id, self.settings.events_topic)

    @_once
    def queue(self) -> CloudTasksCommandQueue:
        from shared.adapters.messaging import CloudTasksCommandQueue

        s = self.settings
        return CloudTasksCommandQueue(s.project_id, s.tasks_location, s.tasks_queue, s.parse_worker_url, s.tasks_invoker_sa,
                                      {"deliver_as2": s.as2_deliver_url})

    @_once
    def verifier(self) -> TokenVerifier:
        from shared.adapters.tokens import DevTokenVerifier, IdentityPlatformVerifier

        s = self.settings
        if s.auth_mode == "dev":
            return DevTokenVerifier(s.auth_dev_public_key_file, s.auth_audience, s.auth_issuer)
        return IdentityPlatformVerifier(s.auth_audience, s.auth_issuer, s.auth_certs_url)

    @_once
    def dead_letters(self) -> PubSubDeadLetters:
        from shared.adapters.dead_letters import PubSubDeadLetters

        s = self.settings
        return PubSubDeadLetters(s.project_id, s.dead_letter_subscription, s.events_topic)

    @_once
    def partners(self) -> FirestorePartnerStore:
        from google.cloud import firestore

        from shared.adapters.firestore_partners import FirestorePartnerStore

        return FirestorePartnerStore(firestore.Client(project=self.settings.project_id))

    @_once
    def as2_keys(self) -> SecretManagerKeyStore | FileKeyStore:
        """Our AS2 key pair: Secret Manager in production, a key file outside the repo on the local stack."""
        from shared.adapters.as2_keys import FileKeyStore, SecretManagerKeyStore

        s = self.settings
        return SecretManagerKeyStore(s.project_id, s.as2_key_secret) if s.as2_key_secret else FileKeyStore(s.as2_key_file)

    @_once
    def relay(self) -> OutboxRelay:
        from shared.adapters.lineage_sinks import lineage_sink
        from shared.runtime.outbox import OutboxRelay

        return OutboxRelay(self.store, self.publisher, self.queue, lineage=lineage_sink(self.settings))

    @_once
    def ocr(self) -> OcrEngine | None:
        from shared.adapters.ocr import ocr_engine

        return ocr_engine(self.settings)


_services: Services | None = None
_services_lock = threading.Lock()


def get_services() -> ServicesPort:
    """One Services per instance, also when concurrent requests hit a cold instance at once."""
    global _services
    if _services is None:
        with _services_lock:
            if _services is None:
                configure(get_settings().log_level, get_settings().project_id)
                _services = Services()
    return _services  # mypy proves here that the wired adapters satisfy every port


def set_services(services: Services | None) -> None:
    """Swap the instance's services (tests point them at fresh settings)."""
    global _services, _bus
    _services = services
    _bus = None


_bus: MessageBus | None = None


def get_bus() -> MessageBus:
    """The instance's bus, over the instance's services."""
    global _bus
    services = get_services()
    bus = _bus
    if bus is None or bus.services is not services:
        with _services_lock:
            bus = _bus
            if bus is None or bus.services is not services:
                bus = _bus = messagebus(services)
    return bus


def messagebus(services: ServicesPort) -> MessageBus:
    """A bus over the given services, with every handler named here."""
    from shared.messagebus import MessageBus
    from shared.runtime.lifecycle import ExecutionLifecycleManager

    return MessageBus(services, intent_catalog(), command_handlers(), event_handlers(), query_handlers(),
                      ExecutionLifecycleManager())


def intent_catalog() -> IntentCatalog:
    """Every intent a client (or a journey) submits, with its strict parameter model."""
    from shared.domain.holds import CLEAR_HOLD, RELEASE, SET_HOLD
    from shared.domain.intents import (
        CreatePendingIntentBody,
        IngestFileParams,
        ParseContentParams,
        RequestUploadParams,
        SaveMaterializationParams,
    )
    from shared.domain.journey_model import JourneyRef, StartJourneyParams
    from shared.domain.reproduction import REGENERATE
    from shared.partners import handlers as partner_handlers
    from shared.partners.models import PartnerSpec
    from shared.runtime.registry import IntentCatalog, Registration
    from shared.usecases import (
        dead_letters,
        delete_artifact,
        holds,
        ingest_file,
        journey_handlers,
        journeys,
        parse_content,
        pending_intents,
        regenerate,
        request_upload,
        save,
    )

    return IntentCatalog([
        Registration("request_upload", RequestUploadParams, request_upload.handle_request_upload,
                     "Issue a signed upload URL, or a resumable upload session for a large file."),
        Registration("ingest_file", IngestFileParams, ingest_file.handle_ingest_file,
                     "Ingest a file sent inline (upload, edi, api)."),
        Registration("parse_content", ParseContentParams, parse_content.handle_parse_content,
                     "Parse a file with an ingestion profile."),
        Registration("save_materialization", SaveMaterializationParams, save.handle_save,
                     "Save working material as a record of fact: PENDING becomes READY with a persistent copy in the "
                     "records bucket."),
        # Reached through their own routes, not POST /v1/intents/{type}: not listed by GET /v1/intents.
        Registration("create_pending_intent", CreatePendingIntentBody, pending_intents.create_pending_intent,
                     "Keep the user's ingestion profile choice as a durable, resumable pending intent.", exposed=False),
        Registration("cancel_pending_intent", pending_intents.CancelPendingIntentParams,
                     pending_intents.cancel_pending_intent, "Cancel a pending intent.", exposed=False),
        Registration(delete_artifact.INTENT_TYPE, delete_artifact.DeleteArtifactParams, delete_artifact.handle_delete,
                     "Delete an artifact's payloads and leave a tombstone; refused while derived artifacts are live.",
                     exposed=False),
        Registration(SET_HOLD, holds.ArtifactRef, holds.handle_set_hold,
                     "Put a legal hold on an artifact: its objects cannot be deleted, replaced or expired.",
                     exposed=False),
        Registration(CLEAR_HOLD, holds.ArtifactRef, holds.handle_clear_hold,
                     "Clear an artifact's legal hold; its suspended expiry applies again.", exposed=False),
        Registration(RELEASE, holds.ArtifactRef, holds.handle_release,
                     "Release a permanent record (a tenant admin's decision) so that it may be deleted.", exposed=False),
        Registration(REGENERATE, regenerate.RegenerateParams, regenerate.handle_regenerate,
                     "Rebuild an expired regenerable derived artifact from its recorded intent, options and inputs; "
                     "the result must hash to the recorded content hashes.", exposed=False),
        Registration(journeys.START, StartJourneyParams, journey_handlers.handle_start,
                     "Start the journey journey_content_file_upload_materialization for a file or an upload.",
                     exposed=False),
        Registration(journeys.APPROVE, JourneyRef, journey_handlers.handle_approve,
                     "Give the user's save approval to a journey that saves manually.", exposed=False),
        Registration(journeys.CANCEL, JourneyRef, journey_handlers.handle_cancel,
                     "Cancel a journey and compensate: derived working material is discarded; records of fact are "
                     "kept.", exposed=False),
        Registration(partner_handlers.REGISTER, PartnerSpec, partner_handlers.register_partner,
                     "Register or replace a trading partner of the tenant.", exposed=False),
        Registration(partner_handlers.DELETE, partner_handlers.DeletePartnerParams, partner_handlers.delete_partner,
                     "Remove a trading partner of the tenant.", exposed=False),
        Registration(dead_letters.REPLAY, dead_letters.ReplayParams, dead_letters.handle_replay,
                     "Replay the tenant's dead-lettered events (operators only).", exposed=False),
        Registration(journeys.DISCARD, journey_handlers.DiscardParams, journey_handlers.handle_discard,
                     "Discard working material a journey derived (a journey's compensation); a READY record is kept.",
                     exposed=False),
    ])


def command_handlers() -> dict[type, Callable[[Any, Any], Any]]:
    """COMMAND_HANDLERS: each platform command and its one handler."""
    from shared.domain import messages as m
    from shared.partners import as2_endpoint, exchange
    from shared.usecases import finalize, journey_reactions, parse_worker, reference_hygiene, retention, sweep, uploads

    return {
        m.IngestUploadedObject: finalize.handle_finalize,
        m.RunParseTask: parse_worker.handle_parse_task,
        m.RenewParseLease: parse_worker.renew_parse_lease,
        m.RunSweep: sweep.run_sweep,
        m.RedispatchParse: sweep.redispatch_parse,
        m.AbandonExecution: sweep.abandon_execution,
        m.ExpireArtifact: retention.expire_artifact,
        m.RedriveJourneys: journey_reactions.redrive_journeys,
        m.ResumeUpload: uploads.resume_upload,
        m.ForgetDeletedObject: reference_hygiene.forget_deleted_object,
        m.ReconcileReferences: reference_hygiene.reconcile_references,
        m.ReceiveAs2: as2_endpoint.receive,
        m.RecordAcknowledgement: exchange.record_acknowledgement,
        m.SendMdn: as2_endpoint.send_mdn,
        m.DeliverAs2: as2_endpoint.run_delivery,
    }


def event_handlers() -> dict[str, list[Callable[[Any, Any], Any]]]:
    """EVENT_HANDLERS: the platform's own reaction first, then the saga coordinator's."""
    from shared.usecases import journey_reactions, journeys, reactions

    return {
        "artifact_ingested": [reactions.auto_dispatch, journey_reactions.on_artifact_ingested],
        "parse_completed": [journey_reactions.on_intent_event],
        "intent_failed": [journey_reactions.on_intent_event],
        "intent_cancelled": [journey_reactions.on_intent_event],
        journeys.STEP_EVENT: [journey_reactions.run_journey_step],
    }


def query_handlers() -> dict[str, Callable[[Any, Any], Any]]:
    """QUERY_HANDLERS: reads, by the name their route gives."""
    from shared.partners import handlers as partners
    from shared.usecases import dead_letters, journey_handlers, journey_views, pending_intents, reads, references, uploads

    catalog = intent_catalog()
    return {
        "get_artifact": lambda q, s: reads.get_artifact(
            s.store, s.blobs, s.settings, q.principal, q.args["artifact_id"],
            reads.parse_flag("include_payload", q.args.get("include_payload"))),
        "list_artifacts": lambda q, s: reads.list_artifacts(s.store, q.principal, **q.args),
        "get_lineage": lambda q, s: reads.get_lineage(s.store, q.principal, q.args["artifact_id"]),
        "get_execution": lambda q, s: reads.get_execution(s.store, q.principal, q.args["execution_id"]),
        "find_references": lambda q, s: references.find_references(s.store, q.principal, q.args.get("uri"),
                                                                   q.args.get("artifact_id")),
        "list_intents": lambda q, s: {"intents": catalog.list_supported_intents()},
        "openapi_document": lambda q, s: reads.openapi_document(),
        "get_upload": uploads.get_upload_status,
        "list_pending_intents": lambda q, s: pending_intents.list_pending_intents(
            s, q.principal, q.args.get("target_artifact_id"), q.args.get("status"), q.args.get("page_size"),
            q.args.get("page_token")),
        "get_journey": journey_handlers.get_journey,
        "list_journeys": lambda q, s: journey_views.list_journeys(s, q.principal, q.args.get("status"),
                                                                  q.args.get("limit")),
        "list_dead_letters": lambda q, s: dead_letters.list_dead_letters(s, q.principal, q.args.get("since"),
                                                                         q.args.get("limit")),
        "list_partners": lambda q, s: partners.list_partners(s, q.principal.tenant_id),
        "get_partner": lambda q, s: partners.get_partner(s, q.principal.tenant_id, q.args["partner_id"]),
        "as2_identity": lambda q, s: partners.as2_identity(s, q.principal.tenant_id),
        "list_acknowledgements": lambda q, s: partners.list_acknowledgements(
            s, q.principal.tenant_id, q.args.get("partner_id"), q.args.get("interchange_control_number"),
            q.args.get("artifact_id")),
    }


def cost_guard() -> tuple[Any, Callable[[Any], Any]]:
    """The budget message's model and the cost guard's handler over the controls the settings name."""
    from shared.adapters.cost_controls import cost_guard_unit
    from shared.usecases.cost_guard import BudgetMessagePublished, handle

    return BudgetMessagePublished, lambda notification: handle(notification, cost_guard_unit())
