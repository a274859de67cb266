"""The intent registry: register_intent, get_intent_handlers, list_supported_intents. Pure."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shared.domain.errors import NotFound
from shared.runtime.registry import get_intent_handler, get_intent_handlers, list_supported_intents, register_intent, unregister_intent


class EchoParams(BaseModel):
    text: str


class OtherParams(BaseModel):
    n: int


def first(params, uow):
    return "first"


def second(params, uow):
    return "second"


@pytest.fixture
def echo():
    yield "echo_test"
    unregister_intent("echo_test")
    unregister_intent("hidden_test")


def test_handlers_are_found_in_registration_order(echo):
    register_intent(echo, EchoParams, first, "Echo.", success_status=201)
    register_intent(echo, EchoParams, second, "Echo.")
    assert [r.handler for r in get_intent_handlers(echo)] == [first, second]
    assert get_intent_handler(echo).handler is first and get_intent_handler(echo).success_status == 201


def test_registering_the_same_handler_again_replaces_it_instead_of_adding_one(echo):
    register_intent(echo, EchoParams, first, "Echo.")
    register_intent(echo, EchoParams, first, "Echo, again.")
    assert len(get_intent_handlers(echo)) == 1 and get_intent_handler(echo).description == "Echo, again."


def test_a_second_parameter_model_for_one_intent_type_is_refused(echo):
    register_intent(echo, EchoParams, first)
    with pytest.raises(ValueError):
        register_intent(echo, OtherParams, second)


def test_an_unknown_intent_type_is_not_found():
    with pytest.raises(NotFound) as err:
        get_intent_handlers("no_such_intent")
    assert err.value.code == "UNKNOWN_INTENT_TYPE"


def test_supported_intents_carry_their_description_and_parameter_schema_and_hide_internal_ones(echo):
    register_intent(echo, EchoParams, first, "Echo the text.")
    register_intent("hidden_test", EchoParams, second, "Internal.", exposed=False)
    listed = {i["intent_type"]: i for i in list_supported_intents()}
    assert listed[echo]["description"] == "Echo the text."
    assert listed[echo]["parameters"]["properties"]["text"]["type"] == "string"
    assert listed[echo]["parameters"]["required"] == ["text"]
    assert "hidden_test" not in listed
    assert "hidden_test" in {i["intent_type"] for i in list_supported_intents(exposed_only=False)}
