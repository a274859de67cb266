"""The local Eventarc bridge: fake-gcs-server's notifications become the CloudEvents Eventarc delivers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dev import stack as devstack
from dev.bridge import DELETED_TYPE, FINALIZED_TYPE, NotForTrigger, event_id, to_cloudevent
from dev.procs import free_ports, stop_processes

# What fake-gcs-server publishes for an upload (captured from the running binary).
FAKE_GCS_ATTRIBUTES = {
    "bucketId": "local-uploads",
    "eventTime": "2026-11-21T22:31:57Z",
    "eventType": "OBJECT_FINALIZE",
    "objectGeneration": "1795300317524094",
    "objectId": "t1/s 1/b.csv",
    "payloadFormat": "JSON_API_V1",
}
FAKE_GCS_DATA = {
    "kind": "storage#object",
    "id": "local-uploads/t1/s 1/b.csv#1795300317524094",
    "name": "t1/s 1/b.csv",
    "bucket": "local-uploads",
    "generation": "1795300317524094",
    "contentType": "text/csv",
    "timeCreated": "2026-11-21T22:31:57.524067Z",
    "updated": "2026-11-21T22:31:57.524073Z",
    "storageClass": "STANDARD",
    "size": "10",
    "md5Hash": "Bx2g9ty9MA6cbCX1+r0vlQ==",
    "crc32c": "PExLFw==",
}


# ---- pure conversion ----------------------------------------------------------------------------------------------


def test_finalize_notification_becomes_the_eventarc_cloudevent() -> None:
    headers, body = to_cloudevent(FAKE_GCS_ATTRIBUTES, json.dumps(FAKE_GCS_DATA).encode(), "local-uploads")
    assert headers["ce-type"] == FINALIZED_TYPE == "google.cloud.storage.object.v1.finalized"
    assert headers["ce-source"] == "//storage.googleapis.com/projects/_/buckets/local-uploads"
    assert headers["ce-subject"] == "objects/t1/s 1/b.csv"
    assert headers["ce-id"] == event_id(FINALIZED_TYPE, json.loads(body))
    assert headers["ce-specversion"] == "1.0"
    assert headers["Content-Type"] == "application/json"
    data = json.loads(body)
    assert data == {
        **{k: FAKE_GCS_DATA[k] for k in ("name", "bucket", "generation", "contentType", "size", "md5Hash", "crc32c")},
        "kind": "storage#object",
        "id": "local-uploads/t1/s 1/b.csv/1795300317524094",
        "selfLink": "https://www.googleapis.com/storage/v1/b/local-uploads/o/t1%2Fs%201%2Fb.csv",
        "mediaLink": "https://www.googleapis.com/download/storage/v1/b/local-uploads/o/t1%2Fs%201%2Fb.csv"
        "?generation=1795300317524094&alt=media",
        "metageneration": "1",
        "storageClass": "STANDARD",
        "timeCreated": "2026-11-21T22:31:57.524067Z",
        "updated": "2026-11-21T22:31:57.524073Z",
        "timeStorageClassUpdated": "2026-11-21T22:31:57.524067Z",
    }


def test_delete_notification_becomes_the_object_deleted_cloudevent_only_for_a_deletion_trigger() -> None:
    deleted = {**FAKE_GCS_ATTRIBUTES, "eventType": "OBJECT_DELETE"}
    payload = json.dumps(FAKE_GCS_DATA).encode()
    headers, body = to_cloudevent(deleted, payload, "local-uploads", DELETED_TYPE)
    assert headers["ce-type"] == DELETED_TYPE == "google.cloud.storage.object.v1.deleted"
    assert headers["ce-id"] == event_id(DELETED_TYPE, json.loads(body)) != event_id(FINALIZED_TYPE, json.loads(body))
    with pytest.raises(NotForTrigger):  # the finalize trigger never sees a deletion, nor the deletion trigger an upload
        to_cloudevent(deleted, payload, "local-uploads")
    with pytest.raises(NotForTrigger):
        to_cloudevent(FAKE_GCS_ATTRIBUTES, payload, "local-uploads", DELETED_TYPE)
    with pytest.raises(NotForTrigger):  # another bucket's deletion belongs to its own consumer
        to_cloudevent(deleted, payload, "local-derived", DELETED_TYPE)


@pytest.mark.parametrize(
    ("attributes", "why"),
    [
        ({**FAKE_GCS_ATTRIBUTES, "eventType": "OBJECT_DELETE"}, "event type"),
        ({**FAKE_GCS_ATTRIBUTES, "eventType": "OBJECT_METADATA_UPDATE"}, "event type"),
        ({**FAKE_GCS_ATTRIBUTES, "bucketId": "local-derived"}, "bucket"),
    ],
)
def test_only_finalize_of_the_uploads_bucket_passes_the_trigger_filter(attributes: dict[str, str], why: str) -> None:
    with pytest.raises(NotForTrigger, match=why):
        to_cloudevent(attributes, json.dumps(FAKE_GCS_DATA).encode(), "local-uploads")


def test_notification_without_json_data_is_not_delivered() -> None:
    with pytest.raises(NotForTrigger):
        to_cloudevent(FAKE_GCS_ATTRIBUTES, b"not json", "local-uploads")


# ---- against the emulators ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class BridgeRig:
    topology: Any
    subscription: str
    observer: str
    recorder_file: Path
    other_bucket: str

    def recorded(self) -> list[dict[str, Any]]:
        if not self.recorder_file.exists():
            return []
        return [json.loads(line) for line in self.recorder_file.read_text().splitlines()]

    def wait_recorded(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.recorded()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} deliveries within {timeout}s, got {len(self.recorded())}")


def _start_rig(emulators: Any, tmp_path: Path, throwaway_dir: Path, fail_first: int) -> Iterator[BridgeRig]:
    from google.api_core import exceptions as gexc
    from google.cloud import pubsub_v1, storage

    # Buckets and subscriptions of its own, so a `stack` bridge running in this session never sees these uploads.
    suffix = uuid.uuid4().hex[:8]
    topo = dataclasses.replace(emulators.topology, uploads_bucket=f"bridge-test-{suffix}")
    other = f"bridge-other-{suffix}"
    client = storage.Client(project=topo.project_id)
    for name in (topo.uploads_bucket, other):
        client.create_bucket(name)
    subscriber = pubsub_v1.SubscriberClient()
    notifications = topo.topic_path(topo.notifications_topic)
    sub, observer = topo.subscription_path(f"bridge-test-{suffix}"), topo.subscription_path(f"observer-{suffix}")
    for name in (sub, observer):
        subscriber.create_subscription(request={"name": name, "topic": notifications, "ack_deadline_seconds": 60})
    recorder_file = tmp_path / "recorded.jsonl"
    port = free_ports(1, avoid=(devstack.DEFAULT_GATEWAY_PORT,))[0]
    env = {**emulators.env, "PATH": "/usr/bin:/bin", "RECORDER_FILE": str(recorder_file), "RECORDER_FAIL_FIRST": str(fail_first)}
    spec = devstack.FunctionSpec("recorder", throwaway_dir / "recorder" / "main.py", "record", "storage_finalize", 60)
    probes = [devstack.launch_function(spec, port, env, tmp_path)]
    try:
        probes.append(devstack.launch_bridge(topo, sub, devstack.function_url(port) + "/", 30, env, tmp_path, tmp_path / "bridge.ready"))
        devstack.wait_all(probes, 60)
        yield BridgeRig(topo, sub, observer, recorder_file, other)
    finally:
        stop_processes([p[0] for p in probes])
        for name in (sub, observer):
            try:
                subscriber.delete_subscription(request={"subscription": name})
            except gexc.NotFound:
                pass
        subscriber.close()


@pytest.fixture
def bridge_rig(emulators: Any, tmp_path: Path, throwaway_dir: Path) -> Iterator[BridgeRig]:
    yield from _start_rig(emulators, tmp_path, throwaway_dir, fail_first=0)


@pytest.fixture
def failing_bridge_rig(emulators: Any, tmp_path: Path, throwaway_dir: Path) -> Iterator[BridgeRig]:
    yield from _start_rig(emulators, tmp_path, throwaway_dir, fail_first=1)


def _signed_put(rig: BridgeRig, name: str, content: bytes, content_type: str, emulators: Any) -> None:
    from google.cloud import storage
    from google.oauth2 import service_account

    signer = service_account.Credentials.from_service_account_file(emulators.env["SIGNING_KEY_FILE"])
    blob = storage.Client(project=rig.topology.project_id).bucket(rig.topology.uploads_bucket).blob(name)
    url = blob.generate_signed_url(
        version="v4",
        expiration=dt.timedelta(minutes=5),
        method="PUT",
        content_type=content_type,
        credentials=signer,
        api_access_endpoint=emulators.storage_url,
    )
    resp = requests.put(url, data=content, headers={"Content-Type": content_type}, timeout=10)
    assert resp.status_code == 200, resp.text


def _observed(rig: BridgeRig, count: int, timeout: float = 10.0) -> list[Any]:
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < count and time.monotonic() < deadline:
            resp = subscriber.pull(request={"subscription": rig.observer, "max_messages": 10, "return_immediately": True}, timeout=10)
            got += [m.message for m in resp.received_messages]
            if resp.received_messages:
                subscriber.acknowledge(request={"subscription": rig.observer, "ack_ids": [m.ack_id for m in resp.received_messages]})
            time.sleep(0.05)
    finally:
        subscriber.close()
    return got


def test_signed_upload_reaches_the_function_as_a_finalized_cloudevent(bridge_rig: BridgeRig, emulators: Any) -> None:
    _signed_put(bridge_rig, "tenant-a/sess-1/upload-1", b"a,b\n1,2\n", "text/csv", emulators)

    [event] = bridge_rig.wait_recorded(1)
    [notification] = _observed(bridge_rig, 1)
    attrs, data = event["attributes"], event["data"]
    bucket = bridge_rig.topology.uploads_bucket
    assert attrs["type"] == "google.cloud.storage.object.v1.finalized"
    assert attrs["source"] == f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    assert attrs["subject"] == "objects/tenant-a/sess-1/upload-1"
    assert attrs["id"] == event_id(FINALIZED_TYPE, data) != notification.message_id
    assert attrs["specversion"] == "1.0"
    assert data["bucket"] == bucket and data["name"] == "tenant-a/sess-1/upload-1"
    assert data["generation"] == notification.attributes["objectGeneration"]
    assert data["size"] == "8" and data["contentType"] == "text/csv"
    assert data["metageneration"] == "1" and data["kind"] == "storage#object"
    assert data["md5Hash"] and data["crc32c"] and data["timeCreated"] and data["updated"]
    assert data["id"] == f"{bucket}/tenant-a/sess-1/upload-1/{data['generation']}"
    assert data["selfLink"].endswith(f"/b/{bucket}/o/tenant-a%2Fsess-1%2Fupload-1")


def test_plain_upload_elsewhere_and_deletes_are_not_delivered(bridge_rig: BridgeRig, emulators: Any) -> None:
    from google.cloud import storage

    client = storage.Client(project=bridge_rig.topology.project_id)
    client.bucket(bridge_rig.other_bucket).blob("x/other.txt").upload_from_string(b"elsewhere")
    uploads = client.bucket(bridge_rig.topology.uploads_bucket)
    uploads.blob("x/kept.txt").upload_from_string(b"kept", content_type="text/plain")  # plain JSON-API upload
    uploads.blob("x/kept.txt").delete()

    assert len(_observed(bridge_rig, 3)) == 3  # finalize elsewhere, finalize here, delete here
    time.sleep(0.5)  # let the bridge handle all three
    events = bridge_rig.wait_recorded(1)
    assert [e["attributes"]["subject"] for e in events] == ["objects/x/kept.txt"]


def test_event_ids_are_stable_for_one_event_and_new_for_any_other() -> None:
    """Unique across restarts, as Eventarc's are: the id does not depend on the Pub/Sub emulator's message number
    (which starts at 1 again after a restart), only on the event itself."""
    payload = json.dumps(FAKE_GCS_DATA).encode()
    first, _ = to_cloudevent(FAKE_GCS_ATTRIBUTES, payload, "local-uploads")
    again, _ = to_cloudevent(dict(FAKE_GCS_ATTRIBUTES), payload, "local-uploads")
    assert first["ce-id"] == again["ce-id"]
    ids = {first["ce-id"]}
    for change in ({"generation": "1795300317524095"}, {"name": "t1/s 1/c.csv"}):
        other, _ = to_cloudevent(FAKE_GCS_ATTRIBUTES, json.dumps({**FAKE_GCS_DATA, **change}).encode(), "local-uploads")
        ids.add(other["ce-id"])
    assert len(ids) == 3


def test_failed_delivery_is_retried_with_the_same_event_id(failing_bridge_rig: BridgeRig, emulators: Any) -> None:
    _signed_put(failing_bridge_rig, "tenant-a/sess-1/retry-me", b"payload", "application/octet-stream", emulators)

    first, second = failing_bridge_rig.wait_recorded(2, timeout=20)
    assert first["attributes"]["id"] == second["attributes"]["id"]
    assert first["data"] == second["data"]
    time.sleep(2.5)  # the success was acked: no third delivery
    assert len(failing_bridge_rig.recorded()) == 2
