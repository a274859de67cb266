"""The partner routes: register, read and remove trading partners, our AS2 identity, and acknowledgements."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.models import utcnow
from shared.edges.http import Call
from shared.partners import as2_endpoint
from shared.partners.exchange import partner_or_404
from shared.partners.models import Partner, PartnerSpec
from shared.partners.wiring import get_exchange


def _spec(body: dict[str, Any]) -> PartnerSpec:
    try:
        return PartnerSpec.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"{where}: {first['msg']}", code="INVALID_PARTNER") from None


def register_partner(call: Call) -> tuple[int, dict[str, Any]]:
    ex = get_exchange(call.services)
    spec = _spec(call.json_body())
    tenant = call.principal.tenant_id
    existing = ex.partners.get_partner(tenant, spec.partner_id)
    now = utcnow()
    partner = Partner(**spec.model_dump(), tenant_id=tenant, created_at=existing.created_at if existing else now,
                      updated_at=now)
    if partner.as2 is not None:
        other = ex.partners.partner_by_as2_id(tenant, partner.as2.as2_id)
        if other is not None and other.partner_id != partner.partner_id:
            raise ValidationFailed(f"AS2 id {partner.as2.as2_id} belongs to partner {other.partner_id}.",
                                   code="INVALID_PARTNER")
    ex.partners.put_partner(partner)
    return 201, {**partner.public(), "execution_id": call.request_id}


def list_partners(call: Call) -> tuple[int, dict[str, Any]]:
    partners = get_exchange(call.services).partners.list_partners(call.principal.tenant_id)
    return 200, {"partners": [p.public() for p in partners]}


def get_partner(call: Call) -> tuple[int, dict[str, Any]]:
    return 200, partner_or_404(get_exchange(call.services), call.principal.tenant_id, call.params["partner_id"]).public()


def delete_partner(call: Call) -> tuple[int, dict[str, Any]]:
    if not get_exchange(call.services).partners.delete_partner(call.principal.tenant_id, call.params["partner_id"]):
        raise NotFound(f"Partner {call.params['partner_id']} does not exist.", code="PARTNER_NOT_FOUND")
    return 200, {"partner_id": call.params["partner_id"], "deleted": True, "execution_id": call.request_id}


def as2_identity(call: Call) -> tuple[int, dict[str, Any]]:
    return 200, as2_endpoint.identity(get_exchange(call.services), call.principal.tenant_id)


def list_acknowledgements(call: Call) -> tuple[int, dict[str, Any]]:
    acks = get_exchange(call.services).partners.list_acks(
        call.principal.tenant_id, partner_id=call.query("partner_id"), control=call.query("interchange_control_number"),
        artifact_id=call.query("artifact_id"))
    return 200, {"acknowledgements": [a.public() for a in acks]}
