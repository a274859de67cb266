"""Fire N requests at the same instant through the gateway and count the answers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

CSV = b"sku,qty,price\nA-1,3,9.99\nB-2,5,1.50\n"


class Api:
    def __init__(self, base: str, token: str):
        self.base = base
        self.token = token

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # One connection per call: concurrent callers must not share a pooled session.
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=90, **kwargs)

    def ingest(self, data: bytes = CSV, name: str = "items.csv") -> str:
        resp = self("POST", "/v1/intents/ingest_file", json={"parameters": {
            "ui_name": name, "file_content": data.hex(), "mime_type": "text/csv"}})
        assert resp.status_code == 201, resp.text
        return str(resp.json()["file_id"])

    def wait(self, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self("GET", path).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out on {path}: {body}"
            time.sleep(0.3)


@dataclass
class Race:
    name: str
    answers: list[requests.Response] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(r.status_code for r in self.answers)

    @property
    def codes(self) -> Counter[str]:
        return Counter(r.json().get("error_code", "") for r in self.answers if r.status_code >= 400)

    def report(self) -> str:
        return f"{self.name}: {dict(sorted(self.statuses.items()))} {dict(self.codes)}"


def race(name: str, calls: list[Callable[[], requests.Response]]) -> Race:
    """Run every call at once (a barrier releases them together); every call gets an answer or the race fails."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        answers = list(pool.map(run, calls))
    result = Race(name, answers)
    print(result.report())  # the figures the README quotes: pytest -s tests/concurrency
    return result


def assert_clean(result: Race, allowed: set[int]) -> None:
    """No 5xx, and every 4xx in our error shape with a code from the fixed list."""
    from shared.domain.errors import ERROR_CODES

    assert all(s < 500 for s in result.statuses), result.report()
    assert set(result.statuses) <= allowed, result.report()
    for resp in result.answers:
        if resp.status_code >= 400:
            body = resp.json()
            assert body["error_code"] in ERROR_CODES and body["execution_id"] and body["intent_type"], body
