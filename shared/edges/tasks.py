"""The Cloud Tasks edge: a task body becomes a command, the use case runs, and its result becomes the status that
tells Cloud Tasks what to do (2xx: done; 503: retry with the queue's backoff)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from pydantic import BaseModel, ValidationError

from shared.bootstrap import get_bus, get_services
from shared.domain.messages import ParseTask, RunParseTask
from shared.edges.http import respond
from shared.logs import get_logger, log_context, trace_from_headers

log = get_logger(__name__)
RETRY_STATUSES = frozenset({"retry"})


def run_task[M: BaseModel](request: flask.Request, model: type[M], use_case: Callable[[M], Any]) -> flask.Response:
    get_services()  # configures logging once per instance
    # The task carries the journey's trace in its headers (shared/adapters/messaging.py): this run is a span of it.
    with log_context(trace=trace_from_headers(request.headers),
                     origin_execution_id=request.headers.get("X-Origin-Execution-Id")):
        try:
            command = model.model_validate_json(request.get_data())
        except ValidationError as exc:
            log.error("malformed task acknowledged", extra={"fields": {"errors": exc.errors(include_input=False, include_url=False)}})
            return respond(200, {"status": "malformed"})  # a retry cannot fix it
        result = use_case(command)
    if result is None:  # the bus found the work done
        return respond(200, {"status": "duplicate"})
    if result.status in RETRY_STATUSES:
        return respond(503, {"status": result.status, **result.detail}, {"Retry-After": "5"})
    return respond(200, {"status": result.status, **result.detail})


def retry_count(request: flask.Request) -> int | None:
    """Which attempt of the task this is (0 for the first), as Cloud Tasks says; None when it does not."""
    value = request.headers.get("X-CloudTasks-TaskRetryCount", "")
    return int(value) if value.isdigit() else None


def on_parse_task(request: flask.Request) -> flask.Response:
    """The parse worker's Cloud Tasks target."""
    return run_task(request, ParseTask, lambda task: get_bus().handle(RunParseTask(task, retry_count(request))))
