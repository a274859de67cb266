"""The independent side of every AS2 test: pyas2lib (GPL-2.0, test-only) plays the trading partner.

oscrypto 1.3.0 (pyas2lib's crypto backend) cannot read a three-part OpenSSL version with a two-digit patch level
("3.0.19"): its regex wants one digit per part. Upstream fixed the pattern after the release (oscrypto issue 78);
`load_pyas2lib` applies that same pattern while oscrypto's loader runs, and nothing else changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_OLD = "\\b(\\d\\.\\d\\.\\d[a-z]*)\\b"
_FIXED = "\\b(\\d+\\.\\d+\\.\\d+[a-z]*)\\b"


def load_pyas2lib() -> Any:
    original = re.search

    def search(pattern: Any, string: Any, flags: int = 0) -> Any:
        return original(_FIXED if pattern == _OLD else pattern, string, flags)

    re.search = search  # type: ignore[assignment]
    try:
        import pyas2lib
    finally:
        re.search = original
    return pyas2lib


def key_pair(common_name: str) -> tuple[bytes, bytes]:
    """A self-signed RSA key and certificate (PEM), as trading partners exchange them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def raw_http(headers: dict[str, str], body: bytes) -> bytes:
    """Headers then body, as pyas2lib's parse() takes a received HTTP message."""
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n" + body


class PartnerReceiver:
    """A trading partner's AS2 server on loopback: pyas2lib parses what we deliver and answers with its own signed
    MDN. `received` keeps (status, payload) of each message, in order."""

    def __init__(self, lib: Any, org: Any, us: Any):
        import http.server
        import threading

        self.received: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                raw = raw_http(dict(self.headers.items()), body)
                message = lib.Message()
                status, _exc, mdn = message.parse(raw, find_org_cb=lambda _as2: org, find_partner_cb=lambda _as2: us)
                receiver.received.append((status, message.content if status == "processed" else b""))
                self.send_response(200)
                out = mdn.content if mdn is not None else b""
                for key, value in (mdn.headers.items() if mdn is not None else []):
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/as2"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
