"""Instances serve concurrent requests: the lazily built clients of Services are built once, whoever asks first."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from shared.bootstrap import _once


class Wiring:
    def __init__(self) -> None:
        self.builds = 0

    @_once
    def client(self) -> object:
        self.builds += 1
        time.sleep(0.05)  # a client that takes a while to build, as real ones do
        return object()


def test_concurrent_first_use_builds_one_client() -> None:
    wiring = Wiring()
    start = threading.Barrier(16)

    def use() -> object:
        start.wait()
        return wiring.client

    with ThreadPoolExecutor(16) as pool:
        seen = {id(c) for c in pool.map(lambda _: use(), range(16))}
    assert wiring.builds == 1 and len(seen) == 1


def test_an_override_set_on_the_instance_wins() -> None:
    wiring = Wiring()
    wiring.__dict__["client"] = "mine"
    assert wiring.client == "mine" and wiring.builds == 0
