"""Contention is retried inside the request's budget and then answered 503, never 500; a working parse renews its
short lease (heartbeat), so it is never taken over while it lives, and a dead one is reclaimable quickly."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore

from shared.adapters.firestore_store import FirestoreStore
from shared.bootstrap import messagebus
from shared.domain.errors import TransientError
from shared.domain.models import PendingIntent, utcnow
from shared.domain.states import IntentStatus
from shared.usecases.parse_worker import Heartbeat, ParseTask


def _store(budget: float) -> FirestoreStore:
    return FirestoreStore(firestore.Client(), transaction_budget=budget)


@pytest.mark.parametrize("contention", [
    gexc.Aborted("too much contention on these datastore entities"),
    ValueError("Failed to commit transaction in 3 attempts."),  # what the client raises once its own retries are spent
])
def test_contention_is_retried_with_backoff_until_the_transaction_commits(services, contention):
    attempts = []

    def step(tx):
        attempts.append(1)
        if len(attempts) < 3:
            raise contention
        return "committed"

    assert _store(budget=60).run_in_transaction(step)[0] == "committed"
    assert len(attempts) == 3


@pytest.mark.parametrize("contention", [
    gexc.Aborted("too much contention on these datastore entities"),
    ValueError("Failed to commit transaction in 3 attempts."),
])
def test_contention_that_outlasts_the_budget_is_transient_not_a_500(services, contention):
    def step(tx):
        raise contention

    with pytest.raises(TransientError, match="contention outlasted"):
        _store(budget=0.5).run_in_transaction(step)


def test_other_errors_are_not_retried(services):
    attempts = []

    def step(tx):
        attempts.append(1)
        raise ValueError("a bug or a refusal, not contention")

    with pytest.raises(ValueError, match="not contention"):
        _store(budget=5).run_in_transaction(step)
    assert attempts == [1]


def _running(services, owner: str, lease_seconds: float) -> ParseTask:
    intent = PendingIntent(intent_id="intent_beat", tenant_id="tenant-a", session_id="s", user_id="u",
                           target_artifact_id="file_x", context={"ingestion_profile": "structured"},
                           status=IntentStatus.IN_PROGRESS, execution_id="exec_beat", lease_owner=owner,
                           lease_expires_at=utcnow() + timedelta(seconds=lease_seconds), attempts=1)
    services.store.run_in_transaction(lambda tx: tx.put_intent(intent))
    return ParseTask(command_id="cmd_beat", tenant_id="tenant-a", execution_id="exec_beat",
                     payload={"intent_id": "intent_beat"})


def test_the_heartbeat_keeps_a_live_parse_leased_and_stops_when_the_lease_is_taken(services):
    services.settings = services.settings.model_copy(update={"claim_lease_seconds": 5, "lease_renew_seconds": 1})
    task = _running(services, "worker_a", lease_seconds=2)
    with Heartbeat(messagebus(services).unit_of_work(), task, "worker_a") as beat:
        time.sleep(4)  # longer than the first lease: without renewals it would have lapsed
        intent = services.store.get_intent("tenant-a", "intent_beat")
        assert intent.lease_owner == "worker_a" and intent.lease_expires_at > utcnow() + timedelta(seconds=2)
        assert beat.renewals >= 2 and not beat.lost.is_set()

    # another worker never extends a lease it lacks
    assert Heartbeat(messagebus(services).unit_of_work(), task, "worker_b").renew() is False
    taken = services.store.get_intent("tenant-a", "intent_beat").model_copy(update={"lease_owner": "worker_b"})
    services.store.run_in_transaction(lambda tx: tx.put_intent(taken))
    with Heartbeat(messagebus(services).unit_of_work(), task, "worker_a") as beat:
        assert beat.lost.wait(timeout=10)  # it notices and stops renewing
    assert services.store.get_intent("tenant-a", "intent_beat").lease_owner == "worker_b"


def test_slots_follow_every_intent_write(services):
    pending = PendingIntent(intent_id="intent_p", tenant_id="tenant-a", session_id="s", user_id="u",
                            target_artifact_id="file_s", context={"ingestion_profile": "structured"})
    services.store.run_in_transaction(lambda tx: tx.put_intent(pending))
    assert services.store.run_in_transaction(lambda tx: tx.intents_of("tenant-a", "parse_content", "file_s"))[0] == (pending, None)
    running = pending.model_copy(update={"status": IntentStatus.IN_PROGRESS})
    services.store.run_in_transaction(lambda tx: tx.put_intent(running))
    found = services.store.run_in_transaction(lambda tx: tx.intents_of("tenant-a", "parse_content", "file_s"))[0]
    assert found[0] is None and found[1].intent_id == "intent_p"  # a stale pointer is ignored, not trusted
    done = running.model_copy(update={"status": IntentStatus.COMPLETED})
    services.store.run_in_transaction(lambda tx: tx.put_intent(done))
    assert services.store.run_in_transaction(lambda tx: tx.intents_of("tenant-a", "parse_content", "file_s"))[0] == (None, None)


def test_transactions_on_one_document_take_turns_and_others_do_not_wait(services):
    import threading

    store = _store(budget=20)
    inside: list[int] = []
    overlap: list[bool] = []
    lock = threading.Lock()

    def step(tx):
        tx.get_artifact("tenant-a", "file_turns")  # the first read names the document whose turn this is
        with lock:
            inside.append(1)
            overlap.append(len(inside) > 1)
        time.sleep(0.2)
        with lock:
            inside.pop()

    threads = [threading.Thread(target=store.run_in_transaction, args=(step,)) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert overlap == [False] * 4  # one at a time, without a Firestore abort between them

    release = threading.Event()
    entered = threading.Event()

    def holder(tx):
        tx.get_artifact("tenant-a", "file_turns")
        entered.set()
        assert release.wait(timeout=30)

    other = threading.Thread(target=store.run_in_transaction, args=(holder,))
    other.start()
    assert entered.wait(timeout=30)
    # While file_turns is held, a transaction of the same store on another document runs (waiting for the holder,
    # which waits for us, would exhaust its budget and raise).
    store.run_in_transaction(lambda tx: tx.get_artifact("tenant-b", "another_file"))
    release.set()
    other.join(timeout=60)
    assert not store.gate.holding()
