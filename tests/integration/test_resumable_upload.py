"""Resumable uploads on the local stack, driven by a bare HTTP client through the gateway and straight to storage:
interrupted mid-chunk and resumed, resumed after losing all state, a session pinned to one size, create-only."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
from urllib.parse import urlsplit

import pytest
import requests

from shared.adapters.gcs import committed_from_range
from shared.domain.errors import FILE_TOO_LARGE_MESSAGE, TransientError
from shared.settings import MAX_UPLOAD_BYTES, RESUMABLE_GRANULE, Settings
from shared.usecases.request_upload import too_large_message

MIB = 1024 * 1024
CONTENT = os.urandom(20 * MIB)  # over the 8 MiB threshold: three chunks of the default 8 MiB
SHA256 = hashlib.sha256(CONTENT).hexdigest()


# ---- pure: the pieces of the protocol that need no I/O ------------------------------------------------------------

def test_the_413_message_is_the_seeds_at_the_default_and_names_a_raised_limit():
    assert too_large_message(MAX_UPLOAD_BYTES) == FILE_TOO_LARGE_MESSAGE
    assert too_large_message(1024 * MIB) == "File size exceeds 1024MB limit. Maximum allowed size is 1024MB."


def test_the_committed_offset_is_read_from_the_sessions_range_header():
    assert committed_from_range(None) == 0
    assert committed_from_range("bytes=0-262143") == RESUMABLE_GRANULE
    with pytest.raises(TransientError):
        committed_from_range("bytes=5-9")


def test_chunk_size_settings_are_multiples_of_256_kib():
    assert Settings().resumable_chunk_bytes % RESUMABLE_GRANULE == 0
    with pytest.raises(ValueError):
        Settings(resumable_chunk_bytes=RESUMABLE_GRANULE + 1)


# ---- on the stack -------------------------------------------------------------------------------------------------

@pytest.fixture
def api(stack, token_factory):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_factory('tenant-resume', 'user-1', f's-{time.monotonic_ns()}')}"

    def call(method: str, path: str, **kwargs):
        return session.request(method, stack.gateway_url + path, timeout=60, **kwargs)

    return call


def request_upload(api, size: int, **params) -> dict:
    resp = api("POST", "/v1/intents/request_upload", json={"parameters": {
        "ui_name": "big.bin", "file_size": size, "mime_type": "application/octet-stream", **params}})
    assert resp.status_code == 201, resp.text
    return resp.json()


def put_chunk(upload: dict, start: int, data: bytes, total: int) -> requests.Response:
    end = start + len(data) - 1
    return requests.put(upload["upload_url"], data=data, timeout=120,
                        headers={**upload["headers"], "Content-Range": f"bytes {start}-{end}/{total}"})


def send_from(upload: dict, offset: int, content: bytes, chunk: int) -> requests.Response:
    """The rest of the file from offset, chunk by chunk, following the session's committed Range."""
    while True:
        piece = content[offset:offset + chunk]
        resp = put_chunk(upload, offset, piece, len(content))
        if resp.status_code != 308:
            return resp
        offset = committed_from_range(resp.headers.get("Range"))


def cut_mid_chunk(upload: dict, start: int, data: bytes, total: int) -> None:
    """A chunk PUT whose connection dies half-way through the body, as a killed client leaves it."""
    url = urlsplit(upload["upload_url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", f"{url.path}?{url.query}")
    for name, value in {**upload["headers"], "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}",
                        "Content-Length": str(len(data))}.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(data[: len(data) // 2])
    conn.close()


def wait_finished(api, upload_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api("GET", f"/v1/uploads/{upload_id}").json()
        if body["status"] != "awaiting_upload" or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def file_hash(api, file_id: str) -> str:
    resp = api("GET", f"/v1/artifacts/{file_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["file_hash"]


def test_small_files_get_one_put_and_large_files_a_resumable_session(api):
    small = request_upload(api, 1024)
    assert small["upload_protocol"] == "single_put" and "chunk_size" not in small
    large = request_upload(api, len(CONTENT))
    assert large["upload_protocol"] == "resumable" and large["method"] == "PUT"
    assert large["chunk_size"] % RESUMABLE_GRANULE == 0 and large["file_size"] == len(CONTENT)
    assert large["object_name"].endswith(large["upload_id"])  # the name is the server's
    assert "uploadType=resumable" in large["upload_url"]


def test_a_client_cut_off_mid_chunk_resumes_from_its_committed_offset(api):
    upload = request_upload(api, len(CONTENT))
    chunk = upload["chunk_size"]
    first = put_chunk(upload, 0, CONTENT[:chunk], len(CONTENT))
    assert first.status_code == 308
    offset = committed_from_range(first.headers.get("Range"))
    assert offset == chunk
    cut_mid_chunk(upload, offset, CONTENT[offset:offset + chunk], len(CONTENT))
    assert api("GET", f"/v1/uploads/{upload['upload_id']}").json()["status"] == "awaiting_upload"

    done = send_from(upload, offset, CONTENT, chunk)
    assert done.status_code in (200, 201), done.text
    status = wait_finished(api, upload["upload_id"])
    assert status["status"] == "ingested", status
    assert file_hash(api, status["file_id"]) == f"sha256:{SHA256}"


def test_a_client_that_lost_its_state_asks_the_service_where_to_go_on(api):
    upload = request_upload(api, len(CONTENT))
    chunk = upload["chunk_size"]
    assert put_chunk(upload, 0, CONTENT[:chunk], len(CONTENT)).status_code == 308
    cut_mid_chunk(upload, chunk, CONTENT[chunk:2 * chunk], len(CONTENT))

    resumed = api("POST", f"/v1/uploads/{upload['upload_id']}/resume")
    assert resumed.status_code == 200, resumed.text
    state = resumed.json()
    assert state["status"] == "awaiting_upload" and state["upload_protocol"] == "resumable"
    assert state["file_size"] == len(CONTENT) and 0 <= state["committed_bytes"] <= chunk
    assert state["committed_bytes"] % RESUMABLE_GRANULE == 0
    done = send_from(state, state["committed_bytes"], CONTENT, state["chunk_size"])
    assert done.status_code in (200, 201), done.text
    status = wait_finished(api, upload["upload_id"])
    assert status["status"] == "ingested", status
    assert file_hash(api, status["file_id"]) == f"sha256:{SHA256}"

    after = api("POST", f"/v1/uploads/{upload['upload_id']}/resume").json()
    assert after["status"] == "ingested" and after["file_id"] == status["file_id"]
    assert after["committed_bytes"] == len(CONTENT) and "upload_url" not in after


def test_a_session_opened_for_one_size_cannot_store_another(api):
    upload = request_upload(api, len(CONTENT))
    short = CONTENT[: 9 * MIB]
    resp = put_chunk(upload, 0, short, len(short))  # claims the file ends early
    if resp.status_code in (200, 201):  # a store that did not refuse it itself: the service must
        status = wait_finished(api, upload["upload_id"])
        assert status["status"] == "rejected" and "opened for" in status["reason"], status
    else:
        assert 400 <= resp.status_code < 500
        assert api("GET", f"/v1/uploads/{upload['upload_id']}").json()["status"] == "awaiting_upload"
    files = api("GET", "/v1/artifacts?artifact_type=file").json()["artifacts"]
    assert all(a.get("file_size") != len(short) for a in files)


def test_a_finished_session_cannot_replace_its_object(api, emulators):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    upload = request_upload(api, len(CONTENT))
    assert send_from(upload, 0, CONTENT, upload["chunk_size"]).status_code in (200, 201)
    status = wait_finished(api, upload["upload_id"])
    assert status["status"] == "ingested", status

    other = os.urandom(len(CONTENT))
    again = put_chunk(upload, 0, other, len(other))
    assert again.status_code != 308
    client = storage.Client(project=emulators.project_id, credentials=AnonymousCredentials())
    blob = client.bucket(emulators.uploads_bucket).blob(upload["object_name"])
    assert hashlib.sha256(blob.download_as_bytes()).hexdigest() == SHA256
    resumed = api("POST", f"/v1/uploads/{upload['upload_id']}/resume").json()
    assert resumed["status"] == "ingested" and "upload_url" not in resumed
    assert file_hash(api, status["file_id"]) == f"sha256:{SHA256}"
