"""Partner exchange's own adapters, made lazily once per instance beside the shared Services."""

from __future__ import annotations

import threading

from shared.partners.exchange import Exchange
from shared.ports import Services

_lock = threading.Lock()
_cache: dict[int, Exchange] = {}


def get_exchange(services: Services) -> Exchange:
    with _lock:
        ex = _cache.get(id(services))
        if ex is None or ex.services is not services:
            from google.cloud import firestore

            from shared.adapters.as2_keys import FileKeyStore, SecretManagerKeyStore
            from shared.adapters.firestore_partners import FirestorePartnerStore

            s = services.settings
            keys = SecretManagerKeyStore(s.project_id, s.as2_key_secret) if s.as2_key_secret else FileKeyStore(s.as2_key_file)
            ex = Exchange(services, FirestorePartnerStore(firestore.Client(project=s.project_id)), keys)
            _cache.clear()
            _cache[id(services)] = ex
        return ex
