"""The CloudEvent edge: parse the payload into a model, run the use case, and apply the error taxonomy.

Permanent errors and bad payloads are logged and acknowledged (a retry cannot help); transient errors are raised so
the platform redelivers; duplicates are no-ops inside the use cases."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudevents.http.event import CloudEvent
from pydantic import BaseModel, ValidationError

from shared.bootstrap import get_bus, get_services
from shared.domain.errors import DomainError, PermanentError
from shared.domain.messages import ForgetDeletedObject, IngestUploadedObject, MessagePublished, StorageObjectData
from shared.logs import TraceContext, continue_trace, get_logger, log_context
from shared.messagebus import MessageBus

log = get_logger(__name__)


def run_cloud_event[M: BaseModel](event: CloudEvent, model: type[M], use_case: Callable[[M], Any]) -> Any:
    get_services()  # configures logging once per instance
    started = time.perf_counter()
    trace, origin = _journey(event)
    with log_context(trace=trace, event_id=event["id"], event_type=event["type"], origin_execution_id=origin):
        try:
            payload = model.model_validate(event.data)
        except ValidationError as exc:
            log.error("malformed event acknowledged", extra={"fields": {"errors": exc.errors(include_input=False, include_url=False)}})
            return None
        try:
            result = use_case(payload)
        except (PermanentError, DomainError) as exc:
            log.error("event failed permanently; acknowledged", extra={"fields": {"error": str(exc)}})
            return None
        outcome = result if isinstance(result, str) else getattr(result, "outcome", None)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        log.info("event handled", extra={"fields": {"result": repr(result), "outcome": outcome, "latency_ms": latency_ms}})
        return result


def _journey(event: CloudEvent) -> tuple[TraceContext, str | None]:
    """The trace a CloudEvent continues: the CloudEvents `traceparent` extension, or the Pub/Sub message's attributes
    (the publisher puts the staging span's traceparent there). A storage event carries none: finalize joins the
    upload's journey once it has read the upload."""
    attributes: dict[str, Any] = {}
    data = event.data if isinstance(event.data, dict) else {}
    message = data.get("message")
    if isinstance(message, dict) and isinstance(message.get("attributes"), dict):
        attributes = message["attributes"]
    extension = event.get("traceparent")
    traceparent = extension if isinstance(extension, str) else attributes.get("traceparent")
    origin = attributes.get("origin_execution_id")
    return continue_trace(traceparent), origin if isinstance(origin, str) else None


def on_object_finalized(event: CloudEvent) -> Any:
    """google.cloud.storage.object.v1.finalized on the uploads bucket: ingest the object."""
    return run_cloud_event(event, StorageObjectData,
                           lambda obj: get_bus().handle(IngestUploadedObject(event["id"], event["source"], obj)))


def on_object_deleted(event: CloudEvent) -> Any:
    """google.cloud.storage.object.v1.deleted on a bucket whose objects the Data Brain references (the bucket
    lifecycle's deletions, or an operator's): forget the object's reference."""
    return run_cloud_event(event, StorageObjectData, lambda obj: get_bus().handle(ForgetDeletedObject(obj)))


def on_message_published(event: CloudEvent) -> Any:
    """google.cloud.pubsub.topic.v1.messagePublished: the platform's own event, offered to every reaction."""
    return run_cloud_event(event, MessagePublished, lambda message: react(message))


def react(message: MessagePublished, bus: MessageBus | None = None) -> str:
    try:
        platform_event = message.event()
    except (ValueError, TypeError) as exc:
        log.error("undecodable event acknowledged", extra={"fields": {"error": str(exc)}})
        return "malformed"
    return str((bus or get_bus()).handle(platform_event))


def on_budget_published(event: CloudEvent) -> Any:
    """A billing budget's notification: the cost guard caps the parse queue and the functions. It works on the cloud's
    controls, not on our data, so it runs outside the bus, in the unit bootstrap gives it."""
    from shared.bootstrap import cost_guard

    model, guard = cost_guard()
    return run_cloud_event(event, model, lambda message: guard(message.notification()))
