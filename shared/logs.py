"""JSON-line logs that Cloud Logging understands, with execution_id, intent_type and tenant_id on every line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_labels: ContextVar[dict[str, str]] = ContextVar("log_labels", default={})  # noqa: B039 - never mutated in place
_trace: ContextVar[str | None] = ContextVar("log_trace", default=None)

_SEVERITY = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL"}


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
            entry["logging.googleapis.com/trace"] = trace
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "google.auth", "google.api_core", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def trace_from_header(header: str | None, project: str) -> str | None:
    if not header:
        return None
    trace_id = header.split("/", 1)[0].strip()
    return f"projects/{project}/traces/{trace_id}" if trace_id else None


@contextmanager
def log_context(trace: str | None = None, **labels: str | None) -> Iterator[None]:
    merged = {**_labels.get(), **{k: str(v) for k, v in labels.items() if v}}
    token = _labels.set(merged)
    trace_token = _trace.set(trace) if trace else None
    try:
        yield
    finally:
        _labels.reset(token)
        if trace_token is not None:
            _trace.reset(trace_token)


def bind(**labels: str | None) -> None:
    """Add labels for the rest of the current context (e.g. once the execution id is known)."""
    _labels.set({**_labels.get(), **{k: str(v) for k, v in labels.items() if v}})


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
