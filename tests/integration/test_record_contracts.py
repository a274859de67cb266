"""One contract for each record port, run against the in-memory implementation and the Firestore adapter on the
emulator alike: what a use-case test assumes of the in-memory store holds of the real one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory import MemoryIdempotencyRecords
from shared.ports import IdempotencyRecord, RecordChanged

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "firestore"])
def records(request) -> Iterator[object]:
    if request.param == "memory":
        yield MemoryIdempotencyRecords()
    else:
        yield request.getfixturevalue("services").store


def _record(**kw) -> IdempotencyRecord:
    return IdempotencyRecord(request_hash=kw.pop("request_hash", "h1"), started_at=T0, expire_at=T0 + timedelta(days=7),
                             **kw)


def test_a_record_reads_back_as_it_was_put_and_is_gone_once_deleted(records):
    assert records.get_idempotency("t1", "k") is None
    records.put_idempotency("t1", "k", _record(completed=True, status_code=201, body={"upload_id": "u1"}))
    got = records.get_idempotency("t1", "k")
    assert (got.request_hash, got.started_at, got.completed, got.status_code, got.body) == (
        "h1", T0, True, 201, {"upload_id": "u1"})
    assert records.get_idempotency("t2", "k") is None  # records are per tenant
    records.delete_idempotency("t1", "k")
    assert records.get_idempotency("t1", "k") is None
    records.delete_idempotency("t1", "k")  # deleting what is gone is fine


def test_a_conditional_put_creates_only_when_nothing_is_there(records):
    records.put_idempotency("t1", "k", _record(), conditional=True)
    with pytest.raises(RecordChanged):
        records.put_idempotency("t1", "k", _record(request_hash="h2"), conditional=True)
    assert records.get_idempotency("t1", "k").request_hash == "h1"


def test_a_conditional_put_replaces_only_the_version_it_read(records):
    records.put_idempotency("t1", "k", _record(), conditional=True)
    read = records.get_idempotency("t1", "k")
    records.put_idempotency("t1", "k", _record(request_hash="h2"), replacing=read, conditional=True)
    with pytest.raises(RecordChanged):  # another request replaced it since `read`
        records.put_idempotency("t1", "k", _record(request_hash="h3"), replacing=read, conditional=True)
    assert records.get_idempotency("t1", "k").request_hash == "h2"
    stale = records.get_idempotency("t1", "k")
    records.delete_idempotency("t1", "k")
    with pytest.raises(RecordChanged):  # deleted since it was read
        records.put_idempotency("t1", "k", _record(request_hash="h4"), replacing=stale, conditional=True)
