"""The cost guard end to end: a budget notification published on the Pub/Sub emulator, delivered to the function as
Pub/Sub push delivers it, caps the parse queue on the Cloud Tasks emulator and every function's max instances
through the Cloud Functions v2 API, and logs what it changed.

The Cloud Tasks emulator accepts UpdateQueue but does not apply it (gcloud-tasks-emulator 0.6.2: "Updating queue
properties has no effect"), so the queue request is also checked against the documented API. There is no emulator of
the Cloud Functions API: a local HTTP server answers as its reference documents (GET returns the Function, PATCH a
long-running Operation) and records each request, which is checked against that reference."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from google.cloud import pubsub_v1

from shared.adapters import cost_controls
from shared.settings import get_settings
from shared.usecases.cost_guard import QueueLimits

pytestmark = pytest.mark.emulators

# The documented example notification (https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications).
NOTIFICATION = {"budgetDisplayName": "ingestion-prod", "alertThresholdExceeded": 1.0, "costAmount": 1021.5,
                "costIntervalStart": "2026-12-01T08:00:00Z", "budgetAmount": 1000.0,
                "budgetAmountType": "SPECIFIED_AMOUNT", "currencyCode": "USD"}
ATTRIBUTES = {"billingAccountId": "01D4EE-079462-DFD6EC", "budgetId": "de72f49d-779b-4945-a127-4d6ce8def0bb",
              "schemaVersion": "1.0"}


class FunctionsApi(ThreadingHTTPServer):
    requests: list[tuple[str, str, dict[str, list[str]], Any]]


class _Handler(BaseHTTPRequestHandler):
    server: FunctionsApi

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append(("GET", url.path, parse_qs(url.query), None))
        self._answer({"name": url.path.removeprefix("/v2/"), "serviceConfig": {"maxInstanceCount": 20}})

    def do_PATCH(self) -> None:
        url = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(("PATCH", url.path, parse_qs(url.query), body))
        self._answer({"name": "projects/p/locations/r/operations/op-1", "done": False})

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def functions_api() -> Iterator[FunctionsApi]:
    server = FunctionsApi(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_published_budget_notification_caps_the_queue_and_the_functions(
        emulators, services, function_client, functions_api: FunctionsApi, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FUNCTIONS_API_ENDPOINT", f"http://127.0.0.1:{functions_api.server_address[1]}")
    monkeypatch.setenv("COST_GUARD_FUNCTIONS", json.dumps(["parse-worker", "read-api"]))
    get_settings.cache_clear()
    cost_controls.cost_guard_unit.cache_clear()
    settings = get_settings()

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(settings.project_id, "budget-alerts")
    subscription = subscriber.subscription_path(settings.project_id, "budget-alerts-test")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)
    try:
        publisher.publish(topic, json.dumps(NOTIFICATION).encode(), **ATTRIBUTES).result(timeout=30)
        pulled = subscriber.pull(subscription=subscription, max_messages=1, timeout=30).received_messages
        assert len(pulled) == 1
        message = pulled[0].message
        # The body a push subscription POSTs, as a CloudEvent in binary mode (what the function receives).
        push = {"message": {"data": base64.b64encode(message.data).decode(), "attributes": dict(message.attributes),
                            "messageId": message.message_id}, "subscription": subscription}
        headers = {"ce-id": message.message_id, "ce-specversion": "1.0",
                   "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
                   "ce-source": f"//pubsub.googleapis.com/{topic}", "Content-Type": "application/json"}
        client: Any = function_client("cost_guard", "on_budget", "cloudevent")
        with caplog.at_level(logging.INFO):
            resp = client.post("/", json=push, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
    finally:
        subscriber.delete_subscription(subscription=subscription)
        publisher.delete_topic(topic=topic)
        cost_controls.cost_guard_unit.cache_clear()

    prefix = f"/v2/projects/{settings.project_id}/locations/{settings.region}/functions"
    patches = [(path, query, body) for method, path, query, body in functions_api.requests if method == "PATCH"]
    assert patches == [
        (f"{prefix}/{fn}", {"updateMask": ["serviceConfig.maxInstanceCount"]}, {"serviceConfig": {"maxInstanceCount": 1}})
        for fn in ("parse-worker", "read-api")
    ]
    capped = [r for r in caplog.records if r.getMessage() == "cost guard capped"]
    assert len(capped) == 1
    changed = capped[0].__dict__["fields"]["changed"]
    assert changed["parse_queue"]["max_dispatches_per_second"] == 0.1
    assert changed["parse_queue"]["max_concurrent_dispatches"] == 1
    assert changed["read-api"] == {"max_instances": 1, "was": 20}


def test_the_queue_cap_is_an_update_of_the_rate_limits_only(emulators, services) -> None:
    """UpdateQueue's field mask names only the two rate limits (Queue.rate_limits in the Cloud Tasks v2 reference), so
    retries, routing and the queue's state stay as Terraform declared them; the emulator accepts the same request."""
    settings = get_settings()
    queue = f"projects/{settings.project_id}/locations/{settings.tasks_location}/queues/{settings.tasks_queue}"
    request = cost_controls.queue_cap_request(queue, QueueLimits(0.1, 1))
    assert request == {"queue": {"name": queue, "rate_limits": {"max_dispatches_per_second": 0.1,
                                                                "max_concurrent_dispatches": 1}},
                       "update_mask": {"paths": ["rate_limits.max_dispatches_per_second",
                                                 "rate_limits.max_concurrent_dispatches"]}}
    control = cost_controls.CloudTasksQueue(queue)
    control.cap_queue(QueueLimits(0.1, 1))
    assert control.queue_limits().max_concurrent_dispatches >= 0  # the queue is still there and readable
