"""Wiring. Clients are created lazily, once per instance: never at import time, never per request.

Bootstrap sits on top: the edges call `get_services()`, and nothing below them imports this module. Use cases and the
runtime see the `shared.ports.Services` protocol, which mypy checks this class (and so every adapter) against."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.logs import configure
from shared.ports import Services as ServicesPort
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.adapters.firestore_store import FirestoreStore
    from shared.adapters.gcs import GcsBlobStore
    from shared.adapters.messaging import CloudTasksCommandQueue, PubSubEventPublisher
    from shared.ports import TokenVerifier
    from shared.runtime.outbox import OutboxRelay


class Services:
    def __init__(self, settings: Settings | None = None, **overrides: Any):
        self.settings = settings or get_settings()
        for name, value in overrides.items():  # tests may wire a component of their own (e.g. a relay with faults)
            setattr(self, name, value)

    @cached_property
    def store(self) -> FirestoreStore:
        from google.cloud import firestore

        from shared.adapters.firestore_store import FirestoreStore

        return FirestoreStore(firestore.Client(project=self.settings.project_id), self.settings.dedup_ttl_days)

    @cached_property
    def blobs(self) -> GcsBlobStore:
        from shared.adapters.gcs import GcsBlobStore

        s = self.settings
        return GcsBlobStore(s.project_id, s.signing_key_file, s.signing_service_account)

    @cached_property
    def publisher(self) -> PubSubEventPublisher:
        from shared.adapters.messaging import PubSubEventPublisher

        return PubSubEventPublisher(self.settings.project_id, self.settings.events_topic)

    @cached_property
    def queue(self) -> CloudTasksCommandQueue:
        from shared.adapters.messaging import CloudTasksCommandQueue

        s = self.settings
        return CloudTasksCommandQueue(s.project_id, s.tasks_location, s.tasks_queue, s.parse_worker_url, s.tasks_invoker_sa)

    @cached_property
    def verifier(self) -> TokenVerifier:
        from shared.adapters.tokens import DevTokenVerifier, IdentityPlatformVerifier

        s = self.settings
        if s.auth_mode == "dev":
            return DevTokenVerifier(s.auth_dev_public_key_file, s.auth_audience, s.auth_issuer)
        return IdentityPlatformVerifier(s.auth_audience, s.auth_issuer, s.auth_certs_url)

    @cached_property
    def relay(self) -> OutboxRelay:
        from shared.runtime.outbox import OutboxRelay

        return OutboxRelay(self.store, self.publisher, self.queue)


_services: Services | None = None


def get_services() -> ServicesPort:
    global _services
    if _services is None:
        configure(get_settings().log_level)
        _services = Services()
    return _services  # mypy proves here that the wired adapters satisfy every port


def set_services(services: Services | None) -> None:
    """Swap the instance's services (tests point them at fresh settings)."""
    global _services
    _services = services
