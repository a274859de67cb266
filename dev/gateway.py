"""The local API gateway: a threaded reverse proxy driven by infra/routes.json, the table production's gateway uses.

    python -m dev.gateway --port 8080 --routes infra/routes.json --upstream ingest-http=http://127.0.0.1:PORT ...

It routes by method and path template, forwards method, path, query, headers and body unchanged, and relays the
function's status, headers and body. It holds no auth logic: the functions verify tokens themselves.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import re
import secrets
import sys
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_REQUEST_BYTES = 32 * 1024 * 1024  # Cloud Functions (2nd gen) refuses larger HTTP requests with 413
DRAIN_LIMIT_BYTES = 256 * 1024 * 1024  # read (and drop) at most this much of a refused body so the client sees the 413
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
}
HEALTH_PATH = "/_gateway/health"
# gunicorn (functions-framework) refuses a header line over 8190 bytes with its own text page; the gateway answers
# first, in the service's error shape.
MAX_HEADER_FIELD_BYTES = 8190
MAX_IDEMPOTENCY_KEY = 255
# What BaseHTTPRequestHandler.send_error is asked to say, as (status, error_code) in the service's list.
PLATFORM_ERRORS = {
    400: (400, "BAD_REQUEST"),
    408: (408, "BAD_REQUEST"),
    414: (414, "REQUEST_TOO_LARGE"),
    431: (400, "HEADER_TOO_LARGE"),
    501: (405, "METHOD_NOT_ALLOWED"),
    505: (400, "BAD_REQUEST"),
}
APP_PREFIX = "/app"
# Our OpenLineage facets' schemas (shared/lineage/facets), where the local stack's LINEAGE_BASE_URL says they are.
LINEAGE_PREFIX = "/lineage"
LINEAGE_DIR = Path(__file__).resolve().parents[1] / "shared" / "lineage"
DEFAULT_APP_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"
APP_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
             ".json": "application/json", ".map": "application/json", ".ico": "image/x-icon", ".png": "image/png"}

log = logging.getLogger("gateway")


class RouteTableError(Exception):
    """The routing table is unreadable or inconsistent with the known functions."""


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    function: str
    pattern: re.Pattern[str]
    literal_segments: int


def compile_template(template: str) -> re.Pattern[str]:
    """`/v1/artifacts/{artifact_id}` -> a regex where each {param} matches one non-empty path segment."""
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def load_routes(path: Path, functions: set[str] | None = None) -> list[Route]:
    try:
        entries = json.loads(path.read_text())["routes"]
    except (OSError, ValueError, KeyError) as exc:
        raise RouteTableError(f"cannot read routes from {path}: {exc}") from exc
    routes = []
    for entry in entries:
        if functions is not None and entry["function"] not in functions:
            raise RouteTableError(f"route {entry['method']} {entry['path']} names unknown function {entry['function']}")
        template = entry["path"]
        literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
        routes.append(Route(entry["method"].upper(), template, entry["function"], compile_template(template), literal))
    # A literal segment beats a parameter when two templates match the same path.
    routes.sort(key=lambda r: -r.literal_segments)
    return routes


def operation_of(path: str) -> str:
    """The intent_type a gateway error names: the intent of an intents path, else the first path segment after /v1."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[:2] == ["v1", "intents"] and re.fullmatch(r"[a-z][a-z0-9_]{1,63}", parts[2]):
        return parts[2]
    if len(parts) >= 2 and parts[0] == "v1" and re.fullmatch(r"[a-z][a-z0-9_-]{1,63}", parts[1]):
        return parts[1].replace("-", "_")
    return "gateway"


def resolve(routes: list[Route], method: str, path: str) -> tuple[Route | None, list[str]]:
    """The route for method+path, or None with the methods the path does allow (empty: unknown path)."""
    allowed: list[str] = []
    for route in routes:
        if route.pattern.match(path):
            # A CORS preflight goes to the function that owns the path, as API Gateway's allowCors passes it through.
            if route.method == method or method == "OPTIONS":
                return route, []
            allowed.append(route.method)
    return None, sorted(set(allowed))


class BodyTooLarge(Exception):
    pass


class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-gateway"
    server: GatewayServer

    # -- plumbing ---------------------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
        path = urllib.parse.urlsplit(getattr(self, "path", "") or "").path
        body = {"error": message, "error_code": code, "execution_id": f"gw_{secrets.token_hex(16)}",
                "intent_type": operation_of(path)}
        self._send_json(status, body, extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP layer's own refusals (an unknown method, an oversized header) in the service's error shape."""
        status, error_code = PLATFORM_ERRORS.get(code, (code if 400 <= code < 500 else 400, "BAD_REQUEST"))
        self.close_connection = True  # the rest of the request was not read
        if not hasattr(self, "command") or not self.command:
            self.command = "GET"  # so _send_json writes the body
        extra = {"Connection": "close"}
        if status == 405:
            _, allowed = resolve(self.server.routes, self.command, urllib.parse.urlsplit(self.path).path)
            extra["Allow"] = ", ".join(allowed or ["GET", "POST", "DELETE", "OPTIONS"])
            message = f"Method {self.command[:16]!r} is not allowed"
        elif error_code == "HEADER_TOO_LARGE":
            message = f"A request header is larger than {MAX_HEADER_FIELD_BYTES} bytes"
        self._error(status, error_code, message or "Bad request", extra)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError as exc:
            raise ValueError("invalid Content-Length") from exc
        if length < 0:
            raise ValueError("invalid Content-Length")
        if length > MAX_REQUEST_BYTES:
            self._drain(length)
            raise BodyTooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        too_large = False
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise ValueError("invalid chunked body") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            data = self.rfile.read(size)
            self.rfile.readline(8)
            if total > MAX_REQUEST_BYTES:
                too_large = True
                chunks.clear()
                if total > DRAIN_LIMIT_BYTES:
                    break
            elif not too_large:
                chunks.append(data)
        if too_large:
            raise BodyTooLarge
        return b"".join(chunks)

    def _drain(self, length: int) -> None:
        remaining = min(length, DRAIN_LIMIT_BYTES)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1024 * 1024))
            if not chunk:
                break
            remaining -= len(chunk)

    # -- request handling -------------------------------------------------------------------------------------------
    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_REQUEST_BYTES:
            self._too_large()
            return False
        return super().handle_expect_100()

    def _too_large(self) -> None:
        self.close_connection = True
        self._error(
            413,
            "REQUEST_TOO_LARGE",
            f"Request body exceeds the {MAX_REQUEST_BYTES // (1024 * 1024)} MB limit",
            {"Connection": "close"},
        )

    def _dispatch(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path or "/"
        if path == HEALTH_PATH and self.command == "GET":
            self._send_json(200, {"status": "ok", "routes": len(self.server.routes)})
            return
        if path == APP_PREFIX or path.startswith(APP_PREFIX + "/"):
            serve_app(self, path)
            return
        if path.startswith(LINEAGE_PREFIX + "/") and self.command in ("GET", "HEAD"):
            serve_lineage_schema(self, path)
            return
        route, allowed = resolve(self.server.routes, self.command, path)
        try:
            body = self._read_body()
        except BodyTooLarge:
            self._too_large()
            return
        except ValueError as exc:
            self.close_connection = True
            self._error(400, "BAD_REQUEST", str(exc), {"Connection": "close"})
            return
        refused = self._refuse_headers() if route is not None else None
        if refused is not None:
            self.close_connection = True
            self._error(*refused)
            return
        if route is None:
            if allowed:
                self._error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"Method {self.command} is not allowed for {path}",
                    {"Allow": ", ".join(allowed)},
                )
            else:
                self._error(404, "ROUTE_NOT_FOUND", f"No route for {self.command} {path}")
            return
        self._forward(route, body)

    def _refuse_headers(self) -> tuple[int, str, str] | None:
        """Headers the function's server would refuse with a page outside our shape, refused here in it."""
        for key, value in self.headers.items():
            name = key.lower()
            if name == "idempotency-key" and len(value) > MAX_IDEMPOTENCY_KEY:
                return 400, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 printable characters."
            if len(key) + len(value) + 2 > MAX_HEADER_FIELD_BYTES:
                if name in ("authorization", "x-forwarded-authorization"):
                    return 401, "INVALID_TOKEN", "The bearer token is too long to be valid."
                return 400, "HEADER_TOO_LARGE", f"Header {key[:64]!r} is larger than {MAX_HEADER_FIELD_BYTES} bytes."
        return None

    def _forward(self, route: Route, body: bytes) -> None:
        upstream = self.server.upstreams.get(route.function)
        if upstream is None:
            self._error(502, "UPSTREAM_UNAVAILABLE", f"Function {route.function} is not running")
            return
        target = urllib.parse.urlsplit(upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        headers["Host"] = target.netloc
        headers["Content-Length"] = str(len(body))
        headers["X-Forwarded-For"] = self.client_address[0]
        headers["X-Forwarded-Host"] = self.headers.get("Host", "")
        headers["X-Forwarded-Proto"] = "http"
        if not any(k.lower() in ("x-cloud-trace-context", "traceparent") for k in headers):
            # Google's front end starts a trace for every request; the functions log it.
            headers["X-Cloud-Trace-Context"] = f"{secrets.token_hex(16)}/{secrets.randbits(63)};o=1"
        timeout = self.server.timeouts.get(route.function, 3600) + 5
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=timeout)
        started = time.monotonic()
        try:
            # putrequest directly: http.client.request would add an Accept-Encoding the client never sent.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            payload = resp.read()
        except TimeoutError:
            self._error(504, "UPSTREAM_TIMEOUT", f"Function {route.function} did not answer within {timeout}s")
            return
        except OSError as exc:
            self._error(502, "UPSTREAM_UNAVAILABLE", f"Function {route.function} is not reachable: {exc}")
            return
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() not in ("content-length", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Gateway-Function", route.function)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        log.debug(
            "%s %s -> %s %s in %.0f ms",
            self.command,
            self.path,
            route.function,
            resp.status,
            (time.monotonic() - started) * 1000,
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def serve_app(handler: GatewayHandler, path: str) -> None:
    """The built web app (web/dist) under /app/, as production's static hosting serves it: a file that exists is
    served as is, a path with no file extension gets index.html (the app's own routes survive a reload), anything
    else is 404. POST /app/dev-token is the local sign-in: the dev issuer mints a token, as `python -m dev.token`."""
    if path == APP_PREFIX + "/dev-token" and handler.command == "POST":
        _mint_dev_token(handler)
        return
    if handler.command not in ("GET", "HEAD"):
        handler._error(405, "METHOD_NOT_ALLOWED", f"Method {handler.command} is not allowed for {path}", {"Allow": "GET, HEAD"})
        return
    if path == APP_PREFIX:
        handler.send_response(308)
        handler.send_header("Location", APP_PREFIX + "/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    app_dir = handler.server.app_dir.resolve()
    index = app_dir / "index.html"
    if not index.is_file():
        handler._error(404, "ROUTE_NOT_FOUND", f"The web app is not built ({index} is missing): run `make web`")
        return
    relative = urllib.parse.unquote(path[len(APP_PREFIX) + 1 :])
    target = (app_dir / relative).resolve() if relative else index
    if not target.is_relative_to(app_dir) or not target.is_file():
        if Path(relative).suffix:
            handler._error(404, "ROUTE_NOT_FOUND", f"No file {path}")
            return
        target = index
    body = target.read_bytes()
    handler.send_response(200)
    handler.send_header("Content-Type", APP_TYPES.get(target.suffix, "application/octet-stream"))
    handler.send_header("Content-Length", str(len(body)))
    # Hashed assets never change; index.html must be revalidated so a new build is picked up.
    handler.send_header("Cache-Control", "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def serve_lineage_schema(handler: GatewayHandler, path: str) -> None:
    """A facet schema shipped in shared/lineage/facets/, as the repository's raw file serves it in production."""
    target = (LINEAGE_DIR / urllib.parse.unquote(path[len(LINEAGE_PREFIX) + 1 :])).resolve()
    if not target.is_relative_to(LINEAGE_DIR / "facets") or target.suffix != ".json" or not target.is_file():
        handler._error(404, "ROUTE_NOT_FOUND", f"No file {path}")
        return
    body = target.read_bytes()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/schema+json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def _mint_dev_token(handler: GatewayHandler) -> None:
    from dev.token import mint_token

    try:
        body = json.loads(handler._read_body() or b"{}")
        tenant, user = str(body["tenant"]).strip(), str(body["user"]).strip()
    except (ValueError, KeyError, TypeError, BodyTooLarge):
        handler._error(400, "BAD_REQUEST", "Send {\"tenant\": ..., \"user\": ...} to sign in")
        return
    if not tenant or not user:
        handler._error(400, "BAD_REQUEST", "Enter a tenant and a user to sign in")
        return
    handler._send_json(200, {"token": mint_token(tenant, user), "tenant": tenant, "user": user})


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        routes: list[Route],
        upstreams: dict[str, str],
        timeouts: dict[str, int] | None = None,
        app_dir: Path = DEFAULT_APP_DIR,
    ) -> None:
        self.routes = routes
        self.upstreams = upstreams
        self.timeouts = timeouts or {}
        self.app_dir = app_dir
        super().__init__(address, GatewayHandler)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    result = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise SystemExit(f"{flag} expects NAME=VALUE, got {value!r}")
        result[name] = rest
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--routes", type=Path, default=Path(__file__).resolve().parents[1] / "infra" / "routes.json")
    parser.add_argument("--upstream", action="append", default=[], help="FUNCTION=URL, once per function")
    parser.add_argument("--timeout", action="append", default=[], help="FUNCTION=SECONDS, the function's timeout")
    parser.add_argument("--app-dir", type=Path, default=DEFAULT_APP_DIR, help="the built web app, served at /app/")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    upstreams = _pairs(args.upstream, "--upstream")
    timeouts = {k: int(v) for k, v in _pairs(args.timeout, "--timeout").items()}
    try:
        routes = load_routes(args.routes)
        for name in sorted({r.function for r in routes} - set(upstreams)):
            log.warning("no upstream for %s: its routes answer 502", name)
        server = GatewayServer((args.host, args.port), routes, upstreams, timeouts, args.app_dir)
    except (RouteTableError, OSError) as exc:
        log.error("gateway cannot start: %s", exc)
        return 1
    log.info("gateway on http://%s:%s with %d routes", args.host, server.server_address[1], len(routes))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
