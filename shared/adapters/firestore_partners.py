"""Firestore adapter for partner exchange.

  tenants/{tenant}/partners/{partner_id}
  tenants/{tenant}/partner_as2_ids/as2_{sha256(as2_id)}   which partner an AS2 id belongs to (written with the partner)
  tenants/{tenant}/interchanges/{partner_id}:{control}   first receipt of an interchange control number
  tenants/{tenant}/acknowledgements/{ack_id}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.partners.models import Acknowledgement, Partner


def partner_document(partner: Partner) -> dict[str, Any]:
    """A partner as stored: its fields, plus the flat keys its lookups query (written by the unit of work)."""
    data = partner.model_dump(mode="json")
    data["as2_id"] = partner.as2.as2_id if partner.as2 else None  # flat, for the lookup by AS2-From
    data["interchange_keys"] = [f"{i.qualifier}:{i.id}" for i in partner.interchange_ids]
    return data


class FirestorePartnerStore:
    def __init__(self, client: firestore.Client):
        self._db = client

    def _tenant(self, tenant_id: str) -> Any:
        return self._db.collection("tenants").document(tenant_id)

    def get_partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        snap = self._tenant(tenant_id).collection("partners").document(partner_id).get()
        return Partner.model_validate(snap.to_dict()) if snap.exists else None

    def list_partners(self, tenant_id: str) -> list[Partner]:
        docs = self._tenant(tenant_id).collection("partners").order_by("partner_id").limit(500).stream()
        return [Partner.model_validate(d.to_dict()) for d in docs]

    def _one(self, tenant_id: str, field: str, op: str, value: str) -> Partner | None:
        query = self._tenant(tenant_id).collection("partners").where(filter=FieldFilter(field, op, value)).limit(1)
        docs = list(query.stream())
        return Partner.model_validate(docs[0].to_dict()) if docs else None

    def partner_by_as2_id(self, tenant_id: str, as2_id: str) -> Partner | None:
        return self._one(tenant_id, "as2_id", "==", as2_id)

    def partner_by_interchange_id(self, tenant_id: str, qualifier: str, id_: str) -> Partner | None:
        return self._one(tenant_id, "interchange_keys", "array_contains", f"{qualifier}:{id_}")

    def _receipt(self, tenant_id: str, partner_id: str, control: str) -> Any:
        return self._tenant(tenant_id).collection("interchanges").document(f"{partner_id}:{control}")

    def claim_interchange(self, tenant_id: str, partner_id: str, control: str, artifact_id: str, now: datetime,
                          window_days: int) -> str | None:
        ref = self._receipt(tenant_id, partner_id, control)

        @firestore.transactional
        def claim(tx: firestore.Transaction) -> str | None:
            snap = ref.get(transaction=tx)
            if snap.exists:
                data = snap.to_dict() or {}
                inside = data["received_at"] > now - timedelta(days=window_days)
                if data["artifact_id"] == artifact_id:
                    return None  # the same interchange again (a retry): not a duplicate of itself
                if inside:
                    return str(data["artifact_id"])
            tx.set(ref, {"partner_id": partner_id, "control": control, "artifact_id": artifact_id, "received_at": now})
            return None

        return claim(self._db.transaction())

    def first_receipt(self, tenant_id: str, partner_id: str, control: str) -> tuple[str, datetime] | None:
        snap = self._receipt(tenant_id, partner_id, control).get()
        if not snap.exists:
            return None
        data = snap.to_dict() or {}
        return str(data["artifact_id"]), data["received_at"]

    def get_ack(self, tenant_id: str, ack_id: str) -> Acknowledgement | None:
        snap = self._tenant(tenant_id).collection("acknowledgements").document(ack_id).get()
        return Acknowledgement.model_validate(snap.to_dict()) if snap.exists else None

    def set_delivery(self, tenant_id: str, ack_id: str, delivery: str, error: str | None = None) -> None:
        self._tenant(tenant_id).collection("acknowledgements").document(ack_id).update(
            {"delivery": delivery, "delivery_error": error})

    def list_acks(self, tenant_id: str, *, partner_id: str | None, control: str | None, artifact_id: str | None,
                  limit: int = 200) -> list[Acknowledgement]:
        query: Any = self._tenant(tenant_id).collection("acknowledgements")
        for field, value in (("partner_id", partner_id), ("interchange_control_number", control),
                             ("for_artifact_id", artifact_id)):
            if value is not None:
                query = query.where(filter=FieldFilter(field, "==", value))
        acks = [Acknowledgement.model_validate(d.to_dict()) for d in query.limit(limit).stream()]
        return sorted(acks, key=lambda a: (a.created_at, a.ack_id))
