"""Browsers call the API from configured origins: preflights are answered without a token, others are refused."""

from __future__ import annotations

import pytest

from shared.bootstrap import set_services
from shared.settings import get_settings

APP_ORIGIN = "https://app.example.com"


@pytest.fixture
def cors_services(services, monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f'["{APP_ORIGIN}"]')
    get_settings.cache_clear()
    set_services(None)
    yield
    get_settings.cache_clear()
    set_services(None)


def test_preflight_from_an_allowed_origin_needs_no_token(cors_services, function_client):
    resp = function_client("ingest", "ingest_http").options("/v1/intents/request_upload", headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "Origin" in resp.headers["Vary"]


def test_other_origins_are_refused_and_get_no_cors_headers(cors_services, function_client, auth):
    client = function_client("read_api", "read_http")
    refused = client.options("/v1/artifacts", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 403 and refused.get_json()["error_code"] == "ORIGIN_NOT_ALLOWED"
    assert "Access-Control-Allow-Origin" not in refused.headers
    plain = client.get("/v1/artifacts", headers=auth(Origin="https://evil.example"))
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers


def test_actual_responses_to_an_allowed_origin_carry_the_origin(cors_services, function_client, auth):
    client = function_client("read_api", "read_http")
    ok = client.get("/v1/artifacts", headers=auth(Origin=APP_ORIGIN))
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    error = client.get("/v1/artifacts/nope", headers=auth(Origin=APP_ORIGIN))  # errors too, or the browser hides them
    assert error.status_code == 404 and error.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_no_origins_are_allowed_unless_configured(services, function_client, monkeypatch):
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    get_settings.cache_clear()
    set_services(None)
    assert get_settings().cors_allowed_origins == []
    resp = function_client("save", "save_http").options("/v1/intents/save_materialization", headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 403
