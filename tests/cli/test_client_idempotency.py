"""Every POST of ingestctl carries an Idempotency-Key, the same one on each of its own retries.

A small local HTTP server records what the client sends: the service's side of the key (the same key returns the
first answer) is proven in tests/integration; here it is the client's promise that a retry reuses the key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingestctl.client import Api


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []
    script: list[str] = []  # what to do with each request in turn: "503", "drop" or "ok"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append((self.command, self.headers.get("Idempotency-Key")))
        action = type(self).script.pop(0) if type(self).script else "ok"
        if action == "drop":  # the request reached the service, but its answer never reaches the client
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status = 503 if action == "503" else 201
        body = json.dumps({"error": "busy", "error_code": "UNAVAILABLE"} if status == 503 else {"ok": True}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET = do_DELETE = _answer

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen, Recorder.script = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_post_retried_after_503_and_after_a_lost_answer_keeps_one_idempotency_key(server: str) -> None:
    Recorder.script = ["503", "drop", "ok"]
    Api(server, "t").call("POST", "/v1/intents/request_upload", expect=(201,), json={"parameters": {}})
    keys = [key for method, key in Recorder.seen]
    assert len(keys) == 3
    assert keys[0] and keys[0].startswith("ingestctl-")
    assert keys == [keys[0]] * 3


def test_each_post_gets_its_own_key_and_a_callers_key_is_kept(server: str) -> None:
    api = Api(server, "t")
    api.call("POST", "/v1/intents/parse_content", expect=(201,), json={})
    api.call("POST", "/v1/intents/parse_content", expect=(201,), json={})
    api.call("POST", "/v1/intents/save_materialization", expect=(201,), headers={"Idempotency-Key": "mine"}, json={})
    api.call("GET", "/v1/artifacts", expect=(201,))
    first, second, mine, read = (key for _, key in Recorder.seen)
    assert first and second and first != second
    assert mine == "mine"
    assert read is None  # reads are safe to repeat and carry no key
