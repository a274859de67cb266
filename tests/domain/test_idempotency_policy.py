"""The Idempotency-Key policy of the HTTP edge, as pure logic over an in-memory record store (our own port): the
store only gets, puts and deletes; every decision is the decorator's. The emulator tests of the same behaviour end to
end are in tests/integration/test_runtime.py and test_runtime_execution_engine.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared.adapters.memory import MemoryIdempotencyRecords
from shared.domain.errors import Conflict, ValidationFailed
from shared.edges.idempotency import STALE_AFTER, IdempotencyPolicy, idempotent, request_hash
from shared.ports import IdempotencyRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryRecords(MemoryIdempotencyRecords):
    """The in-memory store, with a hook that lets a racing request write between this one's get and its put."""

    def __init__(self) -> None:
        super().__init__()
        self.before_put: Any = None

    def put_idempotency(self, tenant_id: str, key: str, record: IdempotencyRecord, *,
                        replacing: IdempotencyRecord | None = None, conditional: bool = False) -> None:
        if self.before_put is not None:
            hook, self.before_put = self.before_put, None
            hook()
        super().put_idempotency(tenant_id, key, record, replacing=replacing, conditional=conditional)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> MemoryRecords:
    return MemoryRecords()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _policy(store: MemoryRecords, clock: Clock) -> IdempotencyPolicy:
    return IdempotencyPolicy(store, timedelta(days=7), clock=clock)


class Work:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.runs = 0

    def __call__(self) -> tuple[int, dict[str, Any]]:
        self.runs += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_the_same_key_and_request_answers_the_first_response_and_runs_once(store, clock):
    work = Work((201, {"upload_id": "u1"}))
    policy = _policy(store, clock)
    assert policy.run("t", "k", {"a": 1}, work) == (201, {"upload_id": "u1"})
    assert policy.run("t", "k", {"a": 1}, work) == (201, {"upload_id": "u1"})
    assert work.runs == 1
    record = store.records[("t", "k")]
    assert record.completed and record.expire_at == record.started_at + timedelta(days=7)


def test_the_same_key_with_another_request_is_refused(store, clock):
    policy = _policy(store, clock)
    policy.run("t", "k", {"a": 1}, Work((200, {})))
    with pytest.raises(ValidationFailed) as refused:
        policy.run("t", "k", {"a": 2}, Work((200, {})))
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_keys_are_per_tenant(store, clock):
    work = Work((200, {"n": 1}), (200, {"n": 2}))
    policy = _policy(store, clock)
    policy.run("t1", "k", {}, work)
    assert policy.run("t2", "k", {}, work) == (200, {"n": 2}) and work.runs == 2


def test_a_request_in_progress_refuses_the_second_until_it_is_stale(store, clock):
    policy = _policy(store, clock)
    inner = Work((200, {"second": True}))

    def first() -> tuple[int, dict[str, Any]]:
        with pytest.raises(Conflict) as busy:
            policy.run("t", "k", {}, inner)
        assert busy.value.code == "IDEMPOTENCY_IN_PROGRESS" and inner.runs == 0
        clock.now = T0 + STALE_AFTER  # the first request is taken for dead: the work runs again
        assert policy.run("t", "k", {}, inner) == (200, {"second": True})
        return 200, {"first": True}

    policy.run("t", "k", {}, first)
    assert inner.runs == 1


def test_a_fault_of_ours_frees_the_key_for_the_retry(store, clock):
    policy = _policy(store, clock)
    work = Work((503, {"error_code": "UNAVAILABLE"}), RuntimeError("boom"), (201, {"ok": True}))
    assert policy.run("t", "k", {}, work)[0] == 503
    assert ("t", "k") not in store.records
    with pytest.raises(RuntimeError):
        policy.run("t", "k", {}, work)
    assert ("t", "k") not in store.records
    assert policy.run("t", "k", {}, work) == (201, {"ok": True}) and work.runs == 3


def test_a_refusal_is_kept_like_any_other_first_answer(store, clock):
    work = Work((422, {"error_code": "VALIDATION_FAILED"}))
    policy = _policy(store, clock)
    policy.run("t", "k", {}, work)
    assert policy.run("t", "k", {}, work) == (422, {"error_code": "VALIDATION_FAILED"}) and work.runs == 1


def test_two_requests_racing_for_a_fresh_key_run_the_work_once(store, clock):
    policy = _policy(store, clock)
    work = Work((200, {}))
    # The other request writes its in-progress record between this one's get and its put.
    store.before_put = lambda: store.put_idempotency("t", "k", IdempotencyRecord(
        request_hash=request_hash({}), started_at=clock.now, expire_at=clock.now + timedelta(days=7)))
    with pytest.raises(Conflict):
        policy.run("t", "k", {}, work)
    assert work.runs == 0


def test_the_decorator_scopes_keys_to_the_intent_type_and_passes_keyless_requests_through(store, clock):
    calls: list[str] = []

    @idempotent(lambda call: store, lambda call: 7)
    def execute(call: Any, intent: Any, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        calls.append(intent.intent_type)
        return 200, {"n": len(calls)}

    def intent(kind: str, key: str | None) -> Any:
        return SimpleNamespace(intent_type=kind, tenant_id="t", idempotency_key=key)

    assert execute(None, intent("a", None), {}) == (200, {"n": 1})
    assert execute(None, intent("a", None), {}) == (200, {"n": 2})
    assert execute(None, intent("a", "k"), {}) == (200, {"n": 3})
    assert execute(None, intent("a", "k"), {}) == (200, {"n": 3})
    assert execute(None, intent("b", "k"), {}) == (200, {"n": 4})
    assert len(store.records) == 2
