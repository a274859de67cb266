"""The dead-letter path, driven and replayed over the Pub/Sub emulator (it honours dead-letter policies).

A poison event (one the consumer keeps failing) is pushed to the real outbox consumer through a push subscription
made by the same code and policy as the stack's (dev/provision.py: 5 delivery attempts, then the dead-letter
topic); it reaches the dead-letter subscription after those attempts. An operator lists it and, after the fix,
replays it through the HTTP routes; the consumer then handles it once, and replaying again does nothing more."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from google.cloud import firestore, pubsub_v1
from werkzeug.serving import make_server

from dev.provision import DEAD_LETTER_MAX_ATTEMPTS, Topology, ensure_consumer_push_subscription
from dev.token import mint_token
from shared.domain.ids import stable_key
from shared.domain.models import Event

REPO_ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant-dlq"


@dataclass
class Consumer:
    """The real outbox consumer over HTTP, failing (as a bug or an outage would) for the events named poisoned."""

    url: str = ""
    poisoned: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)
    handled: list[str] = field(default_factory=list)


@pytest.fixture
def consumer(services) -> Iterator[Consumer]:
    app = functions_framework.create_app(target="on_event", source=str(REPO_ROOT / "functions" / "outbox_relay" / "main.py"),
                                         signature_type="cloudevent")
    state = Consumer()

    def failing(environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            event_id = json.loads(body)["message"]["attributes"]["event_id"]
        except (ValueError, KeyError, TypeError):
            event_id = ""
        if event_id in state.poisoned:
            state.attempts[event_id] = state.attempts.get(event_id, 0) + 1
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"consumer failed"]
        answer = app(environ, start_response)  # handled by the time it returns
        state.handled.append(event_id)
        return answer

    server = make_server("127.0.0.1", 0, failing, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    topology = Topology(project_id=services.settings.project_id,
                        consumer_push_subscription=f"dlq-test-push-{uuid.uuid4().hex[:8]}")
    ensure_consumer_push_subscription(topology, state.url)
    try:
        yield state
    finally:
        subscriber = pubsub_v1.SubscriberClient()
        subscriber.delete_subscription(request={"subscription": topology.subscription_path(topology.consumer_push_subscription)})
        subscriber.close()
        server.shutdown()


def _operator(tenant: str = TENANT, roles: list[str] | None = None) -> dict[str, str]:
    token = mint_token(tenant, "olga", "ops-session", extra_claims={"roles": ["operator"] if roles is None else roles})
    return {"Authorization": f"Bearer {token}"}


def _letters(client: Any, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    resp = client.get("/v1/operations/dead-letters", headers=headers, query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return list(resp.get_json()["dead_letters"])


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_a_poison_event_is_dead_lettered_after_its_attempts_and_replayed_once_after_the_fix(
    services, consumer: Consumer, function_client
) -> None:
    event = Event(event_id=f"evt_{uuid.uuid4().hex}", event_type="artifact_ingested", tenant_id=TENANT,
                  execution_id="exec_poison", data={"upload_id": "upl_gone", "artifact_id": "file_gone", "session_id": "s1"})
    consumer.poisoned.add(event.event_id)
    services.publisher.publish(event)
    api = function_client("profile_selection", "profile_selection_http")

    [letter] = _wait(lambda: _letters(api, _operator()), 120, "the poison event in the dead-letter subscription")
    assert consumer.attempts[event.event_id] == DEAD_LETTER_MAX_ATTEMPTS  # the configured attempts, then no more
    assert letter["event_id"] == event.event_id and letter["event_type"] == "artifact_ingested"
    assert letter["tenant_id"] == TENANT and letter["subject"]["upload_id"] == "upl_gone"
    assert _letters(api, _operator()) == [letter]  # listing takes nothing away
    assert _letters(api, _operator(), since="2099-01-01T00:00:00Z") == []
    assert _letters(api, _operator("tenant-other")) == []  # another tenant's letters are not shown

    # Not an operator: refused, and nothing is taken away.
    refused = api.post("/v1/operations/dead-letters/replay", headers=_operator(roles=[]), json={"since": "1h"})
    assert refused.status_code == 403 and refused.get_json()["error_code"] == "OPERATOR_REQUIRED"
    assert api.get("/v1/operations/dead-letters", headers=_operator(roles=["viewer"])).status_code == 403
    bad = api.post("/v1/operations/dead-letters/replay", headers=_operator(), json={"since": "yesterday-ish"})
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "INVALID_SINCE"

    consumer.poisoned.clear()  # the fix
    replayed = api.post("/v1/operations/dead-letters/replay", headers=_operator() | {"Idempotency-Key": "replay-1"},
                        json={"since": "1h"})
    assert replayed.status_code == 200, replayed.get_json()
    body = replayed.get_json()
    assert body["count"] == 1 and body["replayed"][0]["event_id"] == event.event_id and body["execution_id"]
    _wait(lambda: event.event_id in consumer.handled, 60, "the replayed event at the consumer")
    db = firestore.Client(project=services.settings.project_id)
    assert db.collection("dedup").document(stable_key("reaction", "auto_dispatch", event.event_id)).get().exists

    # Idempotent: the same request again answers the first result; a new replay finds nothing left to replay.
    again = api.post("/v1/operations/dead-letters/replay", headers=_operator() | {"Idempotency-Key": "replay-1"},
                     json={"since": "1h"})
    assert again.get_json() == body
    fresh = api.post("/v1/operations/dead-letters/replay", headers=_operator(), json={"since": "1h"})
    assert fresh.status_code == 200 and fresh.get_json()["count"] == 0
    assert _letters(api, _operator()) == []
    time.sleep(2)
    assert consumer.handled.count(event.event_id) == 1


def test_a_letter_replayed_twice_changes_nothing_the_second_time(services) -> None:
    """A crash between a replay's publish and its removal replays the letter again: the consumer skips it."""
    from dev.bus_calls import react
    from shared.domain.messages import MessagePublished

    event = Event(event_id=f"evt_{uuid.uuid4().hex}", event_type="artifact_ingested", tenant_id=TENANT,
                  execution_id="exec_twice", data={"upload_id": "upl_x", "artifact_id": "file_x", "session_id": "s1"})
    message = MessagePublished.model_validate({"message": {
        "data": base64.b64encode(json.dumps(event.model_dump(mode="json")).encode()).decode(),
        "attributes": {"event_id": event.event_id}}})
    assert react(services, message) == "nothing_waiting"
    assert react(services, message) == "duplicate"
