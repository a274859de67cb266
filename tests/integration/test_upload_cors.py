"""Browsers upload straight to the uploads bucket, so storage must let them send every header request_upload tells
them to send. infra/cors.json is the one declaration: the local storage emulator and the Terraform bucket CORS both
read it (tests/infra checks the Terraform side)."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from dev.stack import CORS_FILE, upload_cors_headers

APP_ORIGIN = "http://127.0.0.1:8080"
SIZES = (8, 50 * 1024 * 1024, 100 * 1024 * 1024)  # small, and large enough for a resumable session where one is served


def _answers(function_client, auth) -> list[dict]:
    client = function_client("ingest", "ingest_http")
    answers = []
    for size in SIZES:
        resp = client.post("/v1/intents/request_upload", headers=auth(), json={
            "parameters": {"ui_name": "data.csv", "file_size": size, "mime_type": "text/csv"}})
        assert resp.status_code == 201, resp.get_json()
        answers.append(resp.get_json())
    return answers


def _names(answer: dict) -> set[str]:
    names = {name.lower() for name in answer["headers"]}
    if answer.get("upload_protocol") == "resumable":
        names.add("content-range")  # every chunk, and the committed-offset query, carry it
    return names


def test_every_header_request_upload_returns_is_in_the_cors_declaration(services, function_client, auth) -> None:
    declared = {h.lower() for h in json.loads(Path(CORS_FILE).read_text())["upload"]["request_headers"]}
    for answer in _answers(function_client, auth):
        assert answer["headers"], answer
        missing = _names(answer) - declared
        assert not missing, f"{answer.get('upload_protocol', 'single_put')} upload headers missing from {CORS_FILE}: {missing}"


def test_the_storage_emulator_allows_the_preflight_of_every_upload_header(services, function_client, auth) -> None:
    for answer in _answers(function_client, auth):
        names = sorted(_names(answer))
        preflight = requests.options(answer["upload_url"], timeout=10, headers={
            "Origin": APP_ORIGIN, "Access-Control-Request-Method": answer["method"],
            "Access-Control-Request-Headers": ",".join(names)})
        assert preflight.status_code in (200, 204), (names, preflight.status_code, preflight.text)
        allowed = {h.strip().lower() for h in preflight.headers.get("Access-Control-Allow-Headers", "").split(",")}
        assert set(names) <= allowed, (names, preflight.headers)


def test_the_storage_emulator_is_started_with_the_declared_headers() -> None:
    upload = json.loads(Path(CORS_FILE).read_text())["upload"]
    assert upload_cors_headers() == [*upload["request_headers"], *upload["response_headers"]]
    assert {"x-goog-content-length-range", "x-goog-if-generation-match", "Content-Range"} <= set(upload["request_headers"])
