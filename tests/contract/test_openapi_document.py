"""The OpenAPI document itself: valid OpenAPI 3.1, every public route and every contract route described, every
error answer in the one error shape, bearer auth everywhere but on the document and on CORS preflights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "shared" / "api" / "openapi.json").read_text())
ROUTES = json.loads((ROOT / "infra" / "routes.json").read_text())["routes"]
CONTRACT = ROOT.parent / "shared" / "contract.md"
PUBLIC = {("get", "/v1/openapi.json"), ("post", "/as2")}  # the AS2 endpoint authenticates by the partner's signature


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            yield method, path, op


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    errors = [e.message for e in OPENAPI_31_VALIDATOR.iter_errors(DOCUMENT)]
    assert errors == []


def test_every_route_of_the_routing_table_is_described():
    described = {(m, p) for m, p, _ in operations() if m != "options"}
    missing = [r for r in ROUTES if (r["method"].lower(), r["path"]) not in described]
    assert missing == []
    assert len(described) == len(ROUTES)  # nothing described that the gateway does not route


def test_every_routed_path_but_the_document_describes_its_cors_preflight():
    preflights = {p for m, p, op in operations() if m == "options" and op["security"] == [] and "403" in op["responses"]}
    # /as2 is server to server (trading partners' AS2 software): no browser calls it, so no preflight.
    assert preflights == {r["path"] for r in ROUTES} - {"/v1/openapi.json", "/as2"}


def test_every_route_and_intent_of_the_contract_is_described():
    if not CONTRACT.exists():
        pytest.skip(f"the team's contract is not beside the repository ({CONTRACT})")
    text = CONTRACT.read_text()
    described = {(m.upper(), p) for m, p, _ in operations()}
    named = set(re.findall(r"`(GET|POST|DELETE) (/v1/[^`?\s]*)", text))
    intents = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    # the generic submission route is described once per intent type
    named = {(m, p) for m, p in named if p != "/v1/intents/{intent_type}"}
    named |= {("POST", f"/v1/intents/{i}") for i in intents}
    # contract.md writes templates with its own parameter names; compare shapes, not names
    shape = {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in described}
    missing = sorted((m, p) for m, p in named if (m, re.sub(r"\{[^}]+\}", "{}", p)) not in shape)
    assert missing == []
    assert {"request_upload", "ingest_file", "parse_content", "save_materialization"} <= intents


def test_every_error_answer_has_the_one_error_shape_and_4xx_never_hides_as_default():
    for method, path, op in operations():
        for status, response in op["responses"].items():
            assert status != "default", (method, path)
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    required = DOCUMENT["components"]["schemas"]["ErrorBody"]["required"]
    assert required == ["error", "error_code", "execution_id", "intent_type"]


def test_bearer_auth_guards_every_operation_but_the_document_and_401_is_described():
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        **DOCUMENT["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    for method, path, op in operations():
        if (method, path) in PUBLIC or method == "options":
            assert op["security"] == []
        else:
            assert "security" not in op and "401" in op["responses"], (method, path)


def test_the_save_and_delete_decisions_are_documented():
    save = DOCUMENT["paths"]["/v1/intents/save_materialization"]["post"]
    assert "SOURCE_NOT_SAVED" in save["description"] and "server-side" in save["description"]
    assert "409" in save["responses"] and "404" in save["responses"]
    delete = DOCUMENT["paths"]["/v1/artifacts/{artifact_id}"]["delete"]
    assert "HAS_DERIVED_ARTIFACTS" in delete["description"] and "never cascades" in delete["description"]
    artifact = DOCUMENT["components"]["schemas"]["Artifact"]["properties"]
    assert artifact["payload_state"]["enum"] == ["live", "expired", "deleted"]
