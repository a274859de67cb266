"""Resumable sessions as Cloud Storage documents them: created with the browser's Origin, queried for their offset.

fake-gcs-server neither binds CORS to a session's origin nor answers an offset query (it finalizes the object
instead: fsouza/fake-gcs-server#1362, #2354), so the adapter's side of the protocol is checked here against a small
local server that answers exactly what the documentation says, and nothing else:
- https://cloud.google.com/storage/docs/performing-resumable-uploads#initiate-session: the session is created by a
  POST `uploadType=resumable`; its `Location` is the session URI. "If you use CORS with resumable uploads, the
  Origin of the initial request is the one the session answers" (and https://cloud.google.com/storage/docs/cross-origin:
  the response carries `Access-Control-Allow-Origin` only for a matching origin).
- https://cloud.google.com/storage/docs/performing-resumable-uploads#status-check: an empty PUT with
  `Content-Range: bytes */SIZE` answers `308` with `Range: bytes=0-N` when N+1 bytes are persisted, `308` with no
  `Range` when none are, and `200`/`201` with the object when the upload is complete.
- https://cloud.google.com/storage/docs/resumable-uploads#session-uris and the JSON API's cancel
  (https://cloud.google.com/storage/docs/performing-resumable-uploads#cancel-upload): a session expires after one
  week, and an expired or cancelled session answers `404 Not Found` or `410 Gone`.
The plumbing from the HTTP edge to the session (the caller's allowed Origin reaching `start_resumable_upload`, and
kept on the upload record) runs over the emulators below."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shared.adapters.gcs import GcsBlobStore, query_session
from shared.bootstrap import set_services
from shared.domain.errors import TransientError
from shared.settings import RESUMABLE_GRANULE, get_settings

APP_ORIGIN = "https://app.example.com"
_CHUNK = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass
class DocumentedSession:
    size: int
    origin: str | None
    committed: int = 0
    state: str = "open"  # open | complete | expired | cancelled


class Documented(BaseHTTPRequestHandler):
    """Cloud Storage's documented answers for resumable sessions (see the module docstring)."""

    sessions: dict[str, DocumentedSession] = {}
    created: list[dict[str, str | None]] = []

    def do_POST(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        metadata = json.loads(self._drain() or b"{}")  # the object resource: its name, for the JSON API
        if query.get("uploadType") != ["resumable"]:
            self._send(400)
            return
        session_id = f"s{len(self.sessions) + 1}"
        size = int(self.headers.get("X-Upload-Content-Length") or 0)
        self.sessions[session_id] = DocumentedSession(size=size, origin=self.headers.get("Origin"))
        self.created.append({"origin": self.headers.get("Origin"), "name": (query.get("name") or [metadata.get("name")])[0],
                             "content_type": self.headers.get("X-Upload-Content-Type")})
        host = self.headers["Host"]
        self._send(200, {"Location": f"http://{host}/upload/storage/v1/b/b/o?uploadType=resumable&upload_id={session_id}"})

    def do_PUT(self) -> None:
        session_id = (parse_qs(urlsplit(self.path).query).get("upload_id") or [""])[0]
        session = self.sessions.get(session_id)
        body = self._drain()
        if self.path.startswith("/busy"):
            self._send(503)
            return
        if session is None or session.state == "expired":
            self._send(404)
            return
        if session.state == "cancelled":
            self._send(410)
            return
        cors = {"Access-Control-Allow-Origin": session.origin} if session.origin and \
            self.headers.get("Origin") == session.origin else {}
        if session.state == "complete":
            self._send(200, cors, {"name": "o", "size": str(session.size)})
            return
        content_range = self.headers.get("Content-Range", "")
        if content_range == f"bytes */{session.size}" and not body:  # the offset query
            self._progress(session, cors)
            return
        found = _CHUNK.match(content_range)
        if found is None or int(found.group(1)) != session.committed:
            self._send(400, cors)
            return
        session.committed += len(body)
        if found.group(3) != "*" and session.committed == int(found.group(3)):
            session.state = "complete"
            self._send(200, cors, {"name": "o", "size": str(session.size)})
            return
        self._progress(session, cors)

    def _progress(self, session: DocumentedSession, cors: dict[str, str]) -> None:
        headers = dict(cors)
        if session.committed:
            headers["Range"] = f"bytes=0-{session.committed - 1}"
        self._send(308, headers)

    def _drain(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str] | None = None, body: dict | None = None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def documented() -> Iterator[str]:
    Documented.sessions, Documented.created = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Documented)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def store(documented, monkeypatch) -> GcsBlobStore:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", documented)
    return GcsBlobStore("test-project")


def _chunk(url: str, start: int, data: bytes, total: int | str, origin: str | None = None) -> requests.Response:
    headers = {"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"}
    if origin:
        headers["Origin"] = origin
    return requests.put(url, data=data, headers=headers, timeout=10)


def test_a_session_is_created_with_the_callers_origin_and_answers_that_origin_only(store: GcsBlobStore) -> None:
    url = store.start_resumable_upload("b", "tenants/t/o", "text/csv", 2 * RESUMABLE_GRANULE, origin=APP_ORIGIN)
    assert Documented.created == [{"origin": APP_ORIGIN, "name": "tenants/t/o", "content_type": "text/csv"}]
    mine = _chunk(url, 0, b"x" * RESUMABLE_GRANULE, "*", origin=APP_ORIGIN)
    assert mine.status_code == 308 and mine.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    other = _chunk(url, RESUMABLE_GRANULE, b"x" * RESUMABLE_GRANULE, 2 * RESUMABLE_GRANULE, origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_session_made_without_an_origin_sends_none(store: GcsBlobStore) -> None:
    store.start_resumable_upload("b", "o", "text/csv", RESUMABLE_GRANULE)
    assert Documented.created[0]["origin"] is None


def test_the_offset_query_reads_each_documented_answer(store: GcsBlobStore) -> None:
    size = 3 * RESUMABLE_GRANULE
    url = store.start_resumable_upload("b", "o", "application/octet-stream", size, origin=APP_ORIGIN)
    http = requests.Session()
    # 308 with no Range: nothing persisted yet
    assert query_session(http, url, size).committed == 0
    assert not query_session(http, url, size).complete
    # 308 with Range: bytes=0-262143 after one chunk
    assert _chunk(url, 0, b"a" * RESUMABLE_GRANULE, "*").status_code == 308
    state = query_session(http, url, size)
    assert (state.committed, state.complete, state.gone, state.known) == (RESUMABLE_GRANULE, False, False, True)
    # 200 once complete
    assert _chunk(url, RESUMABLE_GRANULE, b"b" * (2 * RESUMABLE_GRANULE), size).status_code == 200
    state = query_session(http, url, size)
    assert state.complete and state.committed == size


def test_an_expired_or_cancelled_session_is_gone(store: GcsBlobStore) -> None:
    http = requests.Session()
    for state, status in (("expired", 404), ("cancelled", 410)):
        url = store.start_resumable_upload("b", f"o-{state}", "text/csv", RESUMABLE_GRANULE)
        Documented.sessions[f"s{len(Documented.sessions)}"].state = state
        assert requests.put(url, data=b"", headers={"Content-Range": f"bytes */{RESUMABLE_GRANULE}"},
                            timeout=10).status_code == status
        answer = query_session(http, url, RESUMABLE_GRANULE)
        assert answer.gone and answer.committed == 0


def test_a_server_fault_on_the_query_is_transient_and_an_unknown_session_is_gone(documented: str) -> None:
    assert query_session(requests.Session(), f"{documented}/upload?upload_id=unknown", 10).gone
    with pytest.raises(TransientError):  # 5xx: retry (https://cloud.google.com/storage/docs/retry-strategy)
        query_session(requests.Session(), f"{documented}/busy?upload_id=x", 10)


# ---- the edge passes the allowed Origin through to the session, over the emulators --------------------------------

@pytest.fixture
def cors_services(services, monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f'["{APP_ORIGIN}"]')
    get_settings.cache_clear()
    set_services(None)
    yield
    get_settings.cache_clear()
    set_services(None)


def _request(client, auth, origin: str | None) -> dict:
    headers = auth(tenant="tenant-origin") | ({"Origin": origin} if origin else {})
    resp = client.post("/v1/intents/request_upload", headers=headers, json={
        "parameters": {"ui_name": "big.csv", "file_size": 20 * 1024 * 1024, "mime_type": "text/csv"}})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["upload_protocol"] == "resumable"
    return resp.get_json()


def test_request_upload_and_resume_create_sessions_for_the_allowed_origin_only(cors_services, function_client, auth):
    from shared.bootstrap import get_services

    client = function_client("ingest", "ingest_http")
    store = get_services().store
    browser = _request(client, auth, APP_ORIGIN)
    assert store.get_upload("tenant-origin", browser["upload_id"]).session_origin == APP_ORIGIN
    stranger = _request(client, auth, "https://evil.example")
    assert store.get_upload("tenant-origin", stranger["upload_id"]).session_origin is None

    cli = _request(client, auth, None)  # started by the CLI, resumed by the browser: a session for the browser
    resumed = client.post(f"/v1/uploads/{cli['upload_id']}/resume", headers=auth(tenant="tenant-origin") | {"Origin": APP_ORIGIN})
    assert resumed.status_code == 200, resumed.get_json()
    record = store.get_upload("tenant-origin", cli["upload_id"])
    assert record.session_origin == APP_ORIGIN
    assert resumed.get_json()["upload_url"] == record.session_url != cli["upload_url"]
