"""Cloud Storage adapter: streaming reads and writes, server-side copies, and V4 signed URLs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import google.auth
import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.transport import requests as auth_requests
from google.cloud import storage  # type: ignore[attr-defined]
from google.oauth2 import service_account

from shared.domain.errors import TransientError
from shared.ports import BlobInfo, ByteSink, SessionState

CHUNK = 8 * 1024 * 1024  # streaming window: memory stays flat whatever the object size
_TRANSIENT = (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.TooManyRequests, gexc.GatewayTimeout)
_RANGE = re.compile(r"^bytes=0-(\d+)$")
SESSION_QUERY_TIMEOUT = 30


def _info(blob: storage.Blob) -> BlobInfo:
    retention = blob.retention
    return BlobInfo(blob.bucket.name, blob.name, int(blob.size or 0), str(blob.generation), blob.content_type,
                    dict(blob.metadata or {}), md5_hash=blob.md5_hash, retain_until=retention.retain_until_time,
                    retention_mode=retention.mode, temporary_hold=bool(blob.temporary_hold))


def committed_from_range(header: str | None) -> int:
    """Bytes a resumable session has persisted, from the `Range: bytes=0-N` of its 308 answer (none yet: no header)."""
    if not header:
        return 0
    found = _RANGE.match(header.strip())
    if found is None:
        raise TransientError(f"unexpected Range header from a resumable session: {header!r}")
    return int(found.group(1)) + 1


class GcsBlobStore:
    def __init__(self, project: str, signing_key_file: str = "", signing_service_account: str = ""):
        self._emulator = os.environ.get("STORAGE_EMULATOR_HOST", "").rstrip("/")
        if self._emulator:
            self.client = storage.Client(project=project, credentials=AnonymousCredentials())
        else:
            self.client = storage.Client(project=project)
        self._signing_key_file = signing_key_file
        self._signing_sa = signing_service_account
        self._signer_creds: Any = None
        self._session_http: requests.Session | None = None

    def _blob(self, bucket: str, name: str, generation: str | None = None) -> storage.Blob:
        return self.client.bucket(bucket).blob(name, generation=int(generation) if generation else None)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        try:
            blob = self.client.bucket(bucket).get_blob(name)
        except gexc.NotFound:
            return None
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        if blob is None:
            return None
        return _info(blob)

    @contextmanager
    def open_read(self, bucket: str, name: str, generation: str | None = None) -> Iterator[BinaryIO]:
        try:
            with self._blob(bucket, name, generation).open("rb", chunk_size=CHUNK) as reader:
                yield reader
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc

    def download_into(self, bucket: str, name: str, generation: str | None, sink: ByteSink) -> bool:
        """Stream the stored bytes into `sink` with one GET, in constant memory; False when the object is gone.

        The client resumes an interrupted transfer where it stopped and checks the crc32c; raw, so a gzip
        Content-Encoding is not undone and the bytes are exactly the object's."""
        try:
            self._blob(bucket, name, generation).download_to_file(sink, raw_download=True, checksum="crc32c")
        except gexc.NotFound:
            return False
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return True

    @contextmanager
    def open_write(self, bucket: str, name: str, content_type: str) -> Iterator[BinaryIO]:
        try:
            with self._blob(bucket, name).open("wb", content_type=content_type, chunk_size=CHUNK, ignore_flush=True) as writer:
                yield writer
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc

    def write_bytes_if_absent(self, bucket: str, name: str, data: bytes, content_type: str) -> bool:
        """Create-only write: False when the object already exists (no second stored copy)."""
        try:
            self._blob(bucket, name).upload_from_string(data, content_type=content_type, if_generation_match=0)
        except gexc.PreconditionFailed:
            return False
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return True

    def copy(self, src_bucket: str, src_name: str, dst_bucket: str, dst_name: str) -> BlobInfo:
        """Server-side rewrite: the bytes never pass through this function."""
        src = self._blob(src_bucket, src_name)
        dst = self._blob(dst_bucket, dst_name)
        try:
            token, _, _ = dst.rewrite(src)
            while token is not None:
                token, _, _ = dst.rewrite(src, token=token)
            dst.reload()
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return _info(dst)

    def delete(self, bucket: str, name: str, generation: str | None = None) -> bool:
        try:
            self._blob(bucket, name, generation).delete()
        except gexc.NotFound:
            return False
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return True

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        return [b.name for b in self.client.list_blobs(bucket, prefix=prefix)]

    def set_retention(self, bucket: str, name: str, retain_until: datetime) -> BlobInfo:
        """Object Retention Lock, Locked mode: PATCH {"retention": {"mode": "Locked", "retainUntilTime": ...}}
        (https://cloud.google.com/storage/docs/json_api/v1/objects/patch). Locked can only be extended, never
        shortened or removed, so a retry with a later time is accepted; the bucket must have object retention on."""
        blob = self._blob(bucket, name)
        blob.retention.mode = "Locked"
        blob.retention.retain_until_time = retain_until
        try:
            blob.patch()
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return _info(blob)

    def set_temporary_hold(self, bucket: str, name: str, held: bool) -> BlobInfo | None:
        """PATCH {"temporaryHold": true|false}: a held object cannot be deleted or replaced, and lifecycle rules
        skip it (https://cloud.google.com/storage/docs/object-holds). None when the object is gone."""
        blob = self._blob(bucket, name)
        blob.temporary_hold = held
        try:
            blob.patch()
        except gexc.NotFound:
            return None
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc
        return _info(blob)

    # signing
    def _sign_kwargs(self) -> dict[str, Any]:
        if self._signing_key_file:
            if self._signer_creds is None:
                self._signer_creds = service_account.Credentials.from_service_account_file(self._signing_key_file)
            return {"credentials": self._signer_creds}
        # Production: no key on disk; IAM signBlob signs with the function's own service account.
        if self._signer_creds is None:
            self._signer_creds, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        if not self._signer_creds.valid:
            self._signer_creds.refresh(auth_requests.Request())
        email = self._signing_sa or getattr(self._signer_creds, "service_account_email", None)
        return {"service_account_email": email, "access_token": self._signer_creds.token}

    def _endpoint(self) -> dict[str, Any]:
        return {"api_access_endpoint": self._emulator} if self._emulator else {}

    def signed_put_url(self, bucket: str, name: str, content_type: str, headers: dict[str, str], ttl_seconds: int) -> str:
        return str(self._blob(bucket, name).generate_signed_url(
            version="v4", method="PUT", expiration=timedelta(seconds=ttl_seconds), content_type=content_type,
            headers=headers, **self._endpoint(), **self._sign_kwargs(),
        ))

    def signed_get_url(self, bucket: str, name: str, ttl_seconds: int) -> str:
        return str(self._blob(bucket, name).generate_signed_url(
            version="v4", method="GET", expiration=timedelta(seconds=ttl_seconds), **self._endpoint(), **self._sign_kwargs(),
        ))

    # resumable sessions (JSON API `uploadType=resumable`: the one that real GCS and fake-gcs-server both accept)
    def start_resumable_upload(self, bucket: str, name: str, content_type: str, size: int, origin: str | None = None) -> str:
        """A session pinned to this size (X-Upload-Content-Length), content type, and create-only (ifGenerationMatch=0).

        The session URL itself authorizes the upload, so the client needs no credentials of ours."""
        blob = self._blob(bucket, name)
        blob.content_type = content_type
        try:
            return str(blob.create_resumable_upload_session(
                content_type=content_type, size=size, origin=origin, checksum=None, if_generation_match=0,
            ))
        except _TRANSIENT as exc:
            raise TransientError(str(exc)) from exc

    def query_resumable_upload(self, session_url: str, size: int) -> SessionState:
        """Ask the session how many bytes it holds (see `query_session`).

        fake-gcs-server finalizes the object on that request instead of answering it (fsouza/fake-gcs-server#1362,
        #2354), which would store a truncated file; against the emulator the state is reported as unknown."""
        if self._emulator:
            return SessionState(committed=0, known=False)
        if self._session_http is None:
            self._session_http = requests.Session()
        return query_session(self._session_http, session_url, size)


def query_session(http: requests.Session, session_url: str, size: int) -> SessionState:
    """An empty PUT with `Content-Range: bytes */SIZE`, read as Cloud Storage documents its answers
    (https://cloud.google.com/storage/docs/performing-resumable-uploads#status-check and
    https://cloud.google.com/storage/docs/resumable-uploads): 308 with `Range: bytes=0-N` holds N+1 bytes, 308 with
    no `Range` holds none; 200 or 201 is complete; 404 or 410 is a session that expired or was cancelled (499 is
    what a cancelled session answers on the XML API); 429 and 5xx are worth retrying."""
    try:
        resp = http.put(session_url, data=b"", headers={"Content-Range": f"bytes */{size}"}, timeout=SESSION_QUERY_TIMEOUT)
    except requests.RequestException as exc:
        raise TransientError(f"resumable session query failed: {exc}") from exc
    if resp.status_code == 308:
        return SessionState(committed=committed_from_range(resp.headers.get("Range")))
    if resp.status_code in (200, 201):
        return SessionState(committed=size, complete=True)
    if resp.status_code in (404, 410, 499):
        return SessionState(committed=0, gone=True)
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientError(f"resumable session query answered {resp.status_code}")
    raise TransientError(f"resumable session query answered {resp.status_code}: {resp.text[:200]}")
