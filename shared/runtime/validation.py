"""Turn pydantic errors into one readable 422 with a precise error_code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from shared.domain.errors import ValidationFailed

_GENERIC = {"missing": "MISSING", "literal_error": "INVALID", "extra_forbidden": "UNKNOWN"}


def _code_for(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    field = "_".join(str(p) for p in err.get("loc", ()) if isinstance(p, str)).upper()
    if kind.startswith(("missing_", "invalid_")):  # our own PydanticCustomError codes
        return kind.upper()
    if kind in _GENERIC and field:
        return f"{_GENERIC[kind]}_{field}"
    return f"INVALID_{field}" if field else "VALIDATION_ERROR"


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    msg = str(err.get("msg", "is invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{where}: {msg}" if where and where not in msg else msg


def validate[M: BaseModel](model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False, include_input=False, include_context=False)]
        first: dict[str, Any] = errors[0] if errors else {}
        raise ValidationFailed(
            "; ".join(_describe(e) for e in errors) or "invalid request",
            code=_code_for(first),
            details=[{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in errors],
        ) from None
