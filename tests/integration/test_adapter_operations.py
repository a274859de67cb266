"""Which adapter operations each deployed function performs, recorded while its real entry point runs a journey over
the emulators. The record is infra/iam/operations.json; tests/infra/test_permissions.py derives every function's IAM
grants from it. A change in the code that adds, drops or moves an operation to another bucket fails here until the
record is regenerated (RECORD_OPERATIONS=1), and then the grant check says which role must change."""

from __future__ import annotations

import base64
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from google.cloud import pubsub_v1

from dev.provision import Topology
from dev.token import mint_token
from shared.bootstrap import Services, set_services
from shared.domain.models import Command, Event
from shared.settings import get_settings
from tests.as2.partner import PartnerReceiver, key_pair, load_pyas2lib

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORD = REPO_ROOT / "infra" / "iam" / "operations.json"
ADAPTER_PERMISSIONS = REPO_ROOT / "infra" / "iam" / "adapter_permissions.json"
FUNCTIONS = REPO_ROOT / "infra" / "functions.json"
CSV = b"id,name,amount\n1,alpha,3.5\n2,beta,4.25\n"
CSV2 = b"id,city\n1,Lyon\n2,Porto\n"
ENROLMENT = (REPO_ROOT / "tests" / "corpus" / "edi" / "pyx12_834_lui_id.x12").read_bytes()  # public; SOURCES.tsv
SCAN = REPO_ROOT / "tests" / "corpus" / "images" / "HelloGoogle.tif"


class OperationLog:
    """Adapter calls by the function whose entry point was running, with the buckets they touched by role."""

    def __init__(self, buckets: dict[str, str]):
        self.buckets = buckets
        self.table: dict[str, dict[str, Any]] = json.loads(ADAPTER_PERMISSIONS.read_text())["operations"]
        self.current: str | None = None
        self.by_function: dict[str, set[str]] = defaultdict(set)
        self.unknown: set[str] = set()
        self.published: list[dict[str, Any]] = []  # events to push to the consumer, as the push subscription does

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        self.current = function
        try:
            yield
        finally:
            self.current = None

    def note(self, op: str, args: tuple[Any, ...]) -> None:
        if self.current is None:  # the test's own setup and checks
            return
        if op not in self.table:
            self.unknown.add(op)
            return
        resolved = [self.buckets.get(str(args[int(k.split(":")[1])]), "?") for k in self.table[op] if k.startswith("bucket:")]
        self.by_function[self.current].add(f"{op}({', '.join(resolved)})" if resolved else op)


class Recorded:
    """Wraps one adapter: every public method call is noted, then passed through unchanged."""

    def __init__(self, inner: Any, kind: str, log: OperationLog):
        self._inner, self._kind, self._log = inner, kind, log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._log.note(f"{self._kind}.{name}", args)
            result = attr(*args, **kwargs)
            if self._kind == "publisher" and name == "publish":
                self._log.published.append(args[0].model_dump(mode="json"))
            return result

        return call


@pytest.fixture
def recorded(services, monkeypatch, tmp_path) -> Iterator[tuple[Services, OperationLog]]:
    monkeypatch.setenv("OUTBOX_GRACE_SECONDS", "0")  # the sweep delivers what the test leaves pending
    monkeypatch.setenv("AS2_KEY_FILE", str(tmp_path / "as2" / "key.pem"))  # our AS2 key, outside the repository
    monkeypatch.setenv("AS2_DELIVER_URL", "http://127.0.0.1:9/")  # the test posts the deliveries itself
    get_settings.cache_clear()
    plain = Services()
    s = plain.settings
    log = OperationLog({s.uploads_bucket: "uploads", s.derived_bucket: "derived", s.records_bucket: "records"})
    wired = Services(s, store=Recorded(plain.store, "store", log), blobs=Recorded(plain.blobs, "blobs", log),
                     publisher=Recorded(plain.publisher, "publisher", log), queue=Recorded(plain.queue, "queue", log),
                     ocr=Recorded(plain.ocr, "ocr", log),
                     dead_letters=Recorded(plain.dead_letters, "dead_letters", log),
                     partners=Recorded(plain.partners, "partners", log), as2_keys=Recorded(plain.as2_keys, "as2_keys", log))
    set_services(wired)  # what every entry point's get_services() now returns
    yield plain, log
    get_settings.cache_clear()


def _finalize_event(obj: dict[str, Any], event_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    data = {"bucket": obj["bucket"], "name": obj["name"], "generation": str(obj["generation"]), "size": str(obj["size"]),
            "contentType": obj.get("contentType"), "metageneration": "1", "kind": "storage#object"}
    headers = {"ce-id": event_id, "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.finalized",
               "ce-source": f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
               "ce-subject": f"objects/{obj['name']}", "Content-Type": "application/json"}
    return data, headers


def _deleted_event(bucket: str, name: str, generation: str, event_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    data = {"bucket": bucket, "name": name, "generation": generation, "metageneration": "1", "kind": "storage#object"}
    headers = {"ce-id": event_id, "ce-specversion": "1.0", "ce-type": "google.cloud.storage.object.v1.deleted",
               "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
               "ce-subject": f"objects/{name}", "Content-Type": "application/json"}
    return data, headers


def _pubsub_event(payload: dict[str, Any], message_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    data = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "attributes": {},
                        "messageId": message_id}, "subscription": "projects/p/subscriptions/consumer"}
    headers = {"ce-id": message_id, "ce-specversion": "1.0", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
               "ce-source": "//pubsub.googleapis.com/projects/p/topics/ingestion-events", "Content-Type": "application/json"}
    return data, headers


def _journey(plain: Services, log: OperationLog, client: Callable[..., Any], auth: Callable[..., dict[str, str]]) -> None:
    ingest, finalize = client("ingest", "ingest_http"), client("ingest", "on_upload_finalized", "cloudevent")
    profile, parse = client("profile_selection", "profile_selection_http"), client("parse", "parse_worker")
    save, read = client("save", "save_http"), client("read_api", "read_http")
    consumer, sweep = client("outbox_relay", "on_event", "cloudevent"), client("outbox_relay", "sweep")
    h = auth()

    def ok(resp: Any, *codes: int) -> dict[str, Any]:
        assert resp.status_code in (codes or (200, 201, 202)), resp.get_data(as_text=True)
        return resp.get_json() or {}

    def outbox(kind: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [r.payload for r in plain.store.outbox_records()
                if r.kind == kind and (event_type is None or r.payload.get("event_type") == event_type)]

    parsed: set[str] = set()

    def run_parse() -> str:
        command = next(c for c in outbox("command") if c["command_id"] not in parsed)  # the one new command
        parsed.add(command["command_id"])
        with log.running("parse-worker"):
            ok(parse.post("/", json=command))
        task_intent = command["payload"]["intent_id"] if "payload" in command else command["intent_id"]
        return plain.store.get_intent(command["tenant_id"], task_intent).result_artifact_id

    upload_body = {"parameters": {"ui_name": "orders.csv", "file_size": len(CSV), "mime_type": "text/csv",
                                  "ingestion_profile": "structured"}}
    with log.running("ingest-http"):
        upload = ok(ingest.post("/v1/intents/request_upload", json=upload_body, headers=h))
        file2 = ok(ingest.post("/v1/intents/ingest_file", headers=h, json={"parameters": {
            "ui_name": "cities.csv", "filename": "cities.csv", "file_content": CSV2.hex()}}))["file_id"]
        ok(ingest.get(f"/v1/uploads/{upload['upload_id']}", headers=h))
        large = ok(ingest.post("/v1/intents/request_upload", headers=h, json={"parameters": {  # a resumable session
            "ui_name": "large.csv", "file_size": 9 * 1024 * 1024, "mime_type": "text/csv"}}))
        ok(ingest.get(f"/v1/uploads/{large['upload_id']}", headers=h))
        again = ok(ingest.post("/v1/intents/request_upload", json={"parameters": {
            "ui_name": "copy.csv", "file_size": len(CSV), "mime_type": "text/csv"}}, headers=h))
    objects = [requests.put(u["upload_url"], data=CSV, headers=u["headers"], timeout=30) for u in (upload, again)]
    for i, put in enumerate(objects):
        put.raise_for_status()
        data, headers = _finalize_event(put.json(), f"finalize-{i}")
        with log.running("ingest-finalize"):  # the second is the same bytes in the same session: deleted
            ok(finalize.post("/", json=data, headers=headers), 200, 204)

    ingested = next(e for e in outbox("event", "artifact_ingested") if e["data"].get("upload_id") == upload["upload_id"])
    file1 = ingested["data"]["artifact_id"]
    data, headers = _pubsub_event(ingested, "msg-1")
    with log.running("outbox-consumer"):  # auto-dispatch of the profile chosen at upload
        ok(consumer.post("/", json=data, headers=headers), 200, 204)
    parsed1 = run_parse()

    with log.running("profile-selection"):
        ok(profile.post("/v1/pending-intents", headers=h, json={
            "intent_type": "parse_content", "target_artifact_id": file2,
            "context": {"ingestion_profile": "structured", "parse_options": {}}}))
        listed = ok(profile.get(f"/v1/pending-intents?target_artifact_id={file2}&status=pending", headers=h))
        ok(profile.delete(f"/v1/pending-intents/{listed['intents'][0]['intent_id']}", headers=h))
        ok(profile.post("/v1/intents/parse_content", headers=h,
                        json={"parameters": {"file_id": file2, "ingestion_profile": "structured"}}))
    parsed2 = run_parse()

    # A scan (an image upload): the worker reads it through the OCR port (Tesseract here, Document AI deployed).
    with log.running("ingest-http"):
        scan = ok(ingest.post("/v1/intents/ingest_file", headers=h, json={"parameters": {
            "ui_name": "hello.tif", "filename": "hello.tif", "file_content": SCAN.read_bytes().hex()}}))["file_id"]
    with log.running("profile-selection"):
        ok(profile.post("/v1/intents/parse_content", headers=h,
                        json={"parameters": {"file_id": scan, "ingestion_profile": "unstructured"}}))
    scanned = plain.store.get_artifact("tenant-a", run_parse())
    assert scanned is not None and scanned.semantic_descriptor.model_dump()["ocr"]["engine"] == "tesseract"

    with log.running("read-api"):
        for artifact_id in (file2, parsed2):
            ok(read.get(f"/v1/artifacts/{artifact_id}?include_payload=true", headers=h))
        ok(read.get("/v1/artifacts", headers=h))
        ok(read.get(f"/v1/artifacts/{parsed2}/lineage", headers=h))
        ok(read.get(f"/v1/executions/{upload['execution_id']}", headers=h))

    with log.running("save"):
        for artifact_id in (file1, parsed1):
            ok(save.post("/v1/intents/save_materialization", headers=h, json={"parameters": {"artifact_id": artifact_id}}))
        for artifact_id in (parsed2, file2):  # working material in derived, then in uploads
            ok(save.delete(f"/v1/artifacts/{artifact_id}", headers=h))
    with log.running("read-api"):
        ok(read.get(f"/v1/artifacts/{file1}?include_payload=true", headers=h))

    # Retention that holds: a regulatory record locked in storage, a legal hold set and cleared, a reference record.
    with log.running("ingest-http"):
        kept, referenced = (ok(ingest.post("/v1/intents/ingest_file", headers=h, json={"parameters": {
            "ui_name": name, "filename": name, "file_content": body.hex()}}))["file_id"]
            for name, body in (("ledger.csv", b"a,b\n1,2\n"), ("ref.csv", b"a,c\n3,4\n")))
    with log.running("save"):
        ok(save.post("/v1/intents/save_materialization", headers=h, json={"parameters": {
            "artifact_id": kept, "retention_policy": "regulatory_7y"}}))
        ok(save.post(f"/v1/artifacts/{kept}/hold", headers=h))
        ok(save.delete(f"/v1/artifacts/{kept}/hold", headers=h))
        ok(save.post("/v1/intents/save_materialization", headers=h, json={"parameters": {
            "artifact_id": referenced, "materialization_type": "reference"}}))
    with log.running("read-api"):
        ok(read.get(f"/v1/artifacts/{referenced}?include_payload=true", headers=h))

    # Journeys (sagas): the consumer runs their steps, a save with auto-save and a discard when one is cancelled.
    log.published.clear()

    def pump(tenant: str, journey_id: str, done: Callable[[Any], bool]) -> Any:
        for _ in range(40):
            while log.published:
                event = log.published.pop(0)
                data, headers = _pubsub_event(event, event["event_id"])
                with log.running("outbox-consumer"):
                    ok(consumer.post("/", json=data, headers=headers), 200, 204)
            if any(c["command_id"] not in parsed for c in outbox("command")):
                run_parse()
            journey = plain.store.get_journey(tenant, journey_id)
            if done(journey):
                return journey
        raise AssertionError(f"journey {journey_id} did not get there: {journey.view()}")

    for n, (save_mode, content) in enumerate((("auto", b"k,v\n1,a\n2,b\n"), ("manual", b"k,w\n3,c\n4,d\n"))):
        with log.running("ingest-http"):
            file_n = ok(ingest.post("/v1/intents/ingest_file", headers=h, json={"parameters": {
                "ui_name": f"j{n}.csv", "filename": f"j{n}.csv", "file_content": content.hex()}}))["file_id"]
        with log.running("profile-selection"):
            journey_id = ok(profile.post("/v1/journeys", headers=h, json={
                "file_id": file_n, "ingestion_profile": "structured", "save": save_mode}))["journey_id"]
        if save_mode == "auto":
            pump("tenant-a", journey_id, lambda j: j.status in ("completed", "failed"))
        else:
            pump("tenant-a", journey_id, lambda j: j.status == "awaiting_approval")
            with log.running("profile-selection"):
                ok(profile.post(f"/v1/journeys/{journey_id}/cancel", headers=h))
            pump("tenant-a", journey_id, lambda j: j.compensation == "done")

    # The working buckets' lifecycle deletes the saved file's and parsed artifact's working copies: each bucket's
    # consumer forgets their references.
    for fn, artifact_id in (("references-uploads", file1), ("references-derived", parsed1)):
        working = next(m.uri for m in plain.store.get_artifact("tenant-a", artifact_id).materializations if not m.persistent)
        bucket, name = working.removeprefix("gs://").split("/", 1)
        generation = plain.blobs.stat(bucket, name).generation
        plain.blobs.delete(bucket, name)
        data, headers = _deleted_event(bucket, name, generation, f"deleted-{fn}")
        with log.running(fn):
            ok(client("outbox_relay", "on_object_deleted", "cloudevent").post("/", json=data, headers=headers), 200, 204)

    # An event the consumer gave up on sits in the dead-letter subscription: an operator finds it and replays it.
    letter = Event.model_validate({**ingested, "event_id": "evt-dead-lettered"})
    topology = Topology(project_id=plain.settings.project_id)
    dlq = pubsub_v1.PublisherClient()
    dlq.publish(topology.topic_path(topology.dead_letter_topic), json.dumps(letter.model_dump(mode="json")).encode(),
                event_id=letter.event_id, event_type=letter.event_type, tenant_id=letter.tenant_id).result(timeout=30)
    operator = {"Authorization": f"Bearer {mint_token('tenant-a', 'olga', 'ops', extra_claims={'roles': ['operator']})}"}
    with log.running("profile-selection"):
        for _ in range(30):
            if ok(profile.get("/v1/operations/dead-letters?since=1h", headers=operator))["count"]:
                break
            time.sleep(1)
        replayed = ok(profile.post("/v1/operations/dead-letters/replay", headers=operator, json={"since": "1h"}))
    assert replayed["count"] == 1, replayed

    # Retention runs out on the saved file and its parsed artifact: the sweep deletes their payloads in every bucket.
    past = datetime.now(UTC) - timedelta(days=1)
    for artifact_id in (file1, parsed1):
        plain.store.client.document(f"tenants/tenant-a/artifacts/{artifact_id}").update({"expires_at": past})
    # An event and a command left undelivered, as after a crash between commit and send: the sweep sends them.
    event = Event.model_validate({**ingested, "event_id": "evt-left-behind"})
    command = {**outbox("command")[0], "command_id": "cmd-left-behind"}
    plain.store.run_in_transaction(lambda tx: (tx.stage_event(event), tx.stage_command(Command.model_validate(command))))
    with log.running("outbox-sweep"):
        ok(sweep.post("/"))

    _partner_exchange(plain, log, client, h, ok)


def _partner_exchange(plain: Services, log: OperationLog, client: Callable[..., Any], h: dict[str, str],
                      ok: Callable[..., dict[str, Any]]) -> None:
    """A partner registered, an AS2 message from pyas2lib received and acknowledged, the acknowledgements delivered."""
    lib = load_pyas2lib()
    as2, deliver = client("as2", "as2_http"), client("as2", "as2_deliver")
    with log.running("as2-http"):
        identity = ok(as2.get("/v1/as2/identity", headers=h))
    key, cert = key_pair("partner")
    org = lib.Organization(as2_name="PARTNER", sign_key=key + cert, decrypt_key=key + cert)
    us = lib.Partner(as2_name=identity["as2_id"], verify_cert=identity["signing_cert_pem"].encode(),
                     encrypt_cert=identity["encryption_cert_pem"].encode(), sign=True, encrypt=True,
                     enc_alg="aes_256_cbc", mdn_mode="SYNC", mdn_digest_alg="sha256", validate_certs=False)
    receiver = PartnerReceiver(lib, org, us)
    try:
        with log.running("as2-http"):
            ok(as2.post("/v1/partners", headers=h, json={
                "partner_id": "acme", "name": "Acme", "standard": "x12", "acknowledgements": ["TA1", "997"],
                "interchange_ids": [{"qualifier": "ZZ", "id": "D00XXX"}],
                "as2": {"as2_id": "PARTNER", "url": receiver.url, "signing_cert_pem": cert.decode(),
                        "encryption_cert_pem": cert.decode()}}))
            ok(as2.get("/v1/partners", headers=h))
            message = lib.Message(org, us)
            message.build(ENROLMENT, filename="834.x12", content_type="application/edi-x12")
            ok(as2.post("/as2", data=message.content, headers=dict(message.headers)), 200)
            acks = ok(as2.get("/v1/acknowledgements?partner_id=acme", headers=h))["acknowledgements"]
            assert {a["kind"] for a in acks} == {"TA1", "997"}
        for record in plain.store.outbox_records():
            if record.payload.get("command_type") == "deliver_as2":
                with log.running("as2-deliver"):
                    ok(deliver.post("/", json=record.payload), 200)
        assert [status for status, _ in receiver.received] == ["processed", "processed"]
        with log.running("as2-http"):
            ok(as2.get("/v1/partners/acme", headers=h))
            ok(as2.delete("/v1/partners/acme", headers=h))
    finally:
        receiver.close()


def test_each_function_performs_exactly_the_recorded_adapter_operations(recorded, function_client, auth) -> None:
    plain, log = recorded
    _journey(plain, log, function_client, auth)

    assert not log.unknown, f"adapter methods missing from {ADAPTER_PERMISSIONS.name}: {sorted(log.unknown)}"
    # The cost guard uses no data adapter (tests/integration/test_cost_guard.py, tests/infra/test_permissions.py).
    declared = {f["name"] for f in json.loads(FUNCTIONS.read_text())["functions"]} - {"cost-guard"}
    assert set(log.by_function) == declared, "the journey must run every deployed function"
    observed = {fn: sorted(ops) for fn, ops in sorted(log.by_function.items())}
    if os.environ.get("RECORD_OPERATIONS"):
        RECORD.write_text(json.dumps({"_comment": RECORD_COMMENT, "functions": observed}, indent=2) + "\n")
    record = json.loads(RECORD.read_text())["functions"]
    assert observed == record, "the code's operations changed: RECORD_OPERATIONS=1 rewrites infra/iam/operations.json"


RECORD_COMMENT = ("Adapter operations each function performs, recorded by tests/integration/test_adapter_operations.py "
                  "while the functions' entry points run a journey (RECORD_OPERATIONS=1 rewrites it). Buckets by role.")
