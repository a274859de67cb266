"""The local Cloud Scheduler calls each scheduled function the way the deployed job does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dev import stack as devstack
from dev.procs import stop_processes


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_scheduler_posts_empty_json_with_cloud_scheduler_headers_every_period(
    receiver: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = receiver
    probe = devstack.launch_scheduler({"outbox-sweep": url + "/"}, 0.2, {"PATH": "/usr/bin:/bin"}, tmp_path, tmp_path / "ready")
    try:
        devstack.wait_all([probe], 30)
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_processes([probe[0]])
    assert len(received) >= 2
    call = received[0]
    assert call["path"] == "/"
    assert json.loads(call["body"]) == {}
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["headers"]["User-Agent"] == "Google-Cloud-Scheduler"
    assert call["headers"]["X-CloudScheduler-JobName"] == "outbox-sweep"
