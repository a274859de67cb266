"""The intent registry: which handler serves which intent type, with its strict parameter model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.domain.errors import NotFound, echo


@dataclass(frozen=True)
class Registration:
    intent_type: str
    params_model: type[BaseModel]
    handler: Callable[[Any, Any], Any]  # (ExecutionContext, params) -> Outcome
    description: str = ""


_REGISTRY: dict[str, Registration] = {}


def register_intent(
    intent_type: str, params_model: type[BaseModel], handler: Callable[[Any, Any], Any], description: str = ""
) -> Registration:
    existing = _REGISTRY.get(intent_type)
    if existing is not None and existing.handler is not handler:
        raise ValueError(f"intent type {intent_type!r} is already registered to another handler")
    registration = Registration(intent_type, params_model, handler, description)
    _REGISTRY[intent_type] = registration
    return registration


def get_intent_handler(intent_type: str) -> Registration:
    try:
        return _REGISTRY[intent_type]
    except KeyError:
        raise NotFound(f"Unknown intent type {echo(intent_type)!r}.", code="UNKNOWN_INTENT_TYPE") from None


def list_supported_intents() -> list[str]:
    return sorted(_REGISTRY)


def unregister_intent(intent_type: str) -> None:
    _REGISTRY.pop(intent_type, None)
