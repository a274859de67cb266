"""What partner exchange needs from the outside: partner and acknowledgement records, and our AS2 keys."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.as2.protocol import KeyPair
from shared.partners.models import Acknowledgement, Partner


class PartnerStore(Protocol):
    """Reads of partners and acknowledgements (both are written in the unit of work: Tx.put_partner, Tx.put_ack), and
    the exchange's own records: the first receipt of an interchange, and an acknowledgement's delivery state."""

    def get_partner(self, tenant_id: str, partner_id: str) -> Partner | None: ...
    def list_partners(self, tenant_id: str) -> list[Partner]: ...
    def partner_by_as2_id(self, tenant_id: str, as2_id: str) -> Partner | None: ...
    def partner_by_interchange_id(self, tenant_id: str, qualifier: str, id_: str) -> Partner | None: ...
    def claim_interchange(self, tenant_id: str, partner_id: str, control: str, artifact_id: str, now: datetime,
                          window_days: int) -> str | None:
        """Record the first receipt of (partner, control number) in one transaction; return the artifact id of an
        earlier receipt still inside the window (a duplicate), else None."""
        ...
    def first_receipt(self, tenant_id: str, partner_id: str, control: str) -> tuple[str, datetime] | None: ...
    def get_ack(self, tenant_id: str, ack_id: str) -> Acknowledgement | None: ...
    def set_delivery(self, tenant_id: str, ack_id: str, delivery: str, error: str | None = None) -> None: ...
    def list_acks(self, tenant_id: str, *, partner_id: str | None, control: str | None, artifact_id: str | None,
                  limit: int = 200) -> list[Acknowledgement]: ...


class KeyStore(Protocol):
    """Our AS2 key pair: Secret Manager in production, a key file outside the repo locally. Never logged."""

    def key_pair(self) -> KeyPair: ...
