"""In-memory implementations of our own record ports, for use-case tests that need no emulator. Each passes the same
contract tests as its Firestore adapter (tests/integration/test_record_contracts.py)."""

from __future__ import annotations

import threading
from dataclasses import replace

from shared.ports import IdempotencyRecord, RecordChanged


class MemoryIdempotencyRecords:
    """get / put / delete of Idempotency-Key records, with the conditional put every store offers: create when
    nothing was there, else replace only the version that was read."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}
        self._versions = 0
        self._lock = threading.Lock()

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        return self.records.get((tenant_id, key))

    def put_idempotency(self, tenant_id: str, key: str, record: IdempotencyRecord, *,
                        replacing: IdempotencyRecord | None = None, conditional: bool = False) -> None:
        with self._lock:
            current = self.records.get((tenant_id, key))
            if conditional and (current.version if current else None) != (replacing.version if replacing else None):
                raise RecordChanged(key)
            self._versions += 1
            self.records[(tenant_id, key)] = replace(record, version=self._versions)

    def delete_idempotency(self, tenant_id: str, key: str) -> None:
        with self._lock:
            self.records.pop((tenant_id, key), None)
