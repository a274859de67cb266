"""The gateway routes with infra/routes.json exactly, relays requests and answers, and refuses what Cloud Functions
refuses."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dev import stack as devstack
from dev.gateway import MAX_REQUEST_BYTES, compile_template, load_routes, resolve
from dev.procs import free_ports, stop_processes

ROUTES = json.loads(devstack.ROUTES_FILE.read_text())["routes"]


# ---- pure routing ---------------------------------------------------------------------------------------------------


def test_template_parameter_matches_exactly_one_path_segment() -> None:
    pattern = compile_template("/v1/artifacts/{artifact_id}")
    assert pattern.match("/v1/artifacts/a-1").groupdict() == {"artifact_id": "a-1"}
    assert pattern.match("/v1/artifacts/a/lineage") is None
    assert pattern.match("/v1/artifacts/") is None
    assert pattern.match("/v1/artifacts") is None


def test_resolve_tells_unknown_path_from_wrong_method() -> None:
    routes = load_routes(devstack.ROUTES_FILE)
    route, allowed = resolve(routes, "GET", "/v1/artifacts/x/lineage")
    assert allowed == []
    assert route is not None and route.function == "read-api"
    assert resolve(routes, "PUT", "/v1/artifacts/x") == (None, ["DELETE", "GET"])
    assert resolve(routes, "GET", "/v2/artifacts/x") == (None, [])


def test_cors_preflight_goes_to_the_function_that_owns_the_path() -> None:
    routes = load_routes(devstack.ROUTES_FILE)
    route, _ = resolve(routes, "OPTIONS", "/v1/pending-intents/intent_1")
    assert route is not None and route.function == "profile-selection"
    assert resolve(routes, "OPTIONS", "/v1/nowhere") == (None, [])


def test_literal_segment_wins_over_parameter(tmp_path: Path) -> None:
    table = tmp_path / "routes.json"
    table.write_text(
        json.dumps(
            {
                "routes": [
                    {"method": "GET", "path": "/v1/items/{item_id}", "function": "by-id"},
                    {"method": "GET", "path": "/v1/items/latest", "function": "latest"},
                ]
            }
        )
    )
    route, _ = resolve(load_routes(table), "GET", "/v1/items/latest")
    assert route is not None and route.function == "latest"


# ---- through real processes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, throwaway_dir: Path) -> Iterator[str]:
    """The real gateway process over one echo function per function named in routes.json."""
    log_dir = tmp_path_factory.mktemp("gateway-logs")
    names = sorted({r["function"] for r in ROUTES})
    ports = free_ports(len(names) + 1, avoid=(devstack.DEFAULT_GATEWAY_PORT,))
    env = {"PATH": "/usr/bin:/bin"}
    probes = []
    try:
        for name, port in zip(names, ports, strict=False):
            spec = devstack.FunctionSpec(name, throwaway_dir / "echo" / "main.py", "echo", "http", 60)
            probes.append(devstack.launch_function(spec, port, env, log_dir))
        upstreams = {name: devstack.function_url(port) for name, port in zip(names, ports, strict=False)}
        probes.append(devstack.launch_gateway(ports[-1], devstack.ROUTES_FILE, upstreams, {}, env, log_dir))
        devstack.wait_all(probes, 60)
        yield devstack.function_url(ports[-1])
    finally:
        stop_processes([p[0] for p in probes])


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: f"sample-{m.group(1)}", path)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r['method']} {r['path']}" for r in ROUTES])
def test_gateway_routes_every_table_entry_to_its_function(gateway: str, route: dict[str, str]) -> None:
    path = _concrete(route["path"])
    resp = requests.request(route["method"], gateway + path, timeout=10)
    assert resp.status_code == 200, resp.text
    echoed = resp.json()
    assert echoed["function"] == route["function"]
    assert (echoed["method"], echoed["path"]) == (route["method"], path)
    assert resp.headers["X-Gateway-Function"] == route["function"]


def test_gateway_forwards_method_path_query_headers_and_body(gateway: str) -> None:
    body = b"\x00binary body \xff" * 1000
    resp = requests.post(
        gateway + "/v1/intents/ingest_file?trace=1&x=a%20b",
        data=body,
        headers={"Authorization": "Bearer abc.def.ghi", "Idempotency-Key": "key-123", "Content-Type": "application/json"},
        timeout=10,
    )
    echoed = resp.json()
    assert echoed["function"] == "ingest-http"
    assert echoed["query"] == "trace=1&x=a%20b"
    assert echoed["headers"]["authorization"] == "Bearer abc.def.ghi"
    assert echoed["headers"]["idempotency-key"] == "key-123"
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["body_length"] == len(body)
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_gateway_relays_the_function_status_headers_and_body(gateway: str) -> None:
    resp = requests.get(gateway + "/v1/executions/e-1", headers={"X-Echo-Status": "409"}, timeout=10)
    assert resp.status_code == 409
    assert resp.headers["X-Echo-Extra"] == "yes"
    assert resp.json()["path"] == "/v1/executions/e-1"


def test_unknown_route_gets_404_json(gateway: str) -> None:
    resp = requests.get(gateway + "/v1/nowhere/at-all", timeout=10)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert body["error"] == "No route for GET /v1/nowhere/at-all" and body["error_code"] == "ROUTE_NOT_FOUND"
    assert body["execution_id"].startswith("gw_") and body["intent_type"] == "nowhere"


def test_trace_and_unknown_methods_get_405_in_the_error_shape(gateway: str) -> None:
    for method in ("TRACE", "BREW"):
        resp = requests.request(method, gateway + "/v1/artifacts/a-1", timeout=10)
        assert resp.status_code == 405, (method, resp.text)
        body = resp.json()
        assert body["error_code"] == "METHOD_NOT_ALLOWED" and body["execution_id"] and body["intent_type"] == "artifacts"
        assert resp.headers["Allow"] == "DELETE, GET"


def test_oversized_headers_get_a_4xx_in_the_error_shape(gateway: str) -> None:
    key = requests.post(gateway + "/v1/intents/ingest_file", headers={"Idempotency-Key": "k" * 10_000}, timeout=10)
    assert key.status_code == 400 and key.json()["error_code"] == "INVALID_IDEMPOTENCY_KEY"
    assert key.json()["intent_type"] == "ingest_file"
    token = requests.get(gateway + "/v1/artifacts", headers={"Authorization": "Bearer " + "t" * 20_000}, timeout=10)
    assert token.status_code == 401 and token.json()["error_code"] == "INVALID_TOKEN"
    # Over the HTTP parser's own line limit (64 KB): refused before any routing, still in our shape.
    huge = requests.get(gateway + "/v1/artifacts", headers={"Authorization": "Bearer " + "t" * 100_000}, timeout=10)
    assert huge.status_code == 400 and huge.json()["error_code"] == "HEADER_TOO_LARGE"
    assert huge.json()["execution_id"]
    other = requests.get(gateway + "/v1/artifacts", headers={"X-Note": "n" * 9000}, timeout=10)
    assert other.status_code == 400 and other.json()["error_code"] == "HEADER_TOO_LARGE"


def test_known_path_with_wrong_method_gets_405(gateway: str) -> None:
    resp = requests.put(gateway + "/v1/artifacts/a-1", data=b"{}", timeout=10)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "DELETE, GET"
    assert resp.json()["error_code"] == "METHOD_NOT_ALLOWED"


def test_body_over_32mb_is_refused_with_413(gateway: str) -> None:
    resp = requests.post(gateway + "/v1/intents/ingest_file", data=b"0" * (MAX_REQUEST_BYTES + 1), timeout=60)
    assert resp.status_code == 413
    assert resp.json()["error_code"] == "REQUEST_TOO_LARGE"


def test_body_of_exactly_32mb_is_forwarded(gateway: str) -> None:
    resp = requests.post(gateway + "/v1/intents/ingest_file", data=b"0" * MAX_REQUEST_BYTES, timeout=60)
    assert resp.status_code == 200
    assert resp.json()["body_length"] == MAX_REQUEST_BYTES


def test_chunked_body_over_32mb_is_refused_with_413(gateway: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(33):
            yield b"0" * (1024 * 1024)

    resp = requests.post(gateway + "/v1/intents/ingest_file", data=chunks(), timeout=60)
    assert resp.status_code == 413


def test_function_that_is_down_gets_502_json(tmp_path: Path) -> None:
    dead_port, gw_port = free_ports(2, avoid=(devstack.DEFAULT_GATEWAY_PORT,))
    probe = devstack.launch_gateway(
        gw_port, devstack.ROUTES_FILE, {"read-api": devstack.function_url(dead_port)}, {}, {"PATH": "/usr/bin"}, tmp_path
    )
    try:
        devstack.wait_all([probe], 30)
        resp = requests.get(devstack.function_url(gw_port) + "/v1/artifacts", timeout=10)
        assert resp.status_code == 502
        assert resp.json()["error_code"] == "UPSTREAM_UNAVAILABLE"
    finally:
        stop_processes([probe[0]])


def test_every_route_names_an_http_function_of_the_manifest() -> None:
    manifest = json.loads(devstack.FUNCTIONS_MANIFEST.read_text())["functions"]
    http = {f["name"] for f in manifest if devstack.SIGNATURE_BY_TRIGGER[f["trigger"]] == "http"}
    assert {r["function"] for r in ROUTES} <= http
