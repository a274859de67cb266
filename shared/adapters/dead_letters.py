"""The events' dead-letter subscription (Pub/Sub): look at what it holds, replay it to the events topic, remove it."""

from __future__ import annotations

from datetime import UTC, datetime

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from shared.domain.errors import TransientError
from shared.ports import DeadLetter

PULL_BATCH = 100
PULL_TIMEOUT_SECONDS = 10
PUBLISH_TIMEOUT_SECONDS = 30
# Pub/Sub adds these when it forwards a message to a dead-letter topic
# (https://cloud.google.com/pubsub/docs/handling-failures#track-delivery-attempts); a replay must not carry them.
DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetter"
_TRANSIENT = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.Aborted, gexc.RetryError)


class PubSubDeadLetters:
    def __init__(self, project: str, subscription: str, events_topic: str):
        self._subscriber = pubsub_v1.SubscriberClient()
        self._publisher = pubsub_v1.PublisherClient()
        self._subscription = self._subscriber.subscription_path(project, subscription)
        self._topic = self._publisher.topic_path(project, events_topic)

    def hold(self, max_messages: int, hold_seconds: int) -> list[DeadLetter]:
        """Pull until the subscription has nothing more to give or `max_messages` are held. Each is leased for
        `hold_seconds`, so a later pull in the same call does not see it twice."""
        held: dict[str, DeadLetter] = {}
        while len(held) < max_messages:
            try:
                response = self._subscriber.pull(request={
                    "subscription": self._subscription, "max_messages": min(PULL_BATCH, max_messages - len(held)),
                    "return_immediately": True}, timeout=PULL_TIMEOUT_SECONDS)
            except gexc.DeadlineExceeded:
                break  # nothing more to pull right now
            except _TRANSIENT as exc:
                self.release([letter.ack_id for letter in held.values()])
                raise TransientError(f"dead-letter pull failed: {exc}") from exc
            fresh = [r for r in response.received_messages if r.message.message_id not in held]
            if not fresh:
                break
            self._lease([r.ack_id for r in fresh], hold_seconds)
            for received in fresh:
                message = received.message
                attributes = dict(message.attributes)
                published = message.publish_time
                held[message.message_id] = DeadLetter(
                    ack_id=received.ack_id, message_id=message.message_id, data=bytes(message.data),
                    attributes=attributes,
                    published_at=datetime.fromtimestamp(published.timestamp(), UTC) if published else datetime.now(UTC),
                    delivery_attempts=int(attributes.get("CloudPubSubDeadLetterSourceDeliveryCount") or 0),
                )
        return sorted(held.values(), key=lambda letter: letter.published_at)

    def _lease(self, ack_ids: list[str], seconds: int) -> None:
        if ack_ids:
            self._subscriber.modify_ack_deadline(request={
                "subscription": self._subscription, "ack_ids": ack_ids, "ack_deadline_seconds": seconds})

    def release(self, ack_ids: list[str]) -> None:
        """Back into the subscription at once, untouched (an ack deadline of 0 is a nack)."""
        try:
            self._lease(ack_ids, 0)
        except (gexc.GoogleAPICallError, *_TRANSIENT):
            pass  # the lease lapses by itself: the letter comes back anyway

    def remove(self, ack_ids: list[str]) -> None:
        if ack_ids:
            try:
                self._subscriber.acknowledge(request={"subscription": self._subscription, "ack_ids": ack_ids})
            except _TRANSIENT as exc:
                raise TransientError(f"dead-letter acknowledge failed: {exc}") from exc

    def replay(self, letter: DeadLetter) -> None:
        """The same data and attributes (the same event_id, so consumers that handled it already skip it)."""
        attributes = {k: v for k, v in letter.attributes.items() if not k.startswith(DEAD_LETTER_ATTRIBUTE_PREFIX)}
        try:
            self._publisher.publish(self._topic, letter.data, **attributes).result(timeout=PUBLISH_TIMEOUT_SECONDS)
        except (gexc.GoogleAPICallError, TimeoutError) as exc:
            raise TransientError(f"replay publish failed: {exc}") from exc
