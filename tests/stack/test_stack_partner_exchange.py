"""Partner exchange on the whole local stack: pyas2lib sends a signed and encrypted interchange through the gateway's
POST /as2 (no bearer token) and verifies our signed MDN; the acknowledgements leave through the outbox, Cloud Tasks
(emulator) dispatches them to as2-deliver, and the partner's pyas2lib server on loopback receives and verifies them."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.as2.partner import PartnerReceiver, key_pair, load_pyas2lib, raw_http

ENROLMENT = (Path(__file__).resolve().parents[1] / "corpus" / "edi" / "pyx12_834_lui_id.x12").read_bytes()


def test_as2_through_the_gateway_with_acknowledgements_delivered_by_the_queue(stack, fresh_state, token_factory):
    lib = load_pyas2lib()
    api, h = stack.gateway_url, {"Authorization": f"Bearer {token_factory('as2-t', 'ann', 's1')}"}
    identity = requests.get(f"{api}/v1/as2/identity", headers=h, timeout=30).json()
    assert identity["as2_id"] == "INGEST-as2-t" and "PRIVATE KEY" not in str(identity)
    key, cert = key_pair("partner")
    org = lib.Organization(as2_name="PARTNER", sign_key=key + cert, decrypt_key=key + cert)
    us = lib.Partner(as2_name=identity["as2_id"], verify_cert=identity["signing_cert_pem"].encode(),
                     encrypt_cert=identity["encryption_cert_pem"].encode(), sign=True, encrypt=True,
                     enc_alg="aes_256_cbc", mdn_mode="SYNC", mdn_digest_alg="sha256", validate_certs=False)
    receiver = PartnerReceiver(lib, org, us)
    try:
        created = requests.post(f"{api}/v1/partners", headers=h, timeout=30, json={
            "partner_id": "acme", "name": "Acme", "standard": "x12", "acknowledgements": ["TA1", "997"],
            "interchange_ids": [{"qualifier": "ZZ", "id": "D00XXX"}],
            "as2": {"as2_id": "PARTNER", "url": receiver.url, "signing_cert_pem": cert.decode(),
                    "encryption_cert_pem": cert.decode()}})
        assert created.status_code == 201, created.text

        message = lib.Message(org, us)
        message.build(ENROLMENT, filename="834.x12", content_type="application/edi-x12")
        resp = requests.post(f"{api}/as2", data=message.content, headers=dict(message.headers), timeout=60)
        assert resp.status_code == 200
        status, detail = lib.Mdn().parse(raw_http(dict(resp.headers), resp.content), lambda _m, _r: message)
        assert (status, detail) == ("processed", None)

        deadline = time.monotonic() + 90
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert sorted(s for s, _ in receiver.received) == ["processed", "processed"]
        kinds = sorted(p.decode().split("~")[1].strip()[:3] for _, p in receiver.received)
        assert kinds == ["GS*", "TA1"]  # the 997 (in its GS/ST) and the TA1
        while time.monotonic() < deadline:
            acks = requests.get(f"{api}/v1/acknowledgements", headers=h, timeout=30).json()["acknowledgements"]
            if {a["delivery"] for a in acks} == {"delivered"}:
                break
            time.sleep(0.5)
        assert {(a["kind"], a["delivery"]) for a in acks} == {("TA1", "delivered"), ("997", "delivered")}
    finally:
        receiver.close()
