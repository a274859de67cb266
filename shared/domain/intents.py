"""The Intent model and the strict parameter model of every intent type."""

from __future__ import annotations

import binascii
import json
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.domain.ids import new_id
from shared.domain.models import utcnow

MAX_MAP_DEPTH = 8
MAX_MAP_BYTES = 64 * 1024
MIME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"


def _check_storable(value: Any, depth: int = 0, in_array: bool = False) -> None:
    """Free-form maps end up in Firestore: no empty keys, no array directly inside an array, bounded depth."""
    if depth > MAX_MAP_DEPTH:
        raise PydanticCustomError("invalid_map", "nested too deeply (at most 8 levels)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip() or key.startswith("__"):
                raise PydanticCustomError("invalid_map", "keys must be non-empty strings not starting with __")
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        if in_array:
            raise PydanticCustomError("invalid_map", "an array may not directly contain another array")
        for item in value:
            _check_storable(item, depth + 1, in_array=True)


def _storable_map(value: dict[str, Any]) -> dict[str, Any]:
    _check_storable(value)
    if len(json.dumps(value, default=str)) > MAX_MAP_BYTES:
        raise PydanticCustomError("invalid_map", "larger than 64 KiB")
    return value


StorableMap = Annotated[dict[str, Any], AfterValidator(_storable_map)]
MAX_JSON_DEPTH = 64
# Bidi embeddings, overrides and isolates, and the implicit marks: they make a name display as something it is not.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _json_value(value: Any) -> Any:
    """`api_payload` as the OpenAPI JsonValue says: keys not blank, no array directly inside an array, bounded depth."""
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    while stack:
        item, depth, in_array = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise PydanticCustomError("invalid_api_payload", f"nested too deeply (at most {MAX_JSON_DEPTH} levels)")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str) or not key.strip():
                    raise PydanticCustomError("invalid_api_payload", "object keys must not be blank")
                stack.append((child, depth + 1, False))
        elif isinstance(item, list):
            if in_array:
                raise PydanticCustomError("invalid_api_payload", "an array may not directly contain another array")
            stack.extend((child, depth + 1, True) for child in item)
    return value


def _display_name(value: str | None) -> str | None:
    """A name people will read: control characters (NUL, ANSI escapes, line breaks) and bidi controls are refused,
    not silently kept, so what a list shows is what was sent."""
    if value is None:
        return value
    for ch in value:
        if ch in _BIDI:
            raise PydanticCustomError(
                "invalid_ui_name", "ui_name may not contain bidirectional control characters (U+{code:04X})",
                {"code": ord(ch)})
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise PydanticCustomError(
                "invalid_ui_name", "ui_name may not contain control characters (U+{code:04X}); send a printable name",
                {"code": ord(ch)})
    return value


DisplayName = Annotated[str, AfterValidator(_display_name)]
IngestionProfile = Literal["structured", "unstructured", "hybrid"]
MaterializationType = Literal["full_artifact", "reference", "summary"]
RetentionPolicy = Literal["standard", "permanent", "ephemeral_30d", "regulatory_7y"]
INTENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
DEFAULT_SOLUTION = "default"


class Intent(BaseModel):
    """What a caller asked for. Tenant, user and session come from the verified token, never the body.

    `solution_id` comes from the token's claim, else `metadata.solution_id`, else "default"; it is stored on the
    execution and on every artifact the intent makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intent_id: str = Field(min_length=1)
    intent_type: str = Field(pattern=INTENT_TYPE_PATTERN)
    tenant_id: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    solution_id: str = Field(default=DEFAULT_SOLUTION, min_length=1, max_length=128)
    parameters: dict[str, Any] = Field(default_factory=dict)
    metadata: StorableMap = Field(default_factory=dict)
    idempotency_key: str | None = None
    # The browser origin the caller came from, when the deployment allows it: a resumable session must be created
    # with it, or Cloud Storage answers the browser's chunks without CORS headers.
    client_origin: str | None = Field(default=None, max_length=2048)
    created_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def create(
        cls, intent_type: str, *, tenant_id: str, session_id: str, user_id: str, parameters: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None, solution_id: str | None = None, idempotency_key: str | None = None,
        client_origin: str | None = None,
    ) -> Intent:
        """A new intent with a fresh id; the solution is the given one, else the metadata's, else the default."""
        meta = dict(metadata or {})
        solution = solution_id or (str(meta["solution_id"]) if meta.get("solution_id") else DEFAULT_SOLUTION)
        return cls(intent_id=new_id("intent"), intent_type=intent_type, tenant_id=tenant_id, session_id=session_id,
                   user_id=user_id, solution_id=solution, parameters=dict(parameters or {}), metadata=meta,
                   idempotency_key=idempotency_key, client_origin=client_origin)

    @classmethod
    def for_platform(cls, intent_type: str, *, tenant_id: str, session_id: str, user_id: str | None,
                     metadata: dict[str, Any] | None = None) -> Intent:
        """An intent the platform itself raises (a finalize event, a reaction, a journey step)."""
        return cls.create(intent_type, tenant_id=tenant_id, session_id=session_id, user_id=user_id or "platform",
                          metadata={"trigger": intent_type, **(metadata or {})})

    def validate(self, params_model: type[BaseModel]) -> BaseModel:  # type: ignore[override]  # the seed's name
        """Check the intent against its type's strict parameter model; raises pydantic's ValidationError."""
        return params_model.model_validate(self.parameters)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class IntentEnvelope(BaseModel):
    """The HTTP body of `POST /v1/intents/{intent_type}`."""

    model_config = ConfigDict(extra="ignore")

    parameters: dict[str, Any] = Field(default_factory=dict)
    metadata: StorableMap = Field(default_factory=dict)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _require_text(value: str | None, code: str, what: str) -> None:
    if value is None or not str(value).strip():
        raise PydanticCustomError(code, f"{what} is required")


class RequestUploadParams(Params):
    ui_name: DisplayName = Field(min_length=1, max_length=1024)
    file_size: StrictInt = Field(ge=1)  # the OpenAPI type is integer: `true` or "12" is refused, not taken as 1 or 12
    mime_type: str = Field(min_length=3, max_length=255, pattern=MIME_PATTERN)
    filename: str | None = Field(default=None, max_length=1024)
    file_type: str | None = Field(default=None, max_length=64)
    ingestion_profile: IngestionProfile | None = None
    parse_options: StorableMap = Field(default_factory=dict)


def decode_hex(value: str, field: str) -> bytes:
    try:
        return binascii.unhexlify(value.strip())
    except (binascii.Error, ValueError):
        raise ValueError(f"{field} must be hex-encoded bytes") from None


class IngestFileParams(Params):
    ui_name: DisplayName | None = Field(default=None, max_length=1024)
    ingestion_type: str = "upload"
    file_content: str | None = None
    edi_data: str | None = None
    partner_id: str | None = Field(default=None, max_length=256)
    edi_protocol: str = Field(default="as2", max_length=32)
    api_payload: Annotated[Any, AfterValidator(_json_value)] = None
    endpoint: str | None = Field(default=None, max_length=2048)
    api_type: str = Field(default="rest", max_length=32)
    file_type: str = Field(default="unstructured", max_length=64)
    mime_type: str = Field(default="application/octet-stream", max_length=255, pattern=MIME_PATTERN)
    filename: str | None = Field(default=None, max_length=1024)
    user_id: str | None = None  # accepted for seed compatibility, never trusted: the token decides
    source_metadata: StorableMap = Field(default_factory=dict)
    ingestion_options: StorableMap = Field(default_factory=dict)
    boundary_contract_id: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _check_by_type(self) -> IngestFileParams:
        _require_text(self.ui_name, "missing_ui_name", "ui_name")
        if self.ingestion_type not in ("upload", "edi", "api"):
            raise PydanticCustomError(
                "invalid_ingestion_type", "ingestion_type must be one of upload, edi, api"
            )
        if self.ingestion_type == "upload":
            _require_text(self.file_content, "missing_file_content", "file_content")
        elif self.ingestion_type == "edi":
            _require_text(self.edi_data, "missing_edi_data", "edi_data")
            _require_text(self.partner_id, "missing_partner_id", "partner_id")
        elif self.api_payload is None:
            raise PydanticCustomError("missing_api_payload", "api_payload is required")
        return self

    @property
    def hex_content(self) -> str | None:
        return self.file_content if self.ingestion_type == "upload" else self.edi_data if self.ingestion_type == "edi" else None


class ParseContentParams(Params):
    file_id: str = Field(min_length=1, max_length=128)
    ingestion_profile: IngestionProfile | None = None
    parse_options: StorableMap | None = None


class SaveMaterializationParams(Params):
    artifact_id: str = Field(min_length=1, max_length=128)
    boundary_contract_id: str | None = Field(default=None, max_length=128)
    retention_policy: RetentionPolicy | None = None
    materialization_type: MaterializationType | None = None


class ParseContext(Params):
    ingestion_profile: IngestionProfile
    parse_options: StorableMap = Field(default_factory=dict)


class CreatePendingIntentBody(Params):
    intent_type: Literal["parse_content"]
    target_artifact_id: str = Field(min_length=1, max_length=128)
    context: ParseContext

    @field_validator("target_artifact_id")
    @classmethod
    def _no_slash(cls, v: str) -> str:
        if "/" in v:
            raise PydanticCustomError("invalid_artifact_id", "target_artifact_id is not a valid id")
        return v
