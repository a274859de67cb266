"""Partner exchange: an interchange from a registered partner is ingested (unless it is a duplicate), answered with
the acknowledgements the partner wants, and those are delivered back over AS2 through the outbox."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from shared.as2 import protocol
from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.ids import stable_key
from shared.domain.intents import Intent
from shared.domain.lineage import derived_lineage, root_lineage
from shared.domain.messages import RecordAcknowledgement
from shared.domain.models import Artifact, Command, Materialization, ProducedBy, SemanticDescriptor, utcnow
from shared.edi import edifact, x12
from shared.edi.model import InterchangeResult, ack_status
from shared.partners.models import Acknowledgement, Partner
from shared.partners.ports import KeyStore, PartnerStore
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork
from shared.usecases.objects import gs_uri

ACK_TYPE = "acknowledgement"


@dataclass
class Exchange:
    services: Services
    partners: PartnerStore
    keys: KeyStore


def exchange_of(services: Services) -> Exchange:
    return Exchange(services, services.partners, services.as2_keys)


def our_as2_id(services: Services, tenant_id: str) -> str:
    return f"{services.settings.as2_id_prefix}{tenant_id}"


def session_of(partner_id: str) -> str:
    return f"partner-{partner_id}"


def _interchanges(data: bytes) -> list[InterchangeResult]:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:3]
    try:
        if head == b"ISA":
            return x12.validate(data)
        if head in (b"UNA", b"UNB"):
            return edifact.validate(data)
    except (x12.X12SyntaxError, edifact.EdifactSyntaxError) as exc:
        raise ValidationFailed(f"The interchange cannot be read: {exc}", code="INVALID_INTERCHANGE") from None
    raise ValidationFailed("The payload is neither an X12 (ISA) nor an EDIFACT (UNA/UNB) interchange.",
                           code="INVALID_INTERCHANGE")


def screen(partner: Partner, data: bytes) -> InterchangeResult:
    """The first interchange of the file, validated; a sender the partner did not register fails its envelope."""
    found = _interchanges(data)
    if not found:
        raise ValidationFailed("The payload holds no interchange.", code="INVALID_INTERCHANGE")
    first = found[0]
    if first.standard != partner.standard:
        raise ValidationFailed(f"Partner {partner.partner_id} trades {partner.standard}, not {first.standard}.",
                               code="STANDARD_MISMATCH")
    known = {(i.qualifier, i.id) for i in partner.interchange_ids}
    if first.envelope_ok and (first.sender.qualifier, first.sender.id) not in known and \
            not (first.standard == "edifact" and any(i.id == first.sender.id for i in partner.interchange_ids)):
        first.envelope_code = "006" if first.standard == "x12" else "23"  # invalid sender / unknown interchange sender
        first.envelope_tag, first.envelope_element = "UNB", 2
    return first


def claim(ex: Exchange, tenant_id: str, partner: Partner, ic: InterchangeResult, file_id: str) -> str | None:
    """Record (partner, control number) as received by `file_id` before anything is posted; the artifact id of an
    earlier receipt inside the partner's window makes this one a duplicate. A retry of the same file is not."""
    return ex.partners.claim_interchange(tenant_id, partner.partner_id, ic.control, file_id, utcnow(),
                                         partner.duplicate_window_days)


def _ack_control(ack_id: str) -> str:
    return str(int(ack_id[:12], 16) % 999_999_999 + 1)


def acknowledgements(tenant_id: str, partner: Partner, ic: InterchangeResult, for_artifact_id: str | None,
                     duplicate: bool, data: bytes) -> list[RecordAcknowledgement]:
    """The acknowledgements the partner wants (and those the standard demands: a bad envelope, a duplicate)."""
    wanted = set(partner.acknowledgements)
    when = utcnow()
    digest = hashlib.sha256(data).hexdigest()[:16]
    made: list[tuple[str, str, str]] = []  # (kind, text, status)
    if ic.standard == "x12":
        if "TA1" in wanted or ic.ack_requested or not ic.envelope_ok or duplicate:
            text = x12.build_ta1(ic, _ack_control(stable_key("ta1", tenant_id, digest)), when, "025" if duplicate else None)
            made.append(("TA1", text, "rejected" if duplicate or not ic.envelope_ok else "accepted"))
        functional = "999" if "999" in wanted and any(g.version.startswith("005010X") for g in ic.groups) else \
            "997" if wanted & {"997", "999"} else None
        if functional and ic.envelope_ok and not duplicate:
            control = _ack_control(stable_key(functional, tenant_id, digest))
            made.append((functional, x12.build_functional_ack(ic, functional, control, when),
                         ack_status(True, ic.all_transactions())))
    elif "CONTRL" in wanted or ic.ack_requested or not ic.envelope_ok or duplicate:
        control = _ack_control(stable_key("contrl", tenant_id, digest))
        text = edifact.build_contrl(ic, control, when, "26" if duplicate else None)
        made.append(("CONTRL", text, "rejected" if duplicate else ack_status(ic.envelope_ok, ic.all_transactions())))
    return [RecordAcknowledgement(tenant_id=tenant_id, partner_id=partner.partner_id, kind=kind, text=text,
                                  status=status, standard=ic.standard, interchange_control_number=ic.control,
                                  for_artifact_id=for_artifact_id, duplicate=duplicate, digest=digest)
            for kind, text, status in made]


def record_acknowledgement(message: RecordAcknowledgement, uow: UnitOfWork) -> Result | Acknowledgement:
    """The acknowledgement as an artifact derived from the interchange, its record, and its delivery command: the
    artifact and the command commit together, so the outbox delivers what was recorded. The same interchange file
    acknowledged again is the same acknowledgement, and nothing is sent twice."""
    m = message
    ex = exchange_of(uow.services)
    ack_id = f"ack_{stable_key('ack', m.tenant_id, m.partner_id, m.interchange_control_number, m.kind, m.digest)[:32]}"
    existing = ex.partners.get_ack(m.tenant_id, ack_id)
    if existing is not None:
        return existing
    partner = ex.partners.get_partner(m.tenant_id, m.partner_id)
    deliverable = partner is not None and partner.as2 is not None and partner.as2.url is not None
    ack = Acknowledgement(ack_id=ack_id, tenant_id=m.tenant_id, partner_id=m.partner_id, kind=m.kind,
                          for_artifact_id=m.for_artifact_id, interchange_control_number=m.interchange_control_number,
                          status=m.status, artifact_id=ack_id,
                          delivery="pending" if deliverable else "not_requested", duplicate=m.duplicate,
                          created_at=utcnow())
    uow.start(Intent.for_platform("acknowledge_interchange", tenant_id=m.tenant_id,
                                  session_id=session_of(m.partner_id), user_id=f"partner:{m.partner_id}"))
    services = uow.services
    settings = services.settings
    name = f"acknowledgements/{m.tenant_id}/{ack_id}.edi"
    mime = "application/edi-x12" if m.standard == "x12" else "application/edifact"
    payload = m.text.encode("latin-1")
    services.blobs.write_bytes_if_absent(settings.derived_bucket, name, payload, mime)
    parent = services.store.get_artifact(m.tenant_id, m.for_artifact_id) if m.for_artifact_id else None
    execution_id = uow.context.execution_id
    artifact = _ack_artifact(ack, execution_id, gs_uri(settings.derived_bucket, name), mime, payload, parent, m.kind,
                             settings.working_material_ttl_days)
    commands = [_delivery(ex, partner, m.tenant_id, ack, payload, mime, execution_id)] \
        if deliverable and partner is not None else []

    def step(tx: Tx) -> Result:
        tx.put_ack(ack)  # with its artifact and delivery command: a retry after a crash finds all three or none
        return Result(artifacts=[artifact], commands=commands, subject=ack,
                      detail={"ack_id": ack_id, "kind": m.kind, "status": m.status})

    return uow.commit(step)


def acknowledge(uow: UnitOfWork, records: list[RecordAcknowledgement]) -> list[Acknowledgement]:
    """Each acknowledgement in an execution of its own, through the bus."""
    made = []
    for record in records:
        value = uow.handle(record)
        made.append(value.subject if isinstance(value, Result) else value)
    return made


def _ack_artifact(ack: Acknowledgement, execution_id: str, uri: str, mime: str, payload: bytes, parent: Artifact | None,
                  kind: str, ttl_days: int) -> Artifact:
    lineage = derived_lineage([parent], "acknowledge_interchange", execution_id) if parent else None

    return Artifact(
        artifact_id=ack.artifact_id, artifact_type=ACK_TYPE, tenant_id=ack.tenant_id,
        session_id=session_of(ack.partner_id), user_id=f"partner:{ack.partner_id}", storage_location=uri,
        materializations=[Materialization(materialization_id=f"mat_{ack.artifact_id}", uri=uri, format=mime,
                                          persistent=False, size_bytes=len(payload))],
        boundary_contract_id=parent.boundary_contract_id if parent else f"bc_{ack.artifact_id}",
        produced_by=ProducedBy(intent="acknowledge_interchange", execution_id=execution_id),
        semantic_descriptor=SemanticDescriptor.model_validate({"schema": f"edi_ack_{kind.lower()}", "record_count": None,
                                                               "parser_type": None, "embedding_model": None}),
        lineage=lineage or root_lineage(ack.artifact_id), parent_artifacts=[parent.artifact_id] if parent else [],
        regenerable=False, expires_at=utcnow() + timedelta(days=ttl_days), ui_name=f"{kind} {ack.interchange_control_number}",
        filename=f"{ack.ack_id}.edi", mime_type=mime, file_size=len(payload),
        file_hash=f"sha256:{hashlib.sha256(payload).hexdigest()}",
        source_metadata={"partner_id": ack.partner_id, "kind": kind, "status": ack.status,
                         "interchange_control_number": ack.interchange_control_number, "duplicate": ack.duplicate},
    )


def _delivery(ex: Exchange, partner: Partner, tenant_id: str, ack: Acknowledgement, payload: bytes, mime: str,
              execution_id: str) -> Command:
    assert partner.as2 is not None and partner.as2.url is not None
    ours = our_as2_id(ex.services, tenant_id)
    headers, body, mic = protocol.build_message(
        payload=payload, content_type=mime, filename=f"{ack.kind}_{ack.interchange_control_number}.edi", as2_from=ours,
        as2_to=partner.as2.as2_id, signer=ex.keys.key_pair(), encrypt_cert_pem=partner.as2.encryption_cert_pem.encode(),
        mdn_to=ours, receipt_url=None)
    return deliver_command(tenant_id, execution_id, partner.partner_id, partner.as2.url, headers, body, ack.ack_id, mic)


def deliver_command(tenant_id: str, execution_id: str, partner_id: str, url: str, headers: dict[str, str], body: bytes,
                    ack_id: str | None, mic: str | None) -> Command:
    return Command(command_id=f"as2-{stable_key('deliver', tenant_id, headers['Message-ID'])[:40]}",
                   command_type="deliver_as2", tenant_id=tenant_id, execution_id=execution_id,
                   payload={"partner_id": partner_id, "url": url, "headers": headers,
                            "body": base64.b64encode(body).decode(), "ack_id": ack_id, "mic": mic})


def partner_or_404(ex: Exchange, tenant_id: str, partner_id: str) -> Partner:
    partner = ex.partners.get_partner(tenant_id, partner_id)
    if partner is None:
        raise NotFound(f"Partner {partner_id} does not exist.", code="PARTNER_NOT_FOUND")
    return partner
