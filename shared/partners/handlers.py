"""Trading partners as intents (register, remove) and reads (partners, our AS2 identity, acknowledgements)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.domain.errors import NotFound, ValidationFailed
from shared.domain.intents import Params
from shared.domain.models import utcnow
from shared.partners import as2_endpoint
from shared.partners.exchange import exchange_of, partner_or_404
from shared.partners.models import Partner, PartnerSpec
from shared.ports import Services, Tx
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork

REGISTER, DELETE = "register_partner", "delete_partner"


class DeletePartnerParams(Params):
    partner_id: str = Field(min_length=1, max_length=64)


def register_partner(spec: PartnerSpec, uow: UnitOfWork) -> Result:
    """Register or replace a partner; an AS2 id names one partner of the tenant only (AS2-From finds it). The partner
    and its execution's log commit together."""
    tenant = uow.context.tenant_id
    if spec.as2 is not None:  # a query, so before the transaction (which reads documents by id only)
        other = uow.services.partners.partner_by_as2_id(tenant, spec.as2.as2_id)
        if other is not None and other.partner_id != spec.partner_id:
            raise ValidationFailed(f"AS2 id {spec.as2.as2_id} belongs to partner {other.partner_id}.",
                                   code="INVALID_PARTNER")

    def step(tx: Tx) -> Result:
        existing = tx.get_partner(tenant, spec.partner_id)
        claimed = spec.as2.as2_id if spec.as2 is not None else None
        released = existing.as2.as2_id if existing is not None and existing.as2 is not None else None
        # The AS2 id's own document, read and written in this transaction: two registrations racing for one id
        # cannot both pass (the query above only sees partners already committed).
        owner = tx.as2_owner(tenant, claimed) if claimed is not None else None
        if owner is not None and owner != spec.partner_id:
            raise ValidationFailed(f"AS2 id {claimed} belongs to partner {owner}.", code="INVALID_PARTNER")
        now = utcnow()
        partner = Partner(**spec.model_dump(), tenant_id=tenant, created_at=existing.created_at if existing else now,
                          updated_at=now)
        tx.put_partner(partner)
        if claimed is not None:
            tx.set_as2_owner(tenant, claimed, partner.partner_id)
        if released is not None and released != claimed:
            tx.set_as2_owner(tenant, released, None)
        return Result(partner.public(), detail={"partner_id": partner.partner_id})

    return uow.commit(step)


def delete_partner(params: DeletePartnerParams, uow: UnitOfWork) -> Result:
    tenant = uow.context.tenant_id

    def step(tx: Tx) -> Result:
        partner = tx.get_partner(tenant, params.partner_id)
        if partner is None:
            raise NotFound(f"Partner {params.partner_id} does not exist.", code="PARTNER_NOT_FOUND")
        tx.delete_partner(tenant, params.partner_id)
        if partner.as2 is not None:
            tx.set_as2_owner(tenant, partner.as2.as2_id, None)
        return Result({"partner_id": params.partner_id, "deleted": True}, detail={"partner_id": params.partner_id})

    return uow.commit(step)


def list_partners(services: Services, tenant_id: str) -> dict[str, Any]:
    return {"partners": [p.public() for p in services.partners.list_partners(tenant_id)]}


def get_partner(services: Services, tenant_id: str, partner_id: str) -> dict[str, Any]:
    return partner_or_404(exchange_of(services), tenant_id, partner_id).public()


def as2_identity(services: Services, tenant_id: str) -> dict[str, Any]:
    return as2_endpoint.identity(services, tenant_id)


def list_acknowledgements(services: Services, tenant_id: str, partner_id: str | None, control: str | None,
                          artifact_id: str | None) -> dict[str, Any]:
    acks = services.partners.list_acks(tenant_id, partner_id=partner_id, control=control, artifact_id=artifact_id)
    return {"acknowledgements": [a.public() for a in acks]}
