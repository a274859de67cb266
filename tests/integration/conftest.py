"""Helpers for tests that run use cases and functions in-process against the emulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import functions_framework
import pytest

from shared import logs
from shared.bootstrap import Services, get_services, set_services
from shared.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _log_labels_end_with_the_test() -> Iterator[None]:
    """The bus binds a journey's origin and trace into its caller's context (an edge's own, in production); a test
    that hands messages to the bus directly must not pass them on to the next test."""
    labels, trace = logs._labels.set({}), logs._trace.set(None)
    yield
    logs._trace.reset(trace)
    logs._labels.reset(labels)


@pytest.fixture
def services(fresh_state) -> Iterator[Services]:
    """Fresh wiring over the emulators' environment (Settings and clients are per process, so rebuild them)."""
    get_settings.cache_clear()
    set_services(None)
    yield get_services()
    set_services(None)


@pytest.fixture
def function_client(services) -> Callable[..., object]:
    """A functions-framework test client for a deployed function's entry point, fed real payloads."""
    clients: dict[tuple[str, str], object] = {}

    def make(source: str, target: str, signature_type: str = "http"):
        key = (source, target)
        if key not in clients:
            app = functions_framework.create_app(
                target=target, source=str(REPO_ROOT / "functions" / source / "main.py"), signature_type=signature_type
            )
            clients[key] = app.test_client()
        return clients[key]

    return make


@pytest.fixture
def auth(token_factory) -> Callable[..., dict[str, str]]:
    def headers(tenant: str = "tenant-a", user: str = "user-1", session: str = "session-1", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_factory(tenant, user, session)}", **extra}

    return headers
