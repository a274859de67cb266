"""JSON-line logs that Cloud Logging understands, with execution_id, intent_type and tenant_id on every line, and the
journey's trace: every line carries `logging.googleapis.com/trace`, `spanId` and `sourceLocation`, so Logs Explorer
(or Cloud Trace) shows one journey, across functions, Pub/Sub and Cloud Tasks, by its trace id alone.

A trace starts at the edge that receives a request without one (W3C `traceparent` or `X-Cloud-Trace-Context`); each
function invocation is a span of its own in it. What an invocation stages (events, commands, an upload) carries the
invocation's `traceparent` and the journey's originating execution id, and the next edge continues from them."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

_SEVERITY = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL"}
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?$")
ORIGIN_LABEL = "origin_execution_id"


@dataclass(frozen=True)
class TraceContext:
    """One span of a trace: this invocation's part of the journey."""

    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    sampled: bool = True

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def cloud_trace_header(self) -> str:
        return f"{self.trace_id}/{int(self.span_id, 16)};o={1 if self.sampled else 0}"


def _new_span() -> str:
    return secrets.token_hex(8)


def continue_trace(traceparent: str | None = None, cloud_trace: str | None = None) -> TraceContext:
    """A new span in the caller's trace (W3C traceparent first, then Google's header), or a new trace."""
    m = _TRACEPARENT.match((traceparent or "").strip().lower())
    if m and m.group(1) != "0" * 32:
        return TraceContext(m.group(1), _new_span(), bool(int(m.group(3), 16) & 1))
    c = _CLOUD_TRACE.match((cloud_trace or "").strip())
    if c:
        return TraceContext(c.group(1).lower(), _new_span(), c.group(3) != "0")
    return TraceContext(secrets.token_hex(16), _new_span())


class _Headers(Protocol):
    def get(self, key: str) -> str | None: ...


def trace_from_headers(headers: _Headers) -> TraceContext:
    return continue_trace(headers.get("traceparent"), headers.get("X-Cloud-Trace-Context"))


_labels: ContextVar[dict[str, str]] = ContextVar("log_labels", default={})  # noqa: B039 - never mutated in place
_trace: ContextVar[TraceContext | None] = ContextVar("log_trace", default=None)
_project = {"id": "-"}


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        labels = dict(_labels.get())
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if labels:
            entry["logging.googleapis.com/labels"] = labels
            entry.update({k: v for k, v in labels.items() if k not in entry})
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = f"projects/{_project['id']}/traces/{trace.trace_id}"
            entry["logging.googleapis.com/spanId"] = trace.span_id
            entry["logging.googleapis.com/trace_sampled"] = trace.sampled
        entry["logging.googleapis.com/sourceLocation"] = {
            "file": record.pathname, "line": str(record.lineno), "function": record.funcName}
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO", project: str = "") -> None:
    if project:
        _project["id"] = project  # the trace field names the project: projects/P/traces/T
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "google.auth", "google.api_core", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def log_context(trace: TraceContext | None = None, **labels: str | None) -> Iterator[None]:
    merged = {**_labels.get(), **{k: str(v) for k, v in labels.items() if v}}
    token = _labels.set(merged)
    trace_token = _trace.set(trace) if trace else None
    try:
        yield
    finally:
        _labels.reset(token)
        if trace_token is not None:
            _trace.reset(trace_token)


def joined_origin() -> str | None:
    """The journey's origin execution bound in this context (by `adopt_trace` or an event's attributes), if any."""
    return _labels.get().get(ORIGIN_LABEL)


def bind(**labels: str | None) -> None:
    """Add labels for the rest of the current context (e.g. once the execution id is known)."""
    _labels.set({**_labels.get(), **{k: str(v) for k, v in labels.items() if v}})


def adopt_trace(traceparent: str | None, origin_execution_id: str | None = None) -> None:
    """Join the journey a stored record belongs to, for the rest of the current context (a finalize event knows its
    upload only once it has read it)."""
    if traceparent:
        _trace.set(continue_trace(traceparent))
    if origin_execution_id:
        bind(**{ORIGIN_LABEL: origin_execution_id})


def current_traceparent() -> str | None:
    trace = _trace.get()
    return trace.traceparent() if trace else None


def current_origin() -> str | None:
    labels = _labels.get()
    return labels.get(ORIGIN_LABEL) or labels.get("execution_id")


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
