"""Turn pydantic errors into one readable 422 with a precise error_code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from shared.domain.errors import ERROR_CODES, ValidationFailed, echo

_GENERIC = {"missing": "MISSING", "literal_error": "INVALID", "extra_forbidden": "UNKNOWN"}
_FALLBACK = {"missing": "MISSING_FIELD", "extra_forbidden": "UNKNOWN_FIELD"}


def _code_for(err: dict[str, Any]) -> str:
    """A code from the fixed list: named after our own field where the list has one, never after a caller's key."""
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        return "UNKNOWN_FIELD"
    field = "_".join(str(p) for p in err.get("loc", ()) if isinstance(p, str)).upper()
    if kind.startswith(("missing_", "invalid_")):  # our own PydanticCustomError codes
        candidate = kind.upper()
    elif not field:
        candidate = "VALIDATION_ERROR"
    else:
        candidate = f"{_GENERIC.get(kind, 'INVALID')}_{field}"
    if candidate in ERROR_CODES:
        return candidate
    return _FALLBACK.get(kind, "INVALID_FIELD" if field else "VALIDATION_ERROR")


def _describe(err: dict[str, Any]) -> str:
    where = echo(".".join(str(p) for p in err.get("loc", ())))
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
            details=[{"loc": [echo(p) if isinstance(p, str) else p for p in e.get("loc", ())], "type": e.get("type"),
                      "msg": e.get("msg")} for e in errors],
        ) from None
