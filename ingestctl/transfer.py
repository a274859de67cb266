"""Sending files: `request_upload`, then one PUT or a resumable session filled chunk by chunk.

Each file's progress is kept in the config dir after every committed chunk, so running the same command again after
an interruption (Ctrl-C, a kill, a lost network) goes on from the committed offset on the same session instead of
starting again. A session the store no longer knows is recovered through `POST /v1/uploads/{id}/resume`."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from ingestctl.client import Api, CliError, error_from
from ingestctl.config import read_json, uploads_dir, write_private

GRANULE = 256 * 1024
CHUNK_TRIES = 6
CONNECT_TIMEOUT, READ_TIMEOUT = 15, 600
_RANGE = re.compile(r"^bytes=0-(\d+)$")


class Cancelled(Exception):
    """The user interrupted the run; what was committed stays committed."""


class Reporter(Protocol):
    def bytes_done(self, job: FileJob, completed: int) -> None: ...
    def note(self, job: FileJob, text: str) -> None: ...


@dataclass(frozen=True)
class FileJob:
    path: Path
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def of(cls, path: Path) -> FileJob:
        info = path.stat()
        return cls(path.resolve(), info.st_size, info.st_mtime_ns)


@dataclass
class Options:
    profile: str | None = None
    wait: bool = False
    save: bool = False
    chunk_bytes: int = 64 * 1024 * 1024  # rounded up to a multiple of the service's chunk_size
    timeout: float = 600.0


@dataclass
class FileResult:
    job: FileJob
    upload_id: str | None = None
    file_id: str | None = None
    upload_status: str | None = None
    upload_protocol: str | None = None
    resumed_from: int | None = None
    bytes_sent: int = 0
    upload_seconds: float = 0.0
    execution_id: str | None = None
    execution_status: str | None = None
    parsed_artifact_id: str | None = None
    saved: list[str] = field(default_factory=list)
    error: CliError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.upload_status == "ingested" and self.execution_status in (None, "completed")

    def as_json(self, waited: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "path": str(self.job.path), "bytes": self.job.size, "upload_id": self.upload_id, "file_id": self.file_id,
            "upload_status": self.upload_status, "upload_protocol": self.upload_protocol,
            "resumed_from": self.resumed_from, "bytes_sent": self.bytes_sent,
            "upload_seconds": round(self.upload_seconds, 3),
        }
        if waited or self.execution_id:
            body["execution_id"] = self.execution_id
        body["status"] = self.execution_status if waited and self.execution_id else self.upload_status
        if self.parsed_artifact_id:
            body["parsed_artifact_id"] = self.parsed_artifact_id
        if self.saved:
            body["saved"] = self.saved
        if self.error is not None:
            body["status"] = "failed"
            body.update(self.error.as_json())
        return body


def committed_from_range(header: str | None) -> int:
    if not header:
        return 0
    found = _RANGE.match(header.strip())
    if found is None:
        raise CliError(f"the storage answered an unexpected Range: {header!r}")
    return int(found.group(1)) + 1


class _Body:
    """A slice of a file as a request body, sent in 1 MiB pieces with a Content-Length: reports progress as it is
    read and stops when the run is cancelled (the storage then discards the incomplete chunk)."""

    PIECE = 1024 * 1024

    def __init__(self, stream: IO[bytes], offset: int, length: int, on_read: Callable[[int], None], cancel: threading.Event):
        self._stream, self._offset, self._length, self._on_read, self._cancel = stream, offset, length, on_read, cancel

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        self._stream.seek(self._offset)
        left = self._length
        while left > 0:
            if self._cancel.is_set():
                raise Cancelled()
            data = self._stream.read(min(self.PIECE, left))
            if not data:
                raise CliError("the file got shorter while it was being uploaded")
            left -= len(data)
            self._on_read(len(data))
            yield data


class Uploader:
    def __init__(self, api: Api, state_owner: str, options: Options, reporter: Reporter, cancel: threading.Event):
        self.api = api
        self.owner = state_owner
        self.options = options
        self.reporter = reporter
        self.cancel = cancel
        self.storage = requests.Session()  # session and signed URLs carry their own authority: no token sent there

    # ---- local state ----
    def _state_path(self, job: FileJob) -> Path:
        key = hashlib.sha256(f"{self.api.base}\0{self.owner}\0{job.path}\0{job.size}\0{job.mtime_ns}".encode()).hexdigest()
        return uploads_dir() / f"{key[:40]}.json"

    def _save(self, job: FileJob, state: dict[str, Any]) -> None:
        write_private(self._state_path(job), state)

    def _forget(self, job: FileJob) -> None:
        self._state_path(job).unlink(missing_ok=True)

    # ---- the run for one file ----
    def run(self, job: FileJob) -> FileResult:
        result = FileResult(job)
        try:
            self._run(job, result)
        except Cancelled:
            raise
        except CliError as exc:
            result.error = exc
        except Exception as exc:  # noqa: BLE001 - one file's surprise must not hide the others' results
            result.error = CliError(f"{job.name}: unexpected {type(exc).__name__}: {exc}")
        return result

    def _run(self, job: FileJob, result: FileResult) -> None:
        if job.size == 0:
            raise CliError(f"{job.name} is empty; there is nothing to upload")
        state = self._resume_state(job, result)
        if state is None:
            state = self._request_upload(job)
            self._save(job, state)
        result.upload_id, result.upload_protocol = state["upload_id"], state["upload_protocol"]
        if state.get("file_id") is None:
            if state["committed"] < job.size:
                before, started = int(state["committed"]), time.perf_counter()
                if state["upload_protocol"] == "resumable":
                    self._send_chunks(job, state)
                else:
                    self._send_whole(job, state)
                result.upload_seconds = time.perf_counter() - started
                result.bytes_sent = job.size - before
            self.reporter.bytes_done(job, job.size)
            self.reporter.note(job, "ingesting")
            state["file_id"] = self._wait_ingested(job, state)
            self._save(job, state)
        result.file_id, result.upload_status = state["file_id"], "ingested"
        self._after_ingest(job, state, result)
        self._forget(job)

    def _resume_state(self, job: FileJob, result: FileResult) -> dict[str, Any] | None:
        state = read_json(self._state_path(job))
        if state is None or state.get("upload_id") is None:
            return None
        try:
            where = self.api.call("GET", f"/v1/uploads/{state['upload_id']}", expect=(200,))
        except CliError as exc:
            if exc.status == 404:
                self._forget(job)
                return None
            raise
        if where["status"] == "rejected":
            self._forget(job)
            raise CliError(f"{job.name} was rejected by the service: {where.get('reason')}", error_code="UPLOAD_REJECTED")
        if where["status"] == "ingested":
            state["file_id"] = where["file_id"]
        result.resumed_from = int(state.get("committed", 0))
        self.reporter.bytes_done(job, result.resumed_from)
        return state

    def _request_upload(self, job: FileJob) -> dict[str, Any]:
        mime = mimetypes.guess_type(job.name)[0] or "application/octet-stream"
        body = self.api.call("POST", "/v1/intents/request_upload", expect=(201,), json={"parameters": {
            "ui_name": job.name, "filename": job.name, "file_size": job.size, "mime_type": mime}})
        return {
            "path": str(job.path), "size": job.size, "mtime_ns": job.mtime_ns, "api": self.api.base,
            "upload_id": body["upload_id"], "upload_protocol": body.get("upload_protocol", "single_put"),
            "upload_url": body["upload_url"], "headers": body.get("headers", {}),
            "chunk_size": int(body.get("chunk_size") or 0), "committed": 0, "file_id": None,
            "parse_execution_id": None, "started_at": time.time(),
        }

    def _progress(self, job: FileJob, base: int) -> Callable[[int], None]:
        sent = [base]

        def on_read(n: int) -> None:
            sent[0] += n
            self.reporter.bytes_done(job, sent[0])

        return on_read

    def _send_whole(self, job: FileJob, state: dict[str, Any]) -> None:
        for attempt in range(CHUNK_TRIES):
            with job.path.open("rb") as stream:
                body = _Body(stream, 0, job.size, self._progress(job, 0), self.cancel)
                try:
                    resp = self.storage.put(state["upload_url"], data=body, headers=state["headers"],
                                            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                except requests.RequestException:
                    self._backoff(job, attempt)
                    continue
            if resp.status_code in (200, 201) or resp.status_code == 412:  # 412: an earlier run already stored it
                state["committed"] = job.size
                self._save(job, state)
                return
            if resp.status_code in (400, 401, 403):  # the signed URL expired: ask for a fresh one
                fresh = self._service_resume(job, state)
                if fresh is None:
                    return
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                self._backoff(job, attempt)
                continue
            raise error_from(resp, f"uploading {job.name}")
        raise CliError(f"uploading {job.name} kept failing; run the command again to retry")

    def _send_chunks(self, job: FileJob, state: dict[str, Any]) -> None:
        unit = max(GRANULE, int(state["chunk_size"]) or GRANULE)
        chunk = max(1, -(-self.options.chunk_bytes // unit)) * unit
        failures = 0
        recovered = False
        with job.path.open("rb") as stream:
            while state["committed"] < job.size:
                offset = int(state["committed"])
                length = min(chunk, job.size - offset)
                body = _Body(stream, offset, length, self._progress(job, offset), self.cancel)
                headers = {**state["headers"], "Content-Range": f"bytes {offset}-{offset + length - 1}/{job.size}"}
                try:
                    resp = self.storage.put(state["upload_url"], data=body, headers=headers,
                                            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                except requests.RequestException:
                    failures += 1
                    if failures >= CHUNK_TRIES:
                        raise CliError(f"uploading {job.name} kept failing at byte {offset}; "
                                       "run the command again to resume") from None
                    self._backoff(job, failures)
                    continue
                if resp.status_code == 308:
                    state["committed"] = committed_from_range(resp.headers.get("Range"))
                elif resp.status_code in (200, 201):
                    state["committed"] = job.size
                elif resp.status_code in (404, 410) or (400 <= resp.status_code < 500 and not recovered):
                    # The session is gone or refuses us: the service knows where it stands.
                    recovered = True
                    if self._service_resume(job, state) is None:
                        return
                    continue
                elif resp.status_code >= 500 or resp.status_code == 429:
                    failures += 1
                    if failures >= CHUNK_TRIES:
                        raise error_from(resp, f"uploading {job.name}")
                    self._backoff(job, failures)
                    continue
                else:
                    raise error_from(resp, f"uploading {job.name}")
                failures, recovered = 0, False
                self._save(job, state)
                self.reporter.bytes_done(job, state["committed"])

    def _service_resume(self, job: FileJob, state: dict[str, Any]) -> dict[str, Any] | None:
        """Ask the service where the upload stands; None when no more bytes are needed."""
        answer = self.api.call("POST", f"/v1/uploads/{state['upload_id']}/resume", expect=(200,))
        if answer["status"] != "awaiting_upload" or "upload_url" not in answer:
            state["committed"] = job.size
            self._save(job, state)
            return None
        state.update(upload_url=answer["upload_url"], headers=answer.get("headers", {}),
                     committed=int(answer["committed_bytes"]), chunk_size=int(answer.get("chunk_size") or state["chunk_size"]))
        self._save(job, state)
        self.reporter.bytes_done(job, state["committed"])
        return answer

    def _backoff(self, job: FileJob, attempt: int) -> None:
        self.reporter.note(job, f"retrying (attempt {attempt + 1})")
        if self.cancel.wait(min(2 ** attempt, 20)):
            raise Cancelled()

    def _wait_ingested(self, job: FileJob, state: dict[str, Any]) -> str:
        deadline = time.monotonic() + self.options.timeout
        while True:
            where = self.api.call("GET", f"/v1/uploads/{state['upload_id']}", expect=(200,))
            if where["status"] == "ingested":
                return str(where["file_id"])
            if where["status"] == "rejected":
                self._forget(job)
                raise CliError(f"{job.name} was rejected by the service: {where.get('reason')}", error_code="UPLOAD_REJECTED")
            if time.monotonic() > deadline:
                raise CliError(f"{job.name} is stored but not yet ingested after {self.options.timeout:.0f}s; "
                               f"check later with `ingestctl ls` (upload {state['upload_id']})")
            if self.cancel.wait(0.3):
                raise Cancelled()

    # ---- after ingestion: parse, follow, save ----
    def _after_ingest(self, job: FileJob, state: dict[str, Any], result: FileResult) -> None:
        opts = self.options
        file_id = state["file_id"]
        if opts.profile and not state.get("parse_execution_id"):
            accepted = self.api.call("POST", "/v1/intents/parse_content", expect=(200, 201, 202),
                                     headers={"Idempotency-Key": f"ingestctl-parse-{state['upload_id']}"},
                                     json={"parameters": {"file_id": file_id, "ingestion_profile": opts.profile}})
            state["parse_execution_id"] = accepted["execution_id"]
            self._save(job, state)
        result.execution_id = state.get("parse_execution_id")
        if result.execution_id and (opts.wait or opts.save):
            execution = follow_execution(self.api, result.execution_id, opts.timeout, self.cancel,
                                         lambda stage: self.reporter.note(job, f"parse: {stage}"))
            result.execution_status = execution["status"]
            result.parsed_artifact_id = (execution.get("result") or {}).get("artifact_id")
            if execution["status"] == "failed":
                raise CliError(f"parsing {job.name} failed: {execution.get('error') or 'no reason given'}",
                               error_code=execution.get("error_code"), execution_id=result.execution_id)
        elif result.execution_id:
            result.execution_status = "accepted"
        if opts.save:
            for artifact_id in (file_id, result.parsed_artifact_id):
                if artifact_id:
                    self.reporter.note(job, f"saving {artifact_id}")
                    save_artifact(self.api, artifact_id)
                    result.saved.append(artifact_id)


def save_artifact(api: Api, artifact_id: str) -> dict[str, Any]:
    return api.call("POST", "/v1/intents/save_materialization", expect=(200, 201),
                    headers={"Idempotency-Key": f"ingestctl-save-{artifact_id}"},
                    json={"parameters": {"artifact_id": artifact_id}})


def follow_execution(api: Api, execution_id: str, timeout: float, cancel: threading.Event,
                     on_stage: Callable[[str], None]) -> dict[str, Any]:
    """Poll an execution until it is completed or failed, reporting each new stage as it appears."""
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        execution = api.call("GET", f"/v1/executions/{execution_id}", expect=(200,))
        stages = execution.get("stages") or []
        for entry in stages[seen:]:
            on_stage(str(entry.get("stage") or entry.get("name") or entry))
        seen = len(stages)
        if execution.get("status") in ("completed", "failed"):
            return execution
        if time.monotonic() > deadline:
            raise CliError(f"execution {execution_id} is still {execution.get('status')} after {timeout:.0f}s",
                           execution_id=execution_id)
        if cancel.wait(0.4):
            raise Cancelled()
