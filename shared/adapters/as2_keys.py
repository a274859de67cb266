"""Our AS2 key pair. Production: Secret Manager (REST with the function's own credentials, so no extra client
library); locally: a PEM file outside the repository (under .local/), made on first use. Never logged."""

from __future__ import annotations

import base64
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.as2.protocol import KeyPair
from shared.domain.errors import TransientError

_ACCESS_URL = "https://secretmanager.googleapis.com/v1/projects/{project}/secrets/{secret}/versions/latest:access"


class FileKeyStore:
    """A PEM file holding the private key followed by its certificate; created (0600) with a self-signed pair."""

    def __init__(self, path: str, common_name: str = "ingest-as2"):
        self._path = Path(path)
        self._cn = common_name
        self._lock = threading.Lock()
        self._pair: KeyPair | None = None

    def key_pair(self) -> KeyPair:
        with self._lock:
            if self._pair is None:
                if not self._path.exists():
                    self._create()
                self._pair = _split(self._path.read_bytes())
            return self._pair

    def _create(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self._cn)])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=730)).sign(key, hashes.SHA256()))
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
            out.write(cert.public_bytes(serialization.Encoding.PEM))


class SecretManagerKeyStore:
    """The secret's payload is the same PEM bundle: private key, then certificate."""

    def __init__(self, project: str, secret: str):
        self._url = _ACCESS_URL.format(project=project, secret=secret)
        self._lock = threading.Lock()
        self._pair: KeyPair | None = None

    def key_pair(self) -> KeyPair:
        with self._lock:
            if self._pair is None:
                import google.auth
                from google.auth.transport.requests import AuthorizedSession

                credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
                response = AuthorizedSession(credentials).get(self._url, timeout=10)
                if response.status_code != 200:
                    raise TransientError(f"the AS2 key secret could not be read (HTTP {response.status_code})")
                self._pair = _split(base64.b64decode(response.json()["payload"]["data"]))
            return self._pair


def _split(bundle: bytes) -> KeyPair:
    start = bundle.index(b"-----BEGIN CERTIFICATE-----")
    return KeyPair(private_key_pem=bundle[:start], certificate_pem=bundle[start:])
