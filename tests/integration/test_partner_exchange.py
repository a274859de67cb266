"""Partner exchange end to end over the emulators, against an independent AS2 implementation: pyas2lib signs,
encrypts and compresses a public interchange (tests/corpus/edi), sends it to POST /as2 and verifies our signed MDN;
our acknowledgement is delivered over AS2 to a pyas2lib receiver on loopback and read back there by pyx12."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import pyx12.x12file

from shared.adapters.firestore_references import artifact_of
from shared.bootstrap import get_services, set_services
from shared.settings import get_settings
from tests.as2.partner import PartnerReceiver, key_pair, load_pyas2lib, raw_http

AS2 = ("as2", "as2_http")
DELIVER = ("as2", "as2_deliver")
ENROLMENT = (Path(__file__).resolve().parents[1] / "corpus" / "edi" / "pyx12_834_lui_id.x12").read_bytes()
lib = load_pyas2lib()


@pytest.fixture
def exchange(fresh_state, monkeypatch, tmp_path, function_client, auth):
    """Fresh services with our AS2 key in a file outside the repo; a partner with its own keys and AS2 server."""
    monkeypatch.setenv("AS2_KEY_FILE", str(tmp_path / "as2" / "key.pem"))
    monkeypatch.setenv("AS2_DELIVER_URL", "http://127.0.0.1:9/")  # tasks the emulator dispatches go nowhere
    get_settings.cache_clear()
    set_services(None)
    services = get_services()
    client = function_client(*AS2)
    identity = client.get("/v1/as2/identity", headers=auth()).get_json()
    partner_key, partner_cert = key_pair("partner")
    org = lib.Organization(as2_name="PARTNER", sign_key=partner_key + partner_cert, decrypt_key=partner_key + partner_cert)
    us = lib.Partner(as2_name=identity["as2_id"], verify_cert=identity["signing_cert_pem"].encode(),
                     encrypt_cert=identity["encryption_cert_pem"].encode(), sign=True, encrypt=True,
                     enc_alg="aes_256_cbc", compress=True, mdn_mode="SYNC", mdn_digest_alg="sha256", validate_certs=False)
    receiver = PartnerReceiver(lib, org, us)
    body = {"partner_id": "acme-health", "name": "Acme Health", "standard": "x12",
            "interchange_ids": [{"qualifier": "ZZ", "id": "D00XXX"}], "acknowledgements": ["TA1", "997"],
            "duplicate_window_days": 30,
            "as2": {"as2_id": "PARTNER", "url": receiver.url, "signing_cert_pem": partner_cert.decode(),
                    "encryption_cert_pem": partner_cert.decode(), "mdn": "sync", "mdn_signed": True}}
    created = client.post("/v1/partners", json=body, headers=auth())
    assert created.status_code == 201, created.get_json()
    yield {"services": services, "client": client, "org": org, "us": us, "receiver": receiver, "identity": identity,
           "keys": (partner_key, partner_cert)}
    receiver.close()
    set_services(None)


def send(ex, payload: bytes, org=None):
    message = lib.Message(org or ex["org"], ex["us"])
    message.build(payload, filename="834.x12", content_type="application/edi-x12")
    resp = ex["client"].post("/as2", data=message.content, headers=dict(message.headers))
    assert resp.status_code == 200
    mdn_raw = raw_http(dict(resp.headers.items()), resp.get_data())
    status, detail = lib.Mdn().parse(mdn_raw, lambda _mid, _rcpt: message)
    return status, detail, message


def acks(ex, auth, **query):
    resp = ex["client"].get("/v1/acknowledgements", query_string=query, headers=auth())
    assert resp.status_code == 200
    return resp.get_json()["acknowledgements"]


def deliveries(services):
    return [r for r in services.store.outbox_records() if r.payload.get("command_type") == "deliver_as2"]


def segments(text: str) -> dict[str, list[str]]:
    return {seg.get_seg_id(): [seg.get_value(f"{seg.get_seg_id()}{i:02d}") or "" for i in range(1, len(seg) + 1)]
            for seg in pyx12.x12file.X12Reader(io.StringIO(text))}


def test_signed_encrypted_message_gets_signed_mdn_and_acks_delivered(exchange, auth, function_client):
    status, detail, message = send(exchange, ENROLMENT)
    assert (status, detail) == ("processed", None)  # pyas2lib verified our signature and the MIC it computed

    services = exchange["services"]
    files = [artifact_of(d.to_dict()) for d in services.store.tenant("tenant-a").collection("artifacts").stream()
             if d.to_dict()["artifact_type"] == "file"]
    assert len(files) == 1
    meta = files[0].source_metadata
    assert meta["partner_id"] == "acme-health" and meta["edi_protocol"] == "as2"
    assert meta["as2_message_id"] == f"<{message.message_id}>"
    assert meta["as2_mic"] == message.mic.decode() and meta["as2_signed"] and meta["as2_encrypted"]

    listed = {a["kind"]: a for a in acks(exchange, auth, partner_id="acme-health")}
    assert set(listed) == {"TA1", "997"}
    assert listed["997"]["status"] == "accepted" and listed["997"]["for_artifact_id"] == files[0].artifact_id
    assert listed["997"]["interchange_control_number"] == "000701336"
    assert all(a["delivery"] == "pending" for a in listed.values())
    art = services.store.get_artifact("tenant-a", listed["997"]["artifact_id"])
    assert art is not None and art.lineage.derived_from == [files[0].artifact_id]

    # The outbox holds one delivery per acknowledgement; run each as Cloud Tasks would POST it to the worker.
    worker = function_client(*DELIVER)
    for record in deliveries(services):
        resp = worker.post("/", data=json.dumps(record.payload), headers={"Content-Type": "application/json"})
        assert resp.status_code == 200, resp.get_json()
    got = exchange["receiver"].received
    assert [s for s, _ in got] == ["processed", "processed"]
    texts = {p.decode().split("~")[1].strip()[:3]: p.decode() for _, p in got}
    assert segments(texts["GS*"])["AK5"] == ["A"] and segments(texts["GS*"])["AK9"][:4] == ["A", "1", "1", "1"]
    assert segments(texts["TA1"])["TA1"][3:] == ["A", "000"]
    assert {a["delivery"] for a in acks(exchange, auth)} == {"delivered"}


def test_wrong_se_count_is_rejected_in_the_997(exchange, auth):
    status, _, _ = send(exchange, ENROLMENT.replace(b"SE*20*0001", b"SE*19*0001"))
    assert status == "processed"  # transport fine: the fault is the interchange's, reported by the 997
    ack = next(a for a in acks(exchange, auth) if a["kind"] == "997")
    assert ack["status"] == "rejected"
    record = next(r for r in deliveries(exchange["services"]) if r.payload["payload"]["ack_id"] == ack["ack_id"])
    assert record.payload["payload"]["url"] == exchange["receiver"].url


def test_duplicate_interchange_is_rejected_and_posts_nothing(exchange, auth, event_tap):
    send(exchange, ENROLMENT)
    services = exchange["services"]
    files_before = [d.id for d in services.store.tenant("tenant-a").collection("artifacts").stream()
                    if d.to_dict()["artifact_type"] == "file"]
    ingested_before = [r for r in services.store.outbox_records() if r.payload.get("event_type") == "artifact_ingested"]
    changed = ENROLMENT.replace(b"AMT*P3*45.34", b"AMT*P3*99.99")  # other content, same ISA13 000701336
    status, _, _ = send(exchange, changed)
    assert status == "processed"
    files_after = [d.id for d in services.store.tenant("tenant-a").collection("artifacts").stream()
                   if d.to_dict()["artifact_type"] == "file"]
    assert files_after == files_before
    ingested_after = [r for r in services.store.outbox_records() if r.payload.get("event_type") == "artifact_ingested"]
    assert len(ingested_after) == len(ingested_before)
    dup = [a for a in acks(exchange, auth, interchange_control_number="000701336") if a["duplicate"]]
    assert [(a["kind"], a["status"]) for a in dup] == [("TA1", "rejected")]
    text = services.blobs
    with text.open_read(get_settings().derived_bucket, f"acknowledgements/tenant-a/{dup[0]['artifact_id']}.edi") as fh:
        assert segments(fh.read().decode())["TA1"][3:] == ["R", "025"]


def test_unknown_partner_and_bad_signature_get_negative_mdns(exchange):
    stranger_key, stranger_cert = key_pair("stranger")
    stranger = lib.Organization(as2_name="STRANGER", sign_key=stranger_key + stranger_cert,
                                decrypt_key=stranger_key + stranger_cert)
    status, detail, _ = send(exchange, ENROLMENT, org=stranger)
    assert status == "processed/error" and "authentication-failed" in (detail or "")

    impostor = lib.Organization(as2_name="PARTNER", sign_key=stranger_key + stranger_cert,
                                decrypt_key=stranger_key + stranger_cert)
    status, detail, _ = send(exchange, ENROLMENT, org=impostor)
    assert status == "processed/error" and "authentication-failed" in (detail or "")
    assert not [d for d in exchange["services"].store.tenant("tenant-a").collection("artifacts").stream()]


def test_partners_are_per_tenant_and_validated(exchange, auth):
    client = exchange["client"]
    assert client.get("/v1/partners/acme-health", headers=auth()).status_code == 200
    other = client.get("/v1/partners/acme-health", headers=auth(tenant="tenant-b"))
    assert other.status_code == 404 and other.get_json()["error_code"] == "PARTNER_NOT_FOUND"
    bad = client.post("/v1/partners", json={"partner_id": "x", "name": "X", "standard": "edifact",
                                             "interchange_ids": [{"qualifier": "14", "id": "1"}],
                                             "acknowledgements": ["997"]}, headers=auth())
    assert bad.status_code == 422 and bad.get_json()["error_code"] == "INVALID_PARTNER"
    listed = client.get("/v1/partners", headers=auth()).get_json()["partners"]
    assert [p["partner_id"] for p in listed] == ["acme-health"]
    identity = client.get("/v1/as2/identity", headers=auth()).get_json()
    assert "PRIVATE KEY" not in json.dumps(identity) and identity["as2_id"] == "INGEST-tenant-a"
    assert client.delete("/v1/partners/acme-health", headers=auth()).status_code == 200
    assert client.get("/v1/partners/acme-health", headers=auth()).status_code == 404


def test_inline_ingest_file_answers_with_acknowledgements_and_refuses_a_duplicate(exchange, auth, function_client):
    """The same partner, inline: ingest_file (edi) answers with the TA1 and 997; the same ISA13 with other content is
    409 DUPLICATE_INTERCHANGE with the rejecting TA1 (025), and no second file is posted."""
    ingest = function_client("ingest", "ingest_http")
    services = exchange["services"]

    def post(data: bytes):
        return ingest.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
            "ui_name": "834.x12", "ingestion_type": "edi", "edi_data": data.hex(), "partner_id": "acme-health",
            "edi_protocol": "sftp"}})

    first = post(ENROLMENT)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    answered = {a["kind"]: a for a in body["acknowledgements"]}
    assert set(answered) == {"TA1", "997"} and answered["997"]["status"] == "accepted"
    assert answered["997"]["for_artifact_id"] == body["file_id"]
    again = post(ENROLMENT)  # the same bytes: the same file and the same acknowledgements, recorded and sent once
    assert again.status_code == 201 and again.get_json()["deduplicated"]
    assert [a["ack_id"] for a in again.get_json()["acknowledgements"]] == [a["ack_id"] for a in body["acknowledgements"]]

    dup = post(ENROLMENT.replace(b"AMT*P3*45.34", b"AMT*P3*99.99"))
    assert dup.status_code == 409, dup.get_json()
    err = dup.get_json()
    assert err["error_code"] == "DUPLICATE_INTERCHANGE" and err["details"]["duplicate_of"] == body["file_id"]
    rejected = err["details"]["acknowledgements"]
    assert [(a["kind"], a["status"], a["duplicate"]) for a in rejected] == [("TA1", "rejected", True)]
    with services.blobs.open_read(get_settings().derived_bucket,
                                  f"acknowledgements/tenant-a/{rejected[0]['artifact_id']}.edi") as fh:
        assert segments(fh.read().decode())["TA1"][3:] == ["R", "025"]  # read back by pyx12
    files = [d.id for d in services.store.tenant("tenant-a").collection("artifacts").stream()
             if d.to_dict()["artifact_type"] == "file"]
    assert files == [body["file_id"]]
    assert len([r for r in deliveries(services)]) == 3  # TA1 + 997, then the rejecting TA1; nothing twice


def test_a_crash_while_acknowledging_loses_no_acknowledgement_and_the_retry_sends_each_once(
        exchange, auth, function_client, monkeypatch):
    """The acknowledgement's record, its artifact and its delivery commit together: a crash in that commit leaves
    none of them, so the partner's retry records and sends every acknowledgement, once."""
    from shared.adapters.firestore_tx import FirestoreTx

    real = FirestoreTx.stage_command
    crashed: list[str] = []

    def crash_once(self, command):
        if command.command_type == "deliver_as2" and not crashed:
            crashed.append(command.command_id)
            raise RuntimeError("the instance was stopped in the middle of the commit")
        return real(self, command)

    monkeypatch.setattr(FirestoreTx, "stage_command", crash_once)
    ingest = function_client("ingest", "ingest_http")
    services = exchange["services"]

    def post():
        return ingest.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
            "ui_name": "834.x12", "ingestion_type": "edi", "edi_data": ENROLMENT.hex(), "partner_id": "acme-health"}})

    first = post()
    assert crashed and first.status_code != 201
    assert acks(exchange, auth) == [] and deliveries(services) == []  # nothing half-recorded

    retried = post()
    assert retried.status_code == 201, retried.get_json()
    answered = retried.get_json()["acknowledgements"]
    assert sorted(a["kind"] for a in answered) == ["997", "TA1"]
    for ack in answered:
        assert services.store.get_artifact("tenant-a", ack["artifact_id"]) is not None
    sent = deliveries(services)
    assert sorted(r.payload["payload"]["ack_id"] for r in sent) == sorted(a["ack_id"] for a in answered)
    assert post().status_code == 201 and len(deliveries(services)) == 2  # a third time sends nothing more


def test_an_unregistered_partner_s_edi_is_only_stored(exchange, auth, function_client):
    ingest = function_client("ingest", "ingest_http")
    resp = ingest.post("/v1/intents/ingest_file", headers=auth(), json={"parameters": {
        "ui_name": "834.x12", "ingestion_type": "edi", "edi_data": ENROLMENT.hex(), "partner_id": "someone-else"}})
    assert resp.status_code == 201 and "acknowledgements" not in resp.get_json()
    assert acks(exchange, auth) == []


class _Inbox:
    """An HTTP endpoint on loopback that keeps what is POSTed to it (the partner's asynchronous MDN URL)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.posts: list[bytes] = []
        inbox = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                inbox.posts.append(raw_http(dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/mdn"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_an_asynchronous_mdn_leaves_through_the_outbox_and_verifies(exchange, function_client):
    """Receipt-Delivery-Option: the answer is an empty 200, the signed MDN is a deliver_as2 command in the outbox, and
    the task posts it to the partner's URL, where pyas2lib verifies it against the message it sent."""
    inbox = _Inbox()
    try:
        key, cert = exchange["keys"]
        org = lib.Organization(as2_name="PARTNER", sign_key=key + cert, decrypt_key=key + cert, mdn_url=inbox.url)
        identity = exchange["identity"]
        us = lib.Partner(as2_name=identity["as2_id"], verify_cert=identity["signing_cert_pem"].encode(),
                         encrypt_cert=identity["encryption_cert_pem"].encode(), sign=True, encrypt=True,
                         enc_alg="aes_256_cbc", mdn_mode="ASYNC", mdn_digest_alg="sha256", validate_certs=False)
        message = lib.Message(org, us)
        message.build(ENROLMENT, filename="834.x12", content_type="application/edi-x12")
        resp = exchange["client"].post("/as2", data=message.content, headers=dict(message.headers))
        assert resp.status_code == 200 and resp.get_data() == b""
        mdns = [r for r in deliveries(exchange["services"]) if r.payload["payload"]["url"] == inbox.url]
        assert len(mdns) == 1 and mdns[0].payload["payload"]["ack_id"] is None
        sent = function_client(*DELIVER).post("/", data=json.dumps(mdns[0].payload),
                                              headers={"Content-Type": "application/json"})
        assert sent.status_code == 200, sent.get_json()
        assert len(inbox.posts) == 1
        status, detail = lib.Mdn().parse(inbox.posts[0], lambda _mid, _rcpt: message)
        assert (status, detail) == ("processed", None)
    finally:
        inbox.close()


def test_a_partner_that_does_not_answer_gets_the_delivery_again(exchange, function_client):
    """A refused connection is a 503 to Cloud Tasks, which retries with the queue's backoff; nothing is marked sent."""
    send(exchange, ENROLMENT)
    exchange["receiver"].close()  # the partner's server is gone
    record = deliveries(exchange["services"])[0]
    resp = function_client(*DELIVER).post("/", data=json.dumps(record.payload), headers={"Content-Type": "application/json"})
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    ack_id = record.payload["payload"]["ack_id"]
    assert exchange["services"].partners.get_ack("tenant-a", ack_id).delivery == "pending"


def test_an_as2_id_is_claimed_in_the_partners_own_commit_so_a_racing_registration_cannot_take_it(exchange, auth,
                                                                                                 monkeypatch):
    """The lookup by AS2 id is a query, run before the transaction; a registration racing another one does not see
    it. The AS2 id's own document, read and written in the partner's commit, refuses the second all the same; it
    follows the partner when its id changes and goes with it when it is removed."""
    client, partners = exchange["client"], exchange["services"].partners
    _, cert = exchange["keys"]
    racing = {"partner_id": "acme-clone", "name": "Acme Clone", "standard": "x12",
              "interchange_ids": [{"qualifier": "ZZ", "id": "CLONE"}], "acknowledgements": ["997"],
              "as2": {"as2_id": "PARTNER", "url": "http://127.0.0.1:9/", "signing_cert_pem": cert.decode(),
                      "encryption_cert_pem": cert.decode(), "mdn": "sync", "mdn_signed": True}}
    monkeypatch.setattr(partners, "partner_by_as2_id", lambda tenant_id, as2_id: None)  # the query saw nothing yet
    refused = client.post("/v1/partners", json=racing, headers=auth())
    assert refused.status_code == 422 and refused.get_json()["error_code"] == "INVALID_PARTNER"
    assert "acme-health" in refused.get_json()["error"]
    assert client.get("/v1/partners/acme-clone", headers=auth()).status_code == 404

    # acme-health moves to another AS2 id: the old one is free for another partner.
    moved = client.get("/v1/partners/acme-health", headers=auth()).get_json()
    moved["as2"] = {**racing["as2"], "as2_id": "PARTNER-NEW"}
    body = {k: moved[k] for k in ("partner_id", "name", "standard", "interchange_ids", "acknowledgements", "as2")}
    assert client.post("/v1/partners", json=body, headers=auth()).status_code == 201
    assert client.post("/v1/partners", json=racing, headers=auth()).status_code == 201
    # Removing a partner frees its AS2 id.
    assert client.delete("/v1/partners/acme-clone", headers=auth()).status_code == 200
    again = {**racing, "partner_id": "acme-third"}
    assert client.post("/v1/partners", json=again, headers=auth()).status_code == 201
