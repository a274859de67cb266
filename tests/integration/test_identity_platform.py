"""The production verifier (Identity Platform) against tokens shaped and signed like Identity Platform's: RS256 with a
key id, the issuer and audience of the project, firebase.tenant, auth_time. The x509 certificates it fetches are a
local key's, served like https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com
(a JSON map of key id to PEM certificate, with Cache-Control max-age) by an HTTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from shared.adapters.tokens import IdentityPlatformVerifier
from shared.domain.errors import TransientError, Unauthenticated

PROJECT = "acme-ingest-prod"
ISSUER = f"https://securetoken.google.com/{PROJECT}"


class SigningKey:
    def __init__(self, kid: str):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=2)).sign(self.key, hashes.SHA256()))
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self.signer = crypt.RSASigner.from_string(pem, key_id=kid)

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": PROJECT, "auth_time": now - 60, "user_id": "uid-42", "sub": "uid-42",
            "iat": now - 10, "exp": now + 3600, "email": "ada@example.com", "email_verified": True,
            "firebase": {"identities": {"email": ["ada@example.com"]}, "sign_in_provider": "password",
                         "tenant": "acme-tenant-x1y2z"},
        }
        claims.update(overrides)
        return jwt.encode(self.signer, {k: v for k, v in claims.items() if v is not None}).decode()


class CertServer:
    """Serves the current certificates; counts the fetches."""

    def __init__(self) -> None:
        self.certs: dict[str, str] = {}
        self.status = 200
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(outer.certs).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Cache-Control", "public, max-age=19204, must-revalidate, no-transform")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {kid: SigningKey(kid) for kid in ("kid-current", "kid-next", "kid-stranger")}


@pytest.fixture
def server(keys: dict[str, SigningKey]) -> Iterator[CertServer]:
    srv = CertServer()
    srv.certs = {"kid-current": keys["kid-current"].cert_pem}
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def verifier(server: CertServer, clock: list[float]) -> IdentityPlatformVerifier:
    return IdentityPlatformVerifier(PROJECT, ISSUER, server.url, clock=lambda: clock[0])


def _rejected(verifier: IdentityPlatformVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(token)
    assert err.value.code == "INVALID_TOKEN"
    return err.value.message


def test_a_tenant_token_gives_its_tenant_user_and_sign_in_session(verifier, keys) -> None:
    token = keys["kid-current"].token(auth_time=1764500000)
    principal = verifier.verify(token)
    assert (principal.tenant_id, principal.user_id, principal.session_id) == ("acme-tenant-x1y2z", "uid-42", "auth1764500000")


def test_a_token_without_a_tenant_is_refused(verifier, keys) -> None:
    assert "tenant" in _rejected(verifier, keys["kid-current"].token(firebase={"sign_in_provider": "password"}))


def test_an_expired_token_is_refused(verifier, keys) -> None:
    now = int(time.time())
    assert "expired" in _rejected(verifier, keys["kid-current"].token(iat=now - 7200, exp=now - 3600)).lower()


def test_a_token_for_another_project_or_issuer_is_refused(verifier, keys) -> None:
    key = keys["kid-current"]
    assert "audience" in _rejected(verifier, key.token(aud="someone-elses-project")).lower()
    assert "issuer" in _rejected(verifier, key.token(iss="https://securetoken.google.com/someone-elses-project"))


def test_a_token_signed_by_an_unknown_key_or_tampered_is_refused(verifier, keys, server) -> None:
    _rejected(verifier, keys["kid-stranger"].token())
    # A known key id over a stranger's signature.
    forged = keys["kid-stranger"].token().split(".")
    header = keys["kid-current"].token().split(".")[0]
    _rejected(verifier, ".".join([header, *forged[1:]]))
    # A payload changed after signing.
    head, _, sig = keys["kid-current"].token().split(".")
    other = keys["kid-current"].token(sub="uid-admin", user_id="uid-admin").split(".")[1]
    _rejected(verifier, ".".join([head, other, sig]))
    _rejected(verifier, "not-a-jwt")


def test_certificates_are_kept_for_their_max_age_and_refetched_on_rotation(verifier, keys, server, clock) -> None:
    for _ in range(3):
        verifier.verify(keys["kid-current"].token())
    assert server.fetches == 1  # one fetch serves many requests
    for _ in range(3):
        _rejected(verifier, keys["kid-stranger"].token())
    assert server.fetches == 1  # made-up key ids do not drive a fetch per request

    # Google rotates keys: a token under the new key id fetches the certificates again (after the minute).
    clock[0] += IdentityPlatformVerifier.REFETCH_UNKNOWN_KID_AFTER
    server.certs = {"kid-current": keys["kid-current"].cert_pem, "kid-next": keys["kid-next"].cert_pem}
    assert verifier.verify(keys["kid-next"].token()).tenant_id == "acme-tenant-x1y2z"
    assert server.fetches == 2

    # After max-age the certificates are fetched again; a retired key no longer verifies.
    server.certs = {"kid-next": keys["kid-next"].cert_pem}
    clock[0] += 19205
    _rejected(verifier, keys["kid-current"].token())
    assert server.fetches == 3


def test_unreachable_certificates_are_a_transient_failure_not_a_bad_token(verifier, keys, server) -> None:
    server.status = 503
    with pytest.raises(TransientError):
        verifier.verify(keys["kid-current"].token())
