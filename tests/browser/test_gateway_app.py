"""The local gateway serves the built app at /app/ as production's static hosting does, and signs people in with the
dev issuer. A gateway with no routes, on a free port, over a temporary app directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from google.auth import jwt

from dev.gateway import GatewayServer
from dev.issuer import DEFAULT_KEY_DIR, DEV_AUDIENCE, ensure_dev_keys


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    app = tmp_path / "dist"
    (app / "assets").mkdir(parents=True)
    (app / "index.html").write_text("<!doctype html><title>app</title>")
    (app / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for browsers")
    server = GatewayServer(("127.0.0.1", 0), [], {}, app_dir=app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_app_and_its_assets_are_served_under_app(gateway: str) -> None:
    index = requests.get(f"{gateway}/app/", timeout=5)
    assert index.status_code == 200 and "<title>app</title>" in index.text
    assert index.headers["Content-Type"].startswith("text/html") and index.headers["Cache-Control"] == "no-cache"
    asset = requests.get(f"{gateway}/app/assets/index-abc123.js", timeout=5)
    assert asset.status_code == 200 and asset.headers["Content-Type"] == "text/javascript"
    assert "immutable" in asset.headers["Cache-Control"]
    redirect = requests.get(f"{gateway}/app", timeout=5, allow_redirects=False)
    assert redirect.status_code == 308 and redirect.headers["Location"] == "/app/"


def test_app_routes_get_the_index_but_missing_files_and_paths_outside_the_app_do_not(gateway: str) -> None:
    assert "<title>app</title>" in requests.get(f"{gateway}/app/artifacts/abc", timeout=5).text
    missing = requests.get(f"{gateway}/app/config.json", timeout=5)  # no config.json: the app uses its defaults
    assert missing.status_code == 404 and missing.json()["error_code"] == "ROUTE_NOT_FOUND"
    escape = requests.get(f"{gateway}/app/..%2Fsecret.txt", timeout=5)
    assert "not for browsers" not in escape.text
    assert requests.put(f"{gateway}/app/", timeout=5).status_code == 405


def test_dev_sign_in_mints_a_token_for_the_tenant_and_user_the_functions_accept(gateway: str) -> None:
    answer = requests.post(f"{gateway}/app/dev-token", json={"tenant": "acme", "user": "alice"}, timeout=10)
    assert answer.status_code == 200
    public_key = ensure_dev_keys(DEFAULT_KEY_DIR).public_key_file.read_bytes()
    claims = jwt.decode(answer.json()["token"], certs=public_key, audience=DEV_AUDIENCE)
    assert (claims["tenant_id"], claims["sub"]) == ("acme", "alice") and claims["sid"]
    refused = requests.post(f"{gateway}/app/dev-token", json={"tenant": " ", "user": "alice"}, timeout=10)
    assert refused.status_code == 400 and refused.json()["error_code"] == "BAD_REQUEST"
