"""The intent catalog: which handler serves which intent type, with its strict parameter model.

Bootstrap builds it explicitly (no module registers itself when imported). A handler is `handle(command, uow) ->
Result`. An intent type may have several handlers (the seed's `get_intent_handlers`); the bus runs the first, which
owns the intent's state change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    exposed: bool = True  # submitted by clients at POST /v1/intents/{intent_type}

    def describe(self) -> dict[str, Any]:
        return {"intent_type": self.intent_type, "description": self.description,
                "parameters": self.params_model.model_json_schema(mode="validation")}


class IntentCatalog:
    def __init__(self, registrations: Iterable[Registration] = ()):
        self._handlers: dict[str, list[Registration]] = {}
        for registration in registrations:
            self.register_intent(registration)

    def register_intent(self, registration: Registration) -> Registration:
        handlers = self._handlers.setdefault(registration.intent_type, [])
        if handlers and handlers[0].params_model is not registration.params_model:
            raise ValueError(f"intent type {registration.intent_type!r} is registered with another parameter model")
        handlers.append(registration)
        return registration

    def get_intent_handlers(self, intent_type: str) -> list[Registration]:
        handlers = self._handlers.get(intent_type)
        if not handlers:
            raise NotFound(f"Unknown intent type {echo(intent_type)!r}.", code="UNKNOWN_INTENT_TYPE")
        return list(handlers)

    def get_intent_handler(self, intent_type: str) -> Registration:
        return self.get_intent_handlers(intent_type)[0]

    def list_supported_intents(self, *, exposed_only: bool = True) -> list[dict[str, Any]]:
        """Every supported intent with its description and the JSON Schema of its parameters."""
        return [handlers[0].describe() for _, handlers in sorted(self._handlers.items())
                if handlers and (handlers[0].exposed or not exposed_only)]
