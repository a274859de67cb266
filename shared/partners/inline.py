"""An EDI interchange from a registered partner, inside `ingest_file` (AS2 and inline alike): its (partner, control
number) is claimed before anything is posted, a duplicate is answered with its rejecting acknowledgement and posts
nothing, and an accepted one is answered with the acknowledgements the partner wants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.errors import Conflict
from shared.edi.model import InterchangeResult
from shared.partners.exchange import acknowledge, acknowledgements, claim, exchange_of, screen
from shared.partners.models import Partner
from shared.runtime.uow import UnitOfWork


@dataclass(frozen=True)
class PartnerInterchange:
    partner: Partner
    interchange: InterchangeResult


def admit(uow: UnitOfWork, partner_id: str | None, data: bytes, file_id: str) -> PartnerInterchange | None:
    """None when the partner is not registered (the interchange is only stored, as before partners existed)."""
    if not partner_id:
        return None
    ex = exchange_of(uow.services)
    tenant_id = uow.context.tenant_id
    partner = ex.partners.get_partner(tenant_id, partner_id)
    if partner is None:
        return None
    ic = screen(partner, data)
    earlier = claim(ex, tenant_id, partner, ic, file_id)
    if earlier is not None:
        acks = acknowledge(uow, acknowledgements(tenant_id, partner, ic, earlier, True, data))
        raise Conflict(f"Interchange {ic.control} from partner {partner_id} was already received (artifact "
                       f"{earlier}); it is rejected and nothing is posted.", code="DUPLICATE_INTERCHANGE",
                       details={"duplicate_of": earlier, "acknowledgements": [a.public() for a in acks]})
    return PartnerInterchange(partner, ic)


def answer(uow: UnitOfWork, admitted: PartnerInterchange, file_id: str, data: bytes) -> list[dict[str, Any]]:
    acks = acknowledgements(uow.context.tenant_id, admitted.partner, admitted.interchange, file_id, False, data)
    return [a.public() for a in acknowledge(uow, acks)]
