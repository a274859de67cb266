"""The local Eventarc: Cloud Storage notifications in, `google.cloud.storage.object.v1.finalized` (or `.deleted`)
CloudEvents out.

    python -m dev.bridge --subscription projects/P/subscriptions/S --bucket UPLOADS --target URL [--ready-file F]
        [--event deleted]

It pulls the notification subscription that fake-gcs-server publishes to, keeps only OBJECT_FINALIZE (or
OBJECT_DELETE) of its one bucket (the Eventarc trigger's filters), and POSTs each as a binary-mode CloudEvent. A 2xx acks the notification;
anything else leaves it to be redelivered after a growing delay, as Eventarc retries with backoff.

Event ids are unique across restarts, as Eventarc's are: derived from what the event is about (bucket, object,
generation, event type), never from the Pub/Sub emulator's message number, which starts again at 1 when the emulator
restarts, so a stack that keeps its data would take new uploads for redeliveries of old ones. A redelivery of the
same notification keeps its id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1

FINALIZED_TYPE = "google.cloud.storage.object.v1.finalized"
DELETED_TYPE = "google.cloud.storage.object.v1.deleted"
# The Pub/Sub notification's eventType for each CloudEvent type Eventarc delivers.
NOTIFICATION_OF = {FINALIZED_TYPE: "OBJECT_FINALIZE", DELETED_TYPE: "OBJECT_DELETE"}
DATA_SCHEMA = "https://googleapis.github.io/google-cloudevents/jsonschema/google/events/cloud/storage/v1/StorageObjectData.json"
MAX_BACKOFF_SECONDS = 60
API_ROOT = "https://www.googleapis.com"

log = logging.getLogger("eventarc-bridge")


class NotForTrigger(Exception):
    """The notification is not one the Eventarc trigger would deliver."""


def object_resource(attributes: Mapping[str, str], payload: bytes) -> dict[str, Any]:
    """The Cloud Storage object resource (JSON API v1 form) that Eventarc puts in the event's data.

    fake-gcs-server's notification payload lacks a few fields GCS always sends; those are derived here the way
    GCS forms them: a new generation is always at metageneration 1, and id/selfLink/mediaLink have fixed shapes.
    """
    try:
        data = json.loads(payload or b"{}")
    except ValueError as exc:
        raise NotForTrigger(f"notification data is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise NotForTrigger("notification data is not a JSON object")
    bucket = str(data.get("bucket") or attributes.get("bucketId", ""))
    name = str(data.get("name") or attributes.get("objectId", ""))
    generation = str(data.get("generation") or attributes.get("objectGeneration", ""))
    if not bucket or not name or not generation:
        raise NotForTrigger("notification names no bucket, object or generation")
    quoted = urllib.parse.quote(name, safe="")
    resource: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"{API_ROOT}/storage/v1/b/{bucket}/o/{quoted}",
        "mediaLink": f"{API_ROOT}/download/storage/v1/b/{bucket}/o/{quoted}?generation={generation}&alt=media",
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": str(data.get("metageneration") or "1"),
        "contentType": data.get("contentType") or "application/octet-stream",
        "storageClass": data.get("storageClass") or "STANDARD",
        "size": str(data.get("size", "0")),
        "md5Hash": data.get("md5Hash", ""),
        "crc32c": data.get("crc32c", ""),
        "timeCreated": data.get("timeCreated", ""),
        "updated": data.get("updated") or data.get("timeCreated", ""),
    }
    resource["timeStorageClassUpdated"] = data.get("timeStorageClassUpdated") or resource["timeCreated"]
    for optional in ("contentEncoding", "contentDisposition", "cacheControl", "contentLanguage", "metadata", "etag"):
        if data.get(optional):
            resource[optional] = data[optional]
    return resource


def event_id(event_type: str, resource: Mapping[str, Any]) -> str:
    """One id per storage event: the same for a redelivered notification, new for any new object generation."""
    key = "\n".join((event_type, str(resource["bucket"]), str(resource["name"]), str(resource["generation"]),
                     str(resource["metageneration"])))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def to_cloudevent(attributes: Mapping[str, str], payload: bytes, uploads_bucket: str,
                  event_type: str = FINALIZED_TYPE) -> tuple[dict[str, str], bytes]:
    """Headers and body of the binary-mode CloudEvent Eventarc would deliver for this notification."""
    if attributes.get("eventType") != NOTIFICATION_OF[event_type]:
        raise NotForTrigger(f"event type {attributes.get('eventType')!r} is filtered out")
    if attributes.get("bucketId") != uploads_bucket:
        raise NotForTrigger(f"bucket {attributes.get('bucketId')!r} is not the trigger's bucket")
    resource = object_resource(attributes, payload)
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": event_id(event_type, resource),
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{resource['bucket']}",
        "ce-type": event_type,
        "ce-subject": f"objects/{resource['name']}",
        "ce-time": resource["updated"] or attributes.get("eventTime", ""),
        "ce-dataschema": DATA_SCHEMA,
        "ce-bucket": resource["bucket"],
    }
    return headers, json.dumps(resource).encode()


class Bridge:
    def __init__(self, subscription: str, uploads_bucket: str, target: str, timeout: float, workers: int = 8,
                 event_type: str = FINALIZED_TYPE) -> None:
        self.subscription = subscription
        self.uploads_bucket = uploads_bucket
        self.event_type = event_type
        self.target = target
        self.timeout = timeout
        self.subscriber = pubsub_v1.SubscriberClient()
        self.http = requests.Session()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver")
        self.in_flight = threading.BoundedSemaphore(workers)
        self.attempts: dict[str, int] = {}
        self.attempts_lock = threading.Lock()
        self.stopping = threading.Event()

    def attach(self) -> None:
        """Fail early, and clearly, if the subscription is not there."""
        self.subscriber.get_subscription(request={"subscription": self.subscription}, timeout=10)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                response = self.subscriber.pull(request={"subscription": self.subscription, "max_messages": 10}, timeout=5)
            except (gexc.DeadlineExceeded, gexc.ServiceUnavailable, gexc.RetryError):
                continue
            if not response.received_messages:
                time.sleep(0.05)
                continue
            for received in response.received_messages:
                self.in_flight.acquire()
                self.pool.submit(self._handle, received)

    def _handle(self, received: Any) -> None:
        try:
            message = received.message
            try:
                headers, body = to_cloudevent(dict(message.attributes), message.data, self.uploads_bucket,
                                              self.event_type)
            except NotForTrigger as reason:
                log.debug("skip %s: %s", message.message_id, reason)
                self._ack(received.ack_id)
                return
            try:
                resp = self.http.post(self.target, data=body, headers=headers, timeout=self.timeout)
                status: int | str = resp.status_code
                ok = 200 <= resp.status_code < 300
            except requests.RequestException as exc:
                status, ok = type(exc).__name__, False
            if ok:
                log.info("delivered %s %s -> %s", message.message_id, headers["ce-subject"], status)
                with self.attempts_lock:
                    self.attempts.pop(message.message_id, None)
                self._ack(received.ack_id)
            else:
                delay = self._backoff(message.message_id)
                log.warning(
                    "delivery of %s %s failed (%s); retry in %ss",
                    message.message_id,
                    headers["ce-subject"],
                    status,
                    delay,
                )
                self._nack(received.ack_id, delay)
        except Exception:  # a delivery thread must never die silently
            log.exception("unexpected error while delivering")
        finally:
            self.in_flight.release()

    def _backoff(self, message_id: str) -> int:
        with self.attempts_lock:
            attempt = self.attempts.get(message_id, 0) + 1
            self.attempts[message_id] = attempt
        return int(min(2 ** (attempt - 1), MAX_BACKOFF_SECONDS))

    def _ack(self, ack_id: str) -> None:
        self.subscriber.acknowledge(request={"subscription": self.subscription, "ack_ids": [ack_id]})

    def _nack(self, ack_id: str, delay_seconds: int) -> None:
        self.subscriber.modify_ack_deadline(
            request={"subscription": self.subscription, "ack_ids": [ack_id], "ack_deadline_seconds": delay_seconds}
        )

    def stop(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.bridge", description=__doc__.splitlines()[0])
    parser.add_argument("--subscription", required=True, help="projects/P/subscriptions/S on gcs-notifications")
    parser.add_argument("--bucket", required=True, help="the trigger's bucket filter (uploads for ingest-finalize)")
    parser.add_argument("--target", required=True, help="URL of the triggered function")
    parser.add_argument("--event", choices=("finalized", "deleted"), default="finalized",
                        help="google.cloud.storage.object.v1.<event> (OBJECT_FINALIZE or OBJECT_DELETE)")
    parser.add_argument("--timeout", type=float, default=540, help="seconds to wait for the function")
    parser.add_argument("--ready-file", type=Path, help="touched once the subscription is attached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    event_type = DELETED_TYPE if args.event == "deleted" else FINALIZED_TYPE
    bridge = Bridge(args.subscription, args.bucket, args.target, args.timeout, event_type=event_type)
    try:
        bridge.attach()
    except gexc.GoogleAPIError as exc:
        log.error("cannot attach to %s: %s", args.subscription, exc)
        return 1
    # Stop at once: a notification being delivered stays unacked and is redelivered, as on the platform.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.ready_file:
        args.ready_file.write_text(f"{args.subscription}\n")
    log.info("bridging %s (bucket %s) -> %s", args.subscription, args.bucket, args.target)
    try:
        bridge.run()
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
