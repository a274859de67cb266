"""Create the local resources the functions expect, with the names Terraform gives them. Idempotent.

Clients are made from the emulator environment variables (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST,
STORAGE_EMULATOR_HOST) exactly as the functions make theirs; Cloud Tasks has no such variable, so its client is
built on an insecure channel to TASKS_EMULATOR_HOST.
"""

from __future__ import annotations

import contextlib
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import pubsub_v1, storage, tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from google.protobuf import duration_pb2

PUSH_ACK_DEADLINE_SECONDS = 120  # the outbox consumer's timeout (infra/functions.json)
BRIDGE_ACK_DEADLINE_SECONDS = 600  # longest lease Pub/Sub allows; covers a 540 s ingest-finalize run
DEAD_LETTER_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Topology:
    """Every local resource name in one place (the same names as in Terraform, with the local project)."""

    project_id: str = "local-project"
    location: str = "us-central1"
    uploads_bucket: str = "local-uploads"
    derived_bucket: str = "local-derived"
    records_bucket: str = "local-records"
    events_topic: str = "ingestion-events"
    dead_letter_topic: str = "ingestion-events-dlq"
    notifications_topic: str = "gcs-notifications"
    consumer_push_subscription: str = "outbox-consumer-push"
    events_tap_subscription: str = "events-tap"
    dead_letter_subscription: str = "ingestion-events-dlq-hold"
    bridge_subscription: str = "eventarc-ingest-finalize"
    queue: str = "parse-commands"
    buckets: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", (self.uploads_bucket, self.derived_bucket, self.records_bucket))

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project_id}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project_id}/subscriptions/{subscription}"

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.location}/queues/{self.queue}"

    def describe(self) -> dict[str, Any]:
        return {
            "buckets": {"uploads": self.uploads_bucket, "derived": self.derived_bucket, "records": self.records_bucket},
            "topics": {
                "events": self.topic_path(self.events_topic),
                "dead_letter": self.topic_path(self.dead_letter_topic),
                "notifications": self.topic_path(self.notifications_topic),
            },
            "subscriptions": {
                "consumer_push": self.subscription_path(self.consumer_push_subscription),
                "events_tap": self.subscription_path(self.events_tap_subscription),
                "dead_letter_hold": self.subscription_path(self.dead_letter_subscription),
                "bridge": self.subscription_path(self.bridge_subscription),
            },
            "queue": self.queue_path,
        }


def tasks_client(tasks_host: str) -> tasks_v2.CloudTasksClient:
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(tasks_host)))


def storage_client(topology: Topology) -> storage.Client:
    return storage.Client(project=topology.project_id, credentials=AnonymousCredentials())


def ensure_buckets(topology: Topology) -> None:
    client = storage_client(topology)
    for name in topology.buckets:
        with contextlib.suppress(gexc.Conflict):
            client.create_bucket(name, location=topology.location)


def ensure_topics_and_pull_subscriptions(topology: Topology) -> None:
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        for topic in (topology.events_topic, topology.dead_letter_topic, topology.notifications_topic):
            with contextlib.suppress(gexc.AlreadyExists):
                publisher.create_topic(name=topology.topic_path(topic))
        pulls = [
            (topology.events_tap_subscription, topology.events_topic, 60),
            (topology.dead_letter_subscription, topology.dead_letter_topic, 60),
            (topology.bridge_subscription, topology.notifications_topic, BRIDGE_ACK_DEADLINE_SECONDS),
        ]
        for name, topic, ack_deadline in pulls:
            with contextlib.suppress(gexc.AlreadyExists):
                subscriber.create_subscription(
                    request={
                        "name": topology.subscription_path(name),
                        "topic": topology.topic_path(topic),
                        "ack_deadline_seconds": ack_deadline,
                    }
                )
    finally:
        subscriber.close()


def ensure_notification_subscription(topology: Topology, name: str) -> str:
    """A pull subscription of its own on the storage notifications, for one more bridge (an Eventarc trigger each)."""
    subscriber = pubsub_v1.SubscriberClient()
    try:
        with contextlib.suppress(gexc.AlreadyExists):
            subscriber.create_subscription(request={
                "name": topology.subscription_path(name), "topic": topology.topic_path(topology.notifications_topic),
                "ack_deadline_seconds": BRIDGE_ACK_DEADLINE_SECONDS})
    finally:
        subscriber.close()
    return topology.subscription_path(name)


def ensure_queue(topology: Topology, tasks_host: str) -> None:
    client = tasks_client(tasks_host)
    with contextlib.suppress(gexc.AlreadyExists):
        client.create_queue(
            parent=f"projects/{topology.project_id}/locations/{topology.location}",
            queue=tasks_v2.Queue(name=topology.queue_path),
        )


def ensure_consumer_push_subscription(topology: Topology, consumer_url: str) -> str:
    """Push ingestion-events to the outbox consumer, dead-lettering after DEAD_LETTER_MAX_ATTEMPTS deliveries.

    The endpoint path names the topic so functions-framework builds the same CloudEvent source
    (//pubsub.googleapis.com/projects/P/topics/T) that Eventarc gives the deployed function.
    """
    endpoint = f"{consumer_url.rstrip('/')}/{topology.topic_path(topology.events_topic)}"
    subscriber = pubsub_v1.SubscriberClient()
    name = topology.subscription_path(topology.consumer_push_subscription)
    try:
        request = {
            "name": name,
            "topic": topology.topic_path(topology.events_topic),
            "push_config": {"push_endpoint": endpoint},
            "ack_deadline_seconds": PUSH_ACK_DEADLINE_SECONDS,
            "dead_letter_policy": {
                "dead_letter_topic": topology.topic_path(topology.dead_letter_topic),
                "max_delivery_attempts": DEAD_LETTER_MAX_ATTEMPTS,
            },
            # Terraform backs off 10 s to 600 s; locally a failing consumer is retried sooner so tests see it.
            "retry_policy": {
                "minimum_backoff": duration_pb2.Duration(seconds=1),
                "maximum_backoff": duration_pb2.Duration(seconds=30),
            },
        }
        try:
            subscriber.create_subscription(request=request)
        except gexc.AlreadyExists:
            # A previous stack's endpoint may point at a dead port; point it at this one.
            subscriber.modify_push_config(request={"subscription": name, "push_config": {"push_endpoint": endpoint}})
    finally:
        subscriber.close()
    return endpoint


def delete_push_subscriptions(topology: Topology) -> list[str]:
    """Delete every push subscription of the project: a push to a stopped function is retried without pause."""
    subscriber = pubsub_v1.SubscriberClient()
    deleted: list[str] = []
    try:
        for sub in subscriber.list_subscriptions(request={"project": f"projects/{topology.project_id}"}):
            if sub.push_config.push_endpoint:
                with contextlib.suppress(gexc.NotFound):
                    subscriber.delete_subscription(request={"subscription": sub.name})
                    deleted.append(sub.name)
    finally:
        subscriber.close()
    return deleted


def provision_base(topology: Topology, tasks_host: str) -> None:
    ensure_buckets(topology)
    ensure_topics_and_pull_subscriptions(topology)
    ensure_queue(topology, tasks_host)


# ---- resets used between tests ------------------------------------------------------------------------------------


def reset_firestore(firestore_host: str, project_id: str) -> None:
    url = f"http://{firestore_host}/emulator/v1/projects/{urllib.parse.quote(project_id)}/databases/(default)/documents"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30) as resp:
        resp.read()


def empty_buckets(topology: Topology) -> int:
    client = storage_client(topology)
    deleted = 0
    for name in topology.buckets:
        for blob in client.list_blobs(name, versions=True):
            with contextlib.suppress(gexc.NotFound):
                blob.delete()
                deleted += 1
    return deleted


def drain_subscription(subscription_path: str, max_rounds: int = 50) -> int:
    """Ack everything waiting on a pull subscription; returns how many messages were dropped."""
    subscriber = pubsub_v1.SubscriberClient()
    drained = 0
    try:
        for _ in range(max_rounds):
            response = subscriber.pull(
                request={"subscription": subscription_path, "max_messages": 1000, "return_immediately": True},
                timeout=10,
            )
            if not response.received_messages:
                break
            subscriber.acknowledge(request={"subscription": subscription_path, "ack_ids": [m.ack_id for m in response.received_messages]})
            drained += len(response.received_messages)
    finally:
        subscriber.close()
    return drained


def purge_queue(topology: Topology, tasks_host: str) -> None:
    tasks_client(tasks_host).purge_queue(name=topology.queue_path)
