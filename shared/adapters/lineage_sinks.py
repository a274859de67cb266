"""Where OpenLineage RunEvents go. Every sink is idempotent per event (run id and state, `event_key`), because the
outbox delivers at least once.

- `JsonlLineageSink`: the local stack's `.local/lineage/events.jsonl`, one event a line. Many processes append to it,
  so each append holds an exclusive lock and first reads what others wrote since, to skip events already there.
- `HttpLineageSink`: `POST {OPENLINEAGE_URL}/api/v1/lineage`, Marquez's endpoint (Marquez upserts a run by id and
  state, so a repeated event changes nothing).
- `DataplexLineageSink`: the Data Lineage API's `processOpenLineageRunEvent`, with `requestId` = the event key: "the
  request is idempotent only if a requestId is provided"
  (https://cloud.google.com/data-catalog/docs/reference/data-lineage/rest/v1/projects.locations/processOpenLineageRunEvent).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

import requests

from shared.domain.errors import TransientError
from shared.lineage.events import event_key
from shared.logs import get_logger

log = get_logger(__name__)
HTTP_TIMEOUT_SECONDS = 10
DATALINEAGE_API = "https://datalineage.googleapis.com/v1"


class JsonlLineageSink:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._seen: set[str] = set()
        self._offset = 0
        self._lock = threading.Lock()

    def _catch_up(self, handle: Any) -> None:
        """Read the lines appended since this process last looked (by any process) into the seen keys."""
        handle.seek(self._offset)
        for line in handle:
            try:
                self._seen.add(event_key(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line is not ours to judge
        self._offset = handle.tell()

    def emit(self, events: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)
                fresh = [e for e in events if event_key(e) not in self._seen]
                if fresh:
                    handle.seek(0, os.SEEK_END)
                    handle.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in fresh))
                    handle.flush()
                    os.fsync(handle.fileno())
                    self._seen.update(event_key(e) for e in fresh)
                    self._offset = handle.tell()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class HttpLineageSink:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.url = base_url.rstrip("/") + "/api/v1/lineage"
        self._session = session or requests.Session()

    def emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            try:
                response = self._session.post(self.url, json=event, timeout=HTTP_TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                raise TransientError(f"lineage POST failed: {exc}") from exc
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientError(f"lineage POST answered {response.status_code}")
            if response.status_code >= 400:  # a refused event would be refused again: log it, do not hold the outbox
                log.error("lineage event refused", extra={"fields": {"status": response.status_code,
                                                                    "body": response.text[:500]}})


class DataplexLineageSink:
    def __init__(self, project_id: str, location: str, session: Any = None):
        self.url = f"{DATALINEAGE_API}/projects/{project_id}/locations/{location}:processOpenLineageRunEvent"
        self._session = session

    def _client(self) -> Any:
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self._session = AuthorizedSession(credentials)
        return self._session

    def emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            try:
                response = self._client().post(self.url, params={"requestId": event_key(event)}, json=event,
                                               timeout=HTTP_TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                raise TransientError(f"processOpenLineageRunEvent failed: {exc}") from exc
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientError(f"processOpenLineageRunEvent answered {response.status_code}")
            if response.status_code >= 400:
                log.error("lineage event refused", extra={"fields": {"status": response.status_code,
                                                                    "body": response.text[:500]}})


class FanOutLineageSink:
    def __init__(self, sinks: list[Any]):
        self.sinks = sinks

    def emit(self, events: list[dict[str, Any]]) -> None:
        for sink in self.sinks:
            sink.emit(events)


def lineage_sink(settings: Any) -> FanOutLineageSink | None:
    """The sinks the settings name: `jsonl` (local) or `dataplex` (production), plus OPENLINEAGE_URL when set."""
    sinks: list[Any] = []
    if settings.lineage_sink == "jsonl":
        sinks.append(JsonlLineageSink(settings.lineage_file))
    elif settings.lineage_sink == "dataplex":
        sinks.append(DataplexLineageSink(settings.project_id, settings.lineage_location))
    if settings.openlineage_url:
        sinks.append(HttpLineageSink(settings.openlineage_url))
    return FanOutLineageSink(sinks) if sinks else None
