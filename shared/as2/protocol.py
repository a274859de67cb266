"""AS2 (RFC 4130) messages and MDNs (RFC 3798, RFC 8551 S/MIME), with `cryptography` for signing, encryption and
decryption and `asn1crypto` to read the CMS structures `cryptography` has no API for (SignedData verification,
CompressedData). Both are permissively licensed; pyas2lib (GPL-2.0) is only the independent partner in the tests.

Pure: bytes and PEM in, bytes out. Nothing here logs, and no private key leaves the caller.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.utils import formatdate
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

_MICALGS = {"sha-256": ("sha256", hashes.SHA256), "sha256": ("sha256", hashes.SHA256),
            "sha-384": ("sha384", hashes.SHA384), "sha384": ("sha384", hashes.SHA384),
            "sha-512": ("sha512", hashes.SHA512), "sha512": ("sha512", hashes.SHA512),
            "sha1": ("sha1", hashes.SHA1), "sha-1": ("sha1", hashes.SHA1)}


class As2Failure(Exception):
    """A message we cannot accept: answered with a negative MDN carrying `modifier` (RFC 4130 section 7.5.3)."""

    def __init__(self, modifier: str, text: str):
        super().__init__(text)
        self.modifier = modifier  # e.g. "error: decryption-failed"
        self.text = text


@dataclass(frozen=True)
class KeyPair:
    private_key_pem: bytes
    certificate_pem: bytes


@dataclass(frozen=True)
class Received:
    payload: bytes
    content_type: str
    filename: str | None
    message_id: str
    mic: str  # base64 digest, as the MDN's Received-Content-MIC states it
    mic_alg: str
    signed: bool
    encrypted: bool
    compressed: bool


@dataclass(frozen=True)
class MdnRequest:
    wanted: bool
    signed: bool
    mic_alg: str
    async_url: str | None


def mdn_request(headers: dict[str, str]) -> MdnRequest:
    """What the sender asked for: Disposition-Notification-To/-Options and Receipt-Delivery-Option."""
    options = headers.get("disposition-notification-options", "")
    signed = "pkcs7-signature" in options.lower()
    match = re.search(r"signed-receipt-micalg\s*=\s*(?:required|optional)\s*,\s*([\w\-, ]+)", options, re.I)
    algs = [a.strip().lower() for a in (match.group(1).split(",") if match else []) if a.strip().lower() in _MICALGS]
    return MdnRequest("disposition-notification-to" in headers, signed, algs[0] if algs else "sha-256",
                      headers.get("receipt-delivery-option") or None)


def _entity(content_type: str, body: bytes) -> Message:
    return message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)


def _split_signed(raw: bytes, boundary: str) -> tuple[bytes, bytes]:
    """The signed part's exact bytes (what the signature covers) and the signature part, from the raw multipart."""
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = raw.split(delimiter)
    if len(pieces) < 4:
        raise As2Failure("error: integrity-check-failed", "The multipart/signed body is malformed.")
    first = pieces[1]
    first = first[2:] if first.startswith(b"\r\n") else first[1:] if first.startswith(b"\n") else first
    first = first[:-2] if first.endswith(b"\r\n") else first[:-1] if first.endswith(b"\n") else first
    return first, pieces[2]


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def _verify(signed_part: bytes, signature_der: bytes, cert_pem: bytes) -> tuple[str, bytes]:
    """Check a detached CMS signature with the partner's certificate; return its digest algorithm and the exact
    bytes it covers (the raw part, or the part with its line ends made CRLF as RFC 8551 canonicalises text)."""
    from asn1crypto import cms  # only the AS2 function ships asn1crypto (requirements-as2.txt)

    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        info = cms.ContentInfo.load(signature_der)
        signer = info["content"]["signer_infos"][0]
        digest_name = signer["digest_algorithm"]["algorithm"].native
        attrs = signer["signed_attrs"]
        signature = signer["signature"].native
        sig_alg = signer["signature_algorithm"]["algorithm"].native
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise As2Failure("error: integrity-check-failed", f"The signature is not a CMS SignedData: {exc}") from None
    chosen = next((v for k, v in _MICALGS.items() if v[0] == digest_name), None)
    if chosen is None:
        raise As2Failure("error: insufficient-message-security", f"Digest {digest_name} is not accepted.")
    candidates = [signed_part, _crlf(signed_part)]
    digest = None
    if attrs.native is not None:
        digest = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
    content = next((c for c in candidates if digest is None or hashlib.new(chosen[0], c).digest() == digest), None)
    if content is None:
        raise As2Failure("error: integrity-check-failed", "The content does not match its signed digest.")
    signed_bytes = attrs.untag().dump() if attrs.native is not None else content
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise As2Failure("error: insufficient-message-security", "Only RSA signing certificates are accepted.")
    pad: padding.AsymmetricPadding = (padding.PSS(padding.MGF1(chosen[1]()), padding.PSS.AUTO)
                                      if sig_alg == "rsassa_pss" else padding.PKCS1v15())
    try:
        public_key.verify(signature, signed_bytes, pad, chosen[1]())
    except InvalidSignature:
        raise As2Failure("error: authentication-failed", "The signature does not verify with the partner's certificate.") from None
    return chosen[0], content


def _decompress(der: bytes) -> bytes:
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(der)
        return bytes(info["content"].decompressed)
    except (ValueError, KeyError, TypeError) as exc:
        raise As2Failure("error: decompression-failed", f"The compressed content cannot be read: {exc}") from None


def receive(headers: dict[str, str], body: bytes, ours: KeyPair, partner_signing_cert_pem: bytes | None,
            require_signature: bool = True, require_encryption: bool = True) -> Received:
    """Decrypt, verify and decompress one AS2 message. `headers` have lower-case names."""
    message_id = headers.get("message-id", "").strip()
    content_type = headers.get("content-type", "")
    encrypted = signed = compressed = False
    mic: str | None = None
    mic_alg = mdn_request(headers).mic_alg
    entity_bytes = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    entity = _entity(content_type, body)
    for _ in range(4):  # at most: encrypted(compressed(signed(compressed(payload))))
        ctype = entity.get_content_type()
        smime = str(entity.get_param("smime-type") or "").lower()
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime") and smime in ("enveloped-data", ""):
            key = serialization.load_pem_private_key(ours.private_key_pem, None)
            cert = x509.load_pem_x509_certificate(ours.certificate_pem)
            der = _der(entity)
            try:
                entity_bytes = pkcs7.pkcs7_decrypt_der(der, cert, key, []) if isinstance(key, rsa.RSAPrivateKey) else b""
            except (ValueError, TypeError) as exc:
                raise As2Failure("error: decryption-failed", f"The message cannot be decrypted: {exc}") from None
            entity, encrypted = message_from_bytes(entity_bytes), True
        elif ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime") and smime == "compressed-data":
            entity_bytes = _decompress(_der(entity))
            entity, compressed = message_from_bytes(entity_bytes), True
        elif ctype == "multipart/signed":
            if partner_signing_cert_pem is None:
                raise As2Failure("error: authentication-failed", "The partner has no signing certificate on file.")
            boundary = entity.get_boundary() or ""
            raw_body = re.split(rb"\r?\n\r?\n", entity_bytes, maxsplit=1)[-1]
            part, _ = _split_signed(raw_body, boundary)
            parts = entity.get_payload()
            if not isinstance(parts, list) or len(parts) != 2:
                raise As2Failure("error: integrity-check-failed", "A multipart/signed body has two parts.")
            alg, part = _verify(part, _der(parts[1]), partner_signing_cert_pem)
            mic_alg = next((k for k, v in _MICALGS.items() if v[0] == alg and "-" in k), "sha-256")
            mic = base64.b64encode(hashlib.new(alg, part).digest()).decode()
            entity_bytes, entity, signed = part, message_from_bytes(part), True
        else:
            break
    if require_encryption and not encrypted:
        raise As2Failure("error: insufficient-message-security", "The partner agreement requires encryption.")
    if require_signature and not signed:
        raise As2Failure("error: insufficient-message-security", "The partner agreement requires a signature.")
    if mic is None:
        alg = _MICALGS[mic_alg][0]
        mic = base64.b64encode(hashlib.new(alg, _crlf(entity_bytes)).digest()).decode()
    payload = entity.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise As2Failure("error: unexpected-processing-error", "The message carries no payload.")
    return Received(payload, entity.get_content_type(), entity.get_filename(), message_id, mic, mic_alg, signed,
                    encrypted, compressed)


def _der(part: Any) -> bytes:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes) or not data:
        raise As2Failure("error: unexpected-processing-error", "An S/MIME part is empty.")
    return data


def _b64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + b"\r\n"


def _sign(content: bytes, key: KeyPair, mic_alg: str) -> tuple[bytes, str]:
    """multipart/signed over `content` (a canonical MIME entity): body and Content-Type header value."""
    private_key = serialization.load_pem_private_key(key.private_key_pem, None)
    cert = x509.load_pem_x509_certificate(key.certificate_pem)
    name = mic_alg if "-" in mic_alg else "sha-256"
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("Only RSA signing keys are supported.")
    hash_alg: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 = (
        hashes.SHA384() if name == "sha-384" else hashes.SHA512() if name == "sha-512" else hashes.SHA256())
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, private_key, hash_alg)
                 .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))
    boundary = f"----=_sig_{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\n".encode() + content + f"\r\n--{boundary}\r\n".encode()
            + b"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
            + b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
            + _b64(signature) + f"--{boundary}--\r\n".encode())
    return body, f'multipart/signed; protocol="application/pkcs7-signature"; micalg={name}; boundary="{boundary}"'


def build_mdn(*, message_id: str, as2_from: str, as2_to: str, mic: str | None, mic_alg: str, failure: As2Failure | None,
              signer: KeyPair | None, reporting_ua: str = "ingest-as2") -> tuple[dict[str, str], bytes]:
    """The MDN for one received message: multipart/report, signed when `signer` is given. `as2_from` is us."""
    boundary = f"----=_mdn_{uuid.uuid4().hex}"
    disposition = "automatic-action/MDN-sent-automatically; processed" + (f"/{failure.modifier}" if failure else "")
    text = (f"The AS2 message {message_id} was received" + (f" but could not be processed: {failure.text}"
            if failure else " and processed.")).encode()
    notification = [f"Reporting-UA: {reporting_ua}", f"Original-Recipient: rfc822; {as2_from}",
                    f"Final-Recipient: rfc822; {as2_from}", f"Original-Message-ID: {message_id}",
                    f"Disposition: {disposition}"]
    if mic and failure is None:
        notification.append(f"Received-Content-MIC: {mic}, {mic_alg}")
    report = (f'Content-Type: multipart/report; report-type=disposition-notification; boundary="{boundary}"\r\n\r\n'
              f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\n").encode()
    report += text + (f"\r\n--{boundary}\r\nContent-Type: message/disposition-notification\r\n"
                      "Content-Transfer-Encoding: 7bit\r\n\r\n" + "\r\n".join(notification)
                      + f"\r\n\r\n--{boundary}--\r\n").encode()
    headers = {"AS2-Version": "1.2", "AS2-From": as2_from, "AS2-To": as2_to, "MIME-Version": "1.0",
               "Message-ID": f"<{uuid.uuid4().hex}@{as2_from}>", "Date": formatdate(usegmt=True)}
    if signer is None:
        head, body = report.split(b"\r\n\r\n", 1)
        headers["Content-Type"] = head.decode().split(": ", 1)[1]
        return headers, body
    body, content_type = _sign(report, signer, mic_alg)
    headers["Content-Type"] = content_type
    return headers, body


def build_message(*, payload: bytes, content_type: str, filename: str, as2_from: str, as2_to: str, signer: KeyPair,
                  encrypt_cert_pem: bytes, mdn_to: str | None, receipt_url: str | None) -> tuple[dict[str, str], bytes, str]:
    """A signed and encrypted AS2 message (what we deliver acknowledgements with): headers, body and the MIC we
    expect back in the partner's MDN."""
    entity = (f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
              f"Content-Disposition: attachment; filename=\"{filename}\"\r\n\r\n").encode() + _crlf(payload)
    mic = base64.b64encode(hashlib.sha256(entity).digest()).decode()
    signed_body, signed_type = _sign(entity, signer, "sha-256")
    inner = f"Content-Type: {signed_type}\r\n\r\n".encode() + signed_body
    cert = x509.load_pem_x509_certificate(encrypt_cert_pem)
    envelope = (pkcs7.PKCS7EnvelopeBuilder().set_data(inner).add_recipient(cert)
                .set_content_encryption_algorithm(pkcs7.algorithms.AES256)
                .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    headers = {"AS2-Version": "1.2", "AS2-From": as2_from, "AS2-To": as2_to, "MIME-Version": "1.0",
               "Message-ID": f"<{uuid.uuid4().hex}@{as2_from}>", "Date": formatdate(usegmt=True),
               "Subject": f"AS2 {filename}", "Content-Transfer-Encoding": "binary",
               "Content-Type": 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'}
    if mdn_to:
        headers["Disposition-Notification-To"] = mdn_to
        headers["Disposition-Notification-Options"] = ("signed-receipt-protocol=required, pkcs7-signature; "
                                                       "signed-receipt-micalg=required, sha256")
    if receipt_url:
        headers["Receipt-Delivery-Option"] = receipt_url
    return headers, envelope, mic


@dataclass(frozen=True)
class MdnReport:
    processed: bool
    disposition: str
    mic: str | None
    signed: bool


def read_mdn(headers: dict[str, str], body: bytes, partner_signing_cert_pem: bytes | None) -> MdnReport:
    """A partner's MDN for a message we sent: its disposition and MIC, with its signature checked when signed."""
    content_type = headers.get("content-type", "")
    entity = _entity(content_type, body)
    signed = False
    if entity.get_content_type() == "multipart/signed":
        if partner_signing_cert_pem is None:
            raise As2Failure("error: authentication-failed", "A signed MDN needs the partner's certificate.")
        raw_body = re.split(rb"\r?\n\r?\n", b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                            maxsplit=1)[-1]
        part, _ = _split_signed(raw_body, entity.get_boundary() or "")
        parts = entity.get_payload()
        if not isinstance(parts, list) or len(parts) != 2:
            raise As2Failure("error: integrity-check-failed", "A multipart/signed MDN has two parts.")
        _, part = _verify(part, _der(parts[1]), partner_signing_cert_pem)
        entity, signed = message_from_bytes(part), True
    text = ""
    for sub in entity.walk():
        if sub.get_content_type() == "message/disposition-notification":
            payload = sub.get_payload()
            text = payload if isinstance(payload, str) else "".join(
                p.as_string() for p in payload if isinstance(p, Message)) if isinstance(payload, list) else ""
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if v}
    disposition = fields.get("disposition", "")
    mic = fields.get("received-content-mic", "").split(",")[0].strip() or None
    processed = disposition.split(";")[-1].strip().lower() == "processed"
    return MdnReport(processed, disposition, mic, signed)
