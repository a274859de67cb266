"""The seed's Intent model: factories, validation, serialization, and where solution_id comes from. Pure."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.domain.intents import DEFAULT_SOLUTION, Intent, ParseContentParams


def _intent(**kw):
    return Intent.create("parse_content", tenant_id="t", session_id="s", user_id="u", **kw)


def test_create_gives_each_intent_a_fresh_id_and_keeps_parameters_and_metadata():
    a, b = _intent(parameters={"file_id": "f"}, metadata={"k": "v"}), _intent()
    assert a.intent_id != b.intent_id and a.intent_id.startswith("intent_")
    assert a.parameters == {"file_id": "f"} and a.metadata == {"k": "v"}


def test_solution_id_comes_from_the_token_then_the_metadata_then_the_default():
    assert _intent(solution_id="from-token", metadata={"solution_id": "from-meta"}).solution_id == "from-token"
    assert _intent(metadata={"solution_id": "from-meta"}).solution_id == "from-meta"
    assert _intent().solution_id == DEFAULT_SOLUTION


def test_validate_checks_parameters_against_the_intent_types_strict_model():
    ok = _intent(parameters={"file_id": "f", "ingestion_profile": "hybrid"}).validate(ParseContentParams)
    assert isinstance(ok, ParseContentParams) and ok.ingestion_profile == "hybrid"
    with pytest.raises(ValidationError):
        _intent(parameters={"file_id": "f", "ingestion_profile": "nonsense"}).validate(ParseContentParams)
    with pytest.raises(ValidationError):
        _intent(parameters={"file_id": "f", "surprise": 1}).validate(ParseContentParams)


def test_an_intent_type_must_be_a_snake_case_name_and_the_tenant_is_required():
    with pytest.raises(ValidationError):
        Intent.create("Drop Table", tenant_id="t", session_id="s", user_id="u")
    with pytest.raises(ValidationError):
        Intent.create("parse_content", tenant_id="", session_id="s", user_id="u")


def test_an_intent_serializes_and_comes_back_equal_and_is_immutable():
    intent = _intent(parameters={"file_id": "f"}, metadata={"boundary_contract_id": "bc_1"})
    assert Intent.model_validate(intent.to_json()) == intent
    with pytest.raises(ValidationError):
        intent.tenant_id = "other"  # type: ignore[misc]


def test_platform_intents_say_what_raised_them():
    intent = Intent.for_platform("ingest_file", tenant_id="t", session_id="s", user_id=None, metadata={"upload_id": "u1"})
    assert intent.user_id == "platform" and intent.metadata == {"trigger": "ingest_file", "upload_id": "u1"}
