"""The intent registry: which handlers serve which intent type, with its strict parameter model.

A handler is `handle(command, uow) -> Result`. An intent type may have several handlers (the seed's
`get_intent_handlers`); the lifecycle runs the first, which owns the intent's state change."""

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
    handler: Callable[[Any, Any], Any]  # (command, UnitOfWork) -> Result
    description: str = ""
    success_status: int = 200  # what an HTTP edge answers when the handler succeeds
    exposed: bool = True  # submitted by clients at POST /v1/intents/{intent_type}

    def describe(self) -> dict[str, Any]:
        return {"intent_type": self.intent_type, "description": self.description,
                "parameters": self.params_model.model_json_schema(mode="validation")}


_REGISTRY: dict[str, list[Registration]] = {}


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """The same handler, even when its module was imported again (functions-framework loads main.py by path)."""
    return a is b or (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", 0), getattr(b, "__qualname__", 0))


def register_intent(
    intent_type: str, params_model: type[BaseModel], handler: Callable[[Any, Any], Any], description: str = "", *,
    success_status: int = 200, exposed: bool = True,
) -> Registration:
    """Register a handler; registering the same handler again (a module reloaded) is a no-op."""
    registration = Registration(intent_type, params_model, handler, description, success_status, exposed)
    handlers = _REGISTRY.setdefault(intent_type, [])
    for index, existing in enumerate(handlers):
        if _same_function(existing.handler, handler):
            handlers[index] = registration
            return registration
    if handlers and handlers[0].params_model is not params_model:
        raise ValueError(f"intent type {intent_type!r} is registered with another parameter model")
    handlers.append(registration)
    return registration


def get_intent_handlers(intent_type: str) -> list[Registration]:
    handlers = _REGISTRY.get(intent_type)
    if not handlers:
        raise NotFound(f"Unknown intent type {echo(intent_type)!r}.", code="UNKNOWN_INTENT_TYPE")
    return list(handlers)


def get_intent_handler(intent_type: str) -> Registration:
    return get_intent_handlers(intent_type)[0]


def list_supported_intents(*, exposed_only: bool = True) -> list[dict[str, Any]]:
    """Every supported intent with its description and the JSON Schema of its parameters."""
    return [handlers[0].describe() for name, handlers in sorted(_REGISTRY.items())
            if handlers and (handlers[0].exposed or not exposed_only)]


def unregister_intent(intent_type: str) -> None:
    _REGISTRY.pop(intent_type, None)
