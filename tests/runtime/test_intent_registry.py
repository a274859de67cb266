"""The intent catalog: get_intent_handlers, list_supported_intents, and the one bootstrap builds. Pure."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shared.bootstrap import intent_catalog
from shared.domain.errors import NotFound
from shared.runtime.registry import IntentCatalog, Registration


class EchoParams(BaseModel):
    text: str


class OtherParams(BaseModel):
    n: int


def first(params, uow):
    return "first"


def second(params, uow):
    return "second"


def test_handlers_are_found_in_registration_order():
    catalog = IntentCatalog([Registration("echo", EchoParams, first, "Echo."), Registration("echo", EchoParams, second)])
    assert [r.handler for r in catalog.get_intent_handlers("echo")] == [first, second]
    assert catalog.get_intent_handler("echo").handler is first


def test_a_second_parameter_model_for_one_intent_type_is_refused():
    catalog = IntentCatalog([Registration("echo", EchoParams, first)])
    with pytest.raises(ValueError):
        catalog.register_intent(Registration("echo", OtherParams, second))


def test_an_unknown_intent_type_is_not_found():
    with pytest.raises(NotFound) as err:
        IntentCatalog().get_intent_handlers("no_such_intent")
    assert err.value.code == "UNKNOWN_INTENT_TYPE"


def test_supported_intents_carry_their_description_and_parameter_schema_and_hide_internal_ones():
    catalog = IntentCatalog([Registration("echo", EchoParams, first, "Echo the text."),
                             Registration("hidden", EchoParams, second, "Internal.", exposed=False)])
    listed = {i["intent_type"]: i for i in catalog.list_supported_intents()}
    assert listed["echo"]["description"] == "Echo the text."
    assert listed["echo"]["parameters"]["properties"]["text"]["type"] == "string"
    assert listed["echo"]["parameters"]["required"] == ["text"]
    assert "hidden" not in listed
    assert "hidden" in {i["intent_type"] for i in catalog.list_supported_intents(exposed_only=False)}


def test_bootstrap_names_every_intent_explicitly_and_lists_only_the_client_ones():
    catalog = intent_catalog()
    assert {i["intent_type"] for i in catalog.list_supported_intents()} == {
        "request_upload", "ingest_file", "parse_content", "save_materialization"}
    assert {i["intent_type"] for i in catalog.list_supported_intents(exposed_only=False)} >= {
        "create_pending_intent", "cancel_pending_intent", "delete_artifact", "start_journey", "approve_journey",
        "cancel_journey", "discard_working_material"}
