"""The CloudEvent edge: parse the payload into a model, run the use case, and apply the error taxonomy.

Permanent errors and bad payloads are logged and acknowledged (a retry cannot help); transient errors are raised so
the platform redelivers; duplicates are no-ops inside the use cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudevents.http.event import CloudEvent
from pydantic import BaseModel, ValidationError

from shared.bootstrap import get_services
from shared.domain.errors import DomainError, PermanentError
from shared.logs import get_logger, log_context

log = get_logger(__name__)


def run_cloud_event[M: BaseModel](event: CloudEvent, model: type[M], use_case: Callable[[M], Any]) -> Any:
    get_services()  # configures logging once per instance
    with log_context(event_id=event["id"], event_type=event["type"]):
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
        log.info("event handled", extra={"fields": {"result": repr(result)}})
        return result
