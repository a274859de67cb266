"""Use cases through the message bus on the in-memory store (shared/adapters/memory.py), with no emulator: the
profile choice, its replacement and cancellation, parse_content's dispatch and refusals, and the outbox under a relay
that dies. The same store passes the Firestore adapter's contract tests (tests/integration/test_record_contracts.py);
the emulator suites run these flows end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.memory import MemoryStore
from shared.bootstrap import Services, messagebus
from shared.domain.intents import Intent
from shared.domain.lineage import root_lineage
from shared.domain.models import Artifact, Command, Event, Materialization, ProducedBy, utcnow
from shared.domain.states import ExecutionStatus, IntentStatus
from shared.runtime.outbox import OutboxRelay
from shared.settings import Settings

TENANT = "tenant-a"


class Published:
    """Our EventPublisher port, recording what would go to Pub/Sub."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


class Enqueued:
    """Our CommandQueue port, recording what would go to Cloud Tasks."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def enqueue(self, command: Command) -> None:
        self.commands.append(command)


class Dies(BaseException):
    """The relay's process stops here."""


@pytest.fixture
def world():
    store, published, enqueued = MemoryStore(), Published(), Enqueued()
    settings = Settings(lineage_sink="none", openlineage_url="")
    services = Services(settings, store=store, publisher=published, queue=enqueued,
                        relay=OutboxRelay(store, published, enqueued))
    store.run_in_transaction(lambda tx: tx.create_artifact(Artifact(
        artifact_id="file_1", artifact_type="file", tenant_id=TENANT, session_id="s1", storage_location="gs://u/file_1",
        boundary_contract_id="bc", produced_by=ProducedBy(intent="ingest_file", execution_id="exec_0"),
        lineage=root_lineage("file_1"),
        materializations=[Materialization(materialization_id="m1", uri="gs://u/file_1", format="text/csv")])))
    return services, store, published, enqueued


def run(services, kind: str, session: str = "s1", **parameters):
    intent = Intent(intent_id="i", intent_type=kind, tenant_id=TENANT, session_id=session, user_id="u",
                    parameters=parameters)
    return messagebus(services).execute(intent)


def choose(services, profile: str = "structured", session: str = "s1"):
    return run(services, "create_pending_intent", session, intent_type="parse_content", target_artifact_id="file_1",
               context={"ingestion_profile": profile})


def test_a_choice_is_a_pending_intent_that_a_newer_choice_replaces(world):
    services, store, published, _ = world
    first = choose(services, "structured", session="monday")
    second = choose(services, "hybrid", session="tuesday")
    assert first.ok and second.ok
    old, new = first.result.data["intent_id"], second.result.data["intent_id"]
    assert store.get_intent(TENANT, old).status == IntentStatus.CANCELLED
    assert store.get_intent(TENANT, old).superseded_by == new
    assert store.get_intent(TENANT, new).context["ingestion_profile"] == "hybrid"
    assert second.result.data["replaced_intent_ids"] == [old]
    assert [e.event_type for e in published.events] == ["intent_pending", "intent_cancelled", "intent_pending"]
    execution = store.get_execution(TENANT, second.execution_id)
    assert execution.status == ExecutionStatus.COMPLETED and execution.stages[-1].stage == "complete_execution"


def test_parse_resumes_the_pending_choice_and_dispatches_one_named_task(world):
    services, store, published, enqueued = world
    intent_id = choose(services).result.data["intent_id"]
    started = run(services, "parse_content", session="another-day", file_id="file_1")
    assert started.ok and started.result.data["resumed_pending_intent"] is True
    assert started.result.data["intent_id"] == intent_id
    intent = store.get_intent(TENANT, intent_id)
    assert intent.status == IntentStatus.IN_PROGRESS and intent.execution_id == started.execution_id
    (task,) = enqueued.commands
    assert task.command_type == "parse_content" and task.payload["intent_id"] == intent_id
    assert "intent_dispatched" in [e.event_type for e in published.events]
    assert store.get_execution(TENANT, started.execution_id).status == ExecutionStatus.RUNNING  # the worker ends it

    again = run(services, "parse_content", file_id="file_1")
    assert not again.ok and again.error.code == "PARSE_IN_PROGRESS" and len(enqueued.commands) == 1


def test_parse_refuses_what_it_cannot_do_and_records_why(world):
    services, store, _, enqueued = world
    missing = run(services, "parse_content", file_id="file_1")
    assert missing.error.code == "MISSING_INGESTION_PROFILE"
    unknown = run(services, "parse_content", file_id="file_nope", ingestion_profile="structured")
    assert unknown.error.code == "ARTIFACT_NOT_FOUND"
    choose(services, "structured")
    conflict = run(services, "parse_content", file_id="file_1", ingestion_profile="hybrid")
    assert conflict.error.code == "PROFILE_CONFLICT"
    assert enqueued.commands == []
    assert store.get_execution(TENANT, missing.execution_id).status == ExecutionStatus.FAILED


def test_a_cancelled_choice_is_not_resumed(world):
    services, store, _, _ = world
    intent_id = choose(services).result.data["intent_id"]
    assert run(services, "cancel_pending_intent", intent_id=intent_id).ok
    assert store.get_intent(TENANT, intent_id).status == IntentStatus.CANCELLED
    assert run(services, "parse_content", file_id="file_1").error.code == "MISSING_INGESTION_PROFILE"


def test_a_relay_that_dies_before_publishing_leaves_the_messages_to_the_sweep(world):
    services, store, published, _ = world

    def dies(point: str, record_id: str) -> None:
        if point == "before_publish":
            raise Dies(record_id)

    dying = Services(services.settings, store=store, publisher=published, queue=services.queue,
                     relay=OutboxRelay(store, published, services.queue, fault=dies))
    with pytest.raises(Dies):
        choose(dying)
    assert published.events == [] and store.get_intent(TENANT, _only_intent(store)).status == IntentStatus.PENDING
    assert services.relay.sweep(grace_seconds=60).delivered == []  # still its committer's
    later = utcnow() + timedelta(minutes=5)
    assert store.pending_outbox(later, 10)
    assert services.relay.sweep(grace_seconds=0).delivered  # the committer is gone: the sweep sends it
    assert [e.event_type for e in published.events] == ["intent_pending"]
    assert services.relay.sweep(grace_seconds=0).delivered == []  # once


def _only_intent(store: MemoryStore) -> str:
    (intent,) = store.all("intents", TENANT)
    return str(intent.intent_id)
