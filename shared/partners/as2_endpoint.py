"""`POST /as2` (RFC 4130): no bearer token; AS2-To names the tenant, AS2-From a registered partner whose signature
must verify. Every answer is an MDN (negative when the message cannot be accepted) or, asked for asynchronously,
an empty 200 with the MDN sent through the outbox. Never a 5xx: the partner's software retries a 5xx blindly."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import requests

from shared.as2 import protocol
from shared.domain.errors import Conflict, DomainError, PermanentError, TransientError
from shared.domain.intents import Intent
from shared.domain.messages import DeliverAs2, ReceiveAs2, SendMdn, SubmitIntent
from shared.domain.models import Command
from shared.logs import get_logger
from shared.partners.exchange import Exchange, deliver_command, exchange_of, our_as2_id, session_of
from shared.partners.models import Partner
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork

log = get_logger(__name__)


@dataclass
class As2Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    artifact_id: str | None = None
    failure: str | None = None


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value


def receive(message: ReceiveAs2, uow: UnitOfWork) -> As2Answer:
    """`headers` with lower-case names, as received."""
    ex = exchange_of(uow.services)
    headers, body = message.headers, message.body
    settings = ex.services.settings
    as2_from, as2_to = _unquote(headers.get("as2-from", "")), _unquote(headers.get("as2-to", ""))
    message_id = headers.get("message-id", "").strip() or "<unknown>"
    wanted = protocol.mdn_request(headers)
    prefix = settings.as2_id_prefix
    tenant_id = as2_to[len(prefix):] if as2_to.startswith(prefix) and len(as2_to) > len(prefix) else None
    partner: Partner | None = None
    if tenant_id is not None and as2_from:
        partner = ex.partners.partner_by_as2_id(tenant_id, as2_from)
    received: protocol.Received | None = None
    failure: protocol.As2Failure | None = None
    artifact_id = None
    if partner is None or partner.as2 is None or tenant_id is None:
        failure = protocol.As2Failure("error: authentication-failed",
                                      f"No trading partner {as2_from or '(none)'} is registered for {as2_to or '(none)'}.")
    elif len(body) > settings.as2_max_bytes:
        failure = protocol.As2Failure("error: unexpected-processing-error",
                                      f"The message is larger than {settings.as2_max_bytes} bytes.")
    else:
        try:
            received = protocol.receive(headers, body, ex.keys.key_pair(), partner.as2.signing_cert_pem.encode())
        except protocol.As2Failure as exc:
            failure = exc
        except (ValueError, TypeError) as exc:  # a malformed MIME or CMS structure the parsers refuse
            failure = protocol.As2Failure("error: unexpected-processing-error", f"The message is malformed: {exc}")
    if received is not None and partner is not None and tenant_id is not None:
        artifact_id, refusal = _ingest(uow, tenant_id, partner, received, as2_from, as2_to)
        if refusal is not None:
            failure = protocol.As2Failure("error: unexpected-processing-error", refusal)
    log.info("as2 message received", extra={"fields": {
        "as2_from": as2_from[:128], "message_id": message_id[:255], "artifact_id": artifact_id,
        "disposition": failure.modifier if failure else "processed"}})
    if not wanted.wanted:
        return As2Answer(200, {}, b"", artifact_id, failure.modifier if failure else None)
    us = as2_to if tenant_id else (as2_to or "unknown")
    signer = ex.keys.key_pair() if wanted.signed else None
    mdn_headers, mdn_body = protocol.build_mdn(
        message_id=message_id, as2_from=us, as2_to=as2_from or "unknown", mic=received.mic if received else None,
        mic_alg=received.mic_alg if received else wanted.mic_alg, failure=failure, signer=signer)
    if wanted.async_url and partner is not None and tenant_id is not None:
        uow.handle(SendMdn(tenant_id, partner.partner_id, wanted.async_url, mdn_headers, mdn_body))
        return As2Answer(200, {}, b"", artifact_id, failure.modifier if failure else None)
    return As2Answer(200, mdn_headers, mdn_body, artifact_id, failure.modifier if failure else None)


def _ingest(uow: UnitOfWork, tenant_id: str, partner: Partner, received: protocol.Received, as2_from: str,
            as2_to: str) -> tuple[str | None, str | None]:
    """The payload as an `ingest_file` intent (edi, the partner, as2), which acknowledges it. A duplicate arrived
    intact (a processed MDN): its rejection is in the acknowledgement. Returns (artifact id, refusal)."""
    params = {"ui_name": received.filename or f"as2-{partner.partner_id}.edi", "ingestion_type": "edi",
              "edi_data": received.payload.hex(), "partner_id": partner.partner_id, "edi_protocol": "as2",
              "source_metadata": {"as2_message_id": received.message_id, "as2_mic": received.mic,
                                  "as2_mic_alg": received.mic_alg, "as2_from": as2_from, "as2_to": as2_to,
                                  "as2_signed": received.signed, "as2_encrypted": received.encrypted,
                                  "as2_compressed": received.compressed}}
    intent = Intent.create("ingest_file", tenant_id=tenant_id, session_id=session_of(partner.partner_id),
                           user_id=f"partner:{partner.partner_id}", parameters=params)
    outcome = uow.handle(SubmitIntent(intent))
    error = outcome.error
    if error is None:
        return str(outcome.result.data["file_id"]), None
    if isinstance(error, Conflict) and error.code == "DUPLICATE_INTERCHANGE":
        return None, None
    if isinstance(error, DomainError | PermanentError):
        return None, error.message
    raise TransientError("the interchange could not be ingested")


def send_mdn(message: SendMdn, uow: UnitOfWork) -> Result:
    """An asynchronous MDN leaves through the outbox, retried by Cloud Tasks until the partner takes it."""
    uow.start(Intent.for_platform("send_mdn", tenant_id=message.tenant_id, session_id=session_of(message.partner_id),
                                  user_id=f"partner:{message.partner_id}"))
    command = deliver_command(message.tenant_id, uow.context.execution_id, message.partner_id, message.url,
                              message.headers, message.body, None, None)

    def step(tx: Tx) -> Result:
        return Result(commands=[command], detail={"url": message.url[:200]})

    return uow.commit(step)


@dataclass
class DeliveryResult:
    status: str  # delivered | failed | retry (the task edge answers 503 and Cloud Tasks retries with backoff)
    detail: dict[str, str]


def run_delivery(message: DeliverAs2, uow: UnitOfWork) -> DeliveryResult:
    ex, command = exchange_of(uow.services), message.command
    try:
        state = deliver(ex, command)
    except TransientError as exc:
        log.warning("as2 delivery will be retried", extra={"fields": {"error": str(exc)[:200]}})
        return DeliveryResult("retry", {"error": str(exc)[:200]})
    return DeliveryResult(state, {"command_id": command.command_id})


def deliver(ex: Exchange, command: Command, timeout: float = 30.0) -> str:
    """POST one AS2 message or MDN. A refused or unreachable partner is retried (TransientError); a negative MDN is
    final. Returns the delivery state recorded on the acknowledgement."""
    data = command.payload
    partner = ex.partners.get_partner(command.tenant_id, data["partner_id"])
    ack_id = data.get("ack_id")
    try:
        response = requests.post(data["url"], data=base64.b64decode(data["body"]), headers=data["headers"],
                                 timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise TransientError(f"the partner did not answer: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise TransientError(f"the partner answered HTTP {response.status_code}")
    if ack_id is None:
        return "delivered"  # an asynchronous MDN: the partner took it
    state, error = "delivered", None
    if response.content:
        cert = partner.as2.signing_cert_pem.encode() if partner and partner.as2 else None
        try:
            mdn = protocol.read_mdn({k.lower(): v for k, v in response.headers.items()}, response.content, cert)
            if not mdn.processed:
                state, error = "failed", f"negative MDN: {mdn.disposition[:200]}"
            elif data.get("mic") and mdn.mic != data["mic"]:
                state, error = "failed", "the MDN's MIC does not match what was sent"
        except protocol.As2Failure as exc:
            state, error = "failed", exc.text[:200]
    ex.partners.set_delivery(command.tenant_id, ack_id, state, error)
    return state


def identity(services: Services, tenant_id: str) -> dict[str, str]:
    """Our AS2 id for the tenant and our certificate; never the private key."""
    ex = exchange_of(services)
    pair = ex.keys.key_pair()
    cert = pair.certificate_pem.decode()
    return {"as2_id": our_as2_id(ex.services, tenant_id), "url": ex.services.settings.as2_public_url,
            "signing_cert_pem": cert, "encryption_cert_pem": cert}
