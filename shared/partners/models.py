"""Trading partners and acknowledgements, as the contract's "Partners and acknowledgements" section gives them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_AS2_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # RFC 4130 section 6.2: printable ASCII


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InterchangeId(_Strict):
    qualifier: str = Field(min_length=1, max_length=4)
    id: str = Field(min_length=1, max_length=35)


class As2Profile(_Strict):
    as2_id: str
    url: str | None = None
    signing_cert_pem: str
    encryption_cert_pem: str
    mdn: Literal["sync", "async"] = "sync"
    mdn_signed: bool = True

    @field_validator("as2_id")
    @classmethod
    def _as2_id(cls, value: str) -> str:
        if not _AS2_ID.match(value):
            raise PydanticCustomError("invalid_partner", "as2_id is 1-128 printable ASCII characters")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            raise PydanticCustomError("invalid_partner", "url must be an http(s) URL")
        return value

    @field_validator("signing_cert_pem", "encryption_cert_pem")
    @classmethod
    def _certificate(cls, value: str) -> str:
        try:
            x509.load_pem_x509_certificate(value.encode())
        except ValueError:
            raise PydanticCustomError("invalid_partner", "must be one PEM X.509 certificate") from None
        return value


class PartnerSpec(_Strict):
    """What `POST /v1/partners` takes."""

    partner_id: str
    name: str = Field(min_length=1, max_length=200)
    standard: Literal["x12", "edifact"]
    interchange_ids: list[InterchangeId] = Field(min_length=1, max_length=20)
    acknowledgements: list[Literal["TA1", "997", "999", "CONTRL"]] = Field(default_factory=list, max_length=3)
    duplicate_window_days: int = Field(default=30, ge=0, le=3650)
    as2: As2Profile | None = None

    @field_validator("partner_id")
    @classmethod
    def _partner_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise PydanticCustomError("invalid_partner", "partner_id is 1-64 letters, digits, '_', '.' or '-'")
        return value

    @model_validator(mode="after")
    def _acks_fit_standard(self) -> PartnerSpec:
        allowed = {"x12": {"TA1", "997", "999"}, "edifact": {"CONTRL"}}[self.standard]
        wrong = [a for a in self.acknowledgements if a not in allowed]
        if wrong:
            raise PydanticCustomError("invalid_partner", f"{self.standard} partners take acknowledgements {sorted(allowed)}, not {wrong}")
        if "997" in self.acknowledgements and "999" in self.acknowledgements:
            raise PydanticCustomError("invalid_partner", "choose 997 or 999, not both")
        return self


class Partner(PartnerSpec):
    model_config = ConfigDict(extra="ignore")
    tenant_id: str
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict:
        return self.model_dump(mode="json", exclude={"tenant_id"})


AckKind = Literal["TA1", "997", "999", "CONTRL"]
AckStatus = Literal["accepted", "accepted_with_errors", "rejected"]
Delivery = Literal["pending", "delivered", "not_requested", "failed"]


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ack_id: str
    tenant_id: str
    partner_id: str
    kind: AckKind
    for_artifact_id: str | None
    interchange_control_number: str
    status: AckStatus
    artifact_id: str
    delivery: Delivery
    duplicate: bool = False
    created_at: datetime
    delivery_error: str | None = None

    def public(self) -> dict:
        return self.model_dump(mode="json", exclude={"tenant_id", "delivery_error"})
