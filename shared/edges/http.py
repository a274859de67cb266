"""The HTTP edge shared by every HTTP function: routing, authentication, intent submission, idempotency and the
error shape `{error, error_code, execution_id, intent_type}`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from shared.bootstrap import get_bus, get_services
from shared.domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PermanentError,
    TransientError,
    Unauthenticated,
    ValidationFailed,
    echo,
)
from shared.domain.ids import new_id
from shared.domain.intents import Intent, IntentEnvelope
from shared.domain.messages import Query, RunSweep, SubmitIntent
from shared.edges.idempotency import idempotent
from shared.edges.presenters import SUCCESS_STATUS, success_body
from shared.logs import TraceContext, get_logger, log_context, trace_from_headers
from shared.messagebus import ExecutionOutcome, MessageBus
from shared.ports import Principal, Services
from shared.runtime.validation import validate

log = get_logger(__name__)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Cloud-Trace-Context"
CORS_MAX_AGE_SECONDS = "3600"
MAX_JSON_DEPTH = 64  # deeper than any document the API takes; the parser's own limit is a RecursionError
RETRY_AFTER_SECONDS = "2"
MAX_TOKEN_CHARS = 8192  # an Identity Platform ID token is 1-2 KB; refuse anything bigger before decoding it
# The one place a kind of domain error becomes an HTTP status (most specific first).
_STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (PayloadTooLarge, 413), (ValidationFailed, 422),
    (BadRequest, 400),
)


def error_body(message: str, code: str, execution_id: str, intent_type: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "error_code": code, "execution_id": execution_id, "intent_type": intent_type}
    if details:
        body["details"] = details
    return body


def status_of(exc: Exception) -> int:
    """Client faults are 4xx; a permanent failure of the input is 422; a transient one 503; anything else is ours."""
    if isinstance(exc, DomainError):
        return next((status for kind, status in _STATUS_OF if isinstance(exc, kind)), 400)
    if isinstance(exc, PermanentError):
        return 422
    if isinstance(exc, TransientError):
        return 503
    return 500


def error_response_body(exc: Exception, execution_id: str, intent_type: str) -> dict[str, Any]:
    if isinstance(exc, DomainError):
        return error_body(exc.message, exc.code, execution_id, intent_type, exc.details)
    if isinstance(exc, PermanentError):
        return error_body(exc.message, exc.code, execution_id, intent_type)
    if isinstance(exc, TransientError):
        return error_body("A dependency is temporarily unavailable; retry with the same Idempotency-Key.", "UNAVAILABLE",
                          execution_id, intent_type)
    return error_body("Internal error; it has been logged.", "INTERNAL", execution_id, intent_type)


def outcome_response(outcome: ExecutionOutcome) -> tuple[int, dict[str, Any]]:
    """An execution's outcome as an HTTP answer: every body carries execution_id and intent_type."""
    if outcome.error is not None:
        return status_of(outcome.error), error_response_body(outcome.error, outcome.execution_id, outcome.intent_type)
    data = success_body(outcome.intent_type, outcome.result) if outcome.result is not None else {}
    # A body that describes an intent of its own (a pending intent) keeps that intent's type; the execution_id is
    # always the execution that answered.
    status = SUCCESS_STATUS.get(outcome.intent_type, 200)
    return status, {"intent_type": outcome.intent_type, **data, "execution_id": outcome.execution_id}


@dataclass
class Call:
    request: flask.Request
    principal: Principal
    params: dict[str, str]
    services: Services
    request_id: str

    @property
    def allowed_origin(self) -> str | None:
        """The browser's `Origin`, only when the deployment lists it in `cors_allowed_origins`."""
        return allowed_origin(self.request, self.services)

    @property
    def bus(self) -> MessageBus:
        return get_bus()

    def query(self, name: str) -> str | None:
        value = self.request.args.get(name)
        return value if value not in (None, "") else None

    def json_body(self) -> dict[str, Any]:
        raw = self.request.get_data(cache=True)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except RecursionError:
            raise BadRequest(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.",
                             code="INVALID_JSON") from None
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("The request body is not valid JSON.", code="INVALID_JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.", code="INVALID_JSON")
        if json_depth(data) > MAX_JSON_DEPTH:
            raise BadRequest(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.", code="INVALID_JSON")
        return data


def json_depth(value: Any) -> int:
    """How deeply containers nest, measured without recursion (a hostile body must not exhaust the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def allowed_origin(request: flask.Request, services: Services) -> str | None:
    origin = request.headers.get("Origin")
    return origin if origin and origin in services.settings.cors_allowed_origins else None


Handler = Callable[[Call], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    operation: str  # the intent_type that error bodies carry

    def match(self, path: str) -> dict[str, str] | None:
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template)) + "/?$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def bearer_token(request: flask.Request) -> str:
    # API Gateway moves the caller's token to X-Forwarded-Authorization when it authenticates to the backend.
    header = request.headers.get("X-Forwarded-Authorization") or request.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("A bearer token is required.", code="MISSING_TOKEN")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated(f"The bearer token is longer than {MAX_TOKEN_CHARS} characters.", code="INVALID_TOKEN")
    return token.strip()


def respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> flask.Response:
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)  # our own retries are spent; tell the caller when to try
    return flask.Response(json.dumps(body, default=str), status=status, mimetype="application/json", headers=headers)


def install_error_pages(errorhandler: Callable[[int], Callable[[Any], Any]]) -> None:
    """Answers the web framework gives before our routing runs (e.g. an id with a control character) use our shape too.

    Call with `functions_framework.errorhandler` at module level of a function's main.py."""

    def not_found(_: Exception) -> flask.Response:
        return respond(404, error_body("No such resource.", "ROUTE_NOT_FOUND", new_id("exec"), "unknown_route"))

    def not_allowed(_: Exception) -> flask.Response:
        return respond(405, error_body("Method not allowed.", "METHOD_NOT_ALLOWED", new_id("exec"), "unknown_route"))

    def bad_request(_: Exception) -> flask.Response:
        return respond(400, error_body("The request is malformed.", "BAD_REQUEST", new_id("exec"), "unknown_route"))

    def too_large(_: Exception) -> flask.Response:
        return respond(413, error_body("The request is too large.", "REQUEST_TOO_LARGE", new_id("exec"), "unknown_route"))

    def header_too_large(_: Exception) -> flask.Response:
        return respond(400, error_body("A request header is too large.", "HEADER_TOO_LARGE", new_id("exec"), "unknown_route"))

    errorhandler(400)(bad_request)
    errorhandler(404)(not_found)
    errorhandler(405)(not_allowed)
    errorhandler(413)(too_large)
    errorhandler(431)(header_too_large)


class HttpApp:
    def __init__(self, routes: list[Route]):
        self.routes = routes

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        services = get_services()
        request_id = new_id("exec")
        # A span of the caller's trace (the front end always sends one; a client may send its journey's), or a new trace.
        trace = trace_from_headers(request.headers)
        origin = request.headers.get("X-Origin-Execution-Id") or request_id
        operation = ""
        response = flask.Response(status=500)
        try:
            with log_context(origin_execution_id=origin):
                response, operation = self._dispatch(request, services, request_id, trace)
            return response
        finally:
            # One line per request: the http_requests and request_latency metrics count these (infra/monitoring).
            latency = time.perf_counter() - started
            with log_context(trace=trace, execution_id=request_id, origin_execution_id=origin):
                log.info("request served", extra={"fields": {
                    "operation": operation, "status_code": response.status_code,
                    "status_class": f"{response.status_code // 100}xx", "latency_ms": round(latency * 1000, 3),
                    "httpRequest": {"requestMethod": request.method, "requestUrl": request.path,
                                    "status": response.status_code, "latency": f"{latency:.6f}s"},
                }})

    def _dispatch(
        self, request: flask.Request, services: Services, request_id: str, trace: TraceContext
    ) -> tuple[flask.Response, str]:
        path = request.path
        matches = [(r, p) for r in self.routes if (p := r.match(path)) is not None]
        if not matches:
            return respond(404, error_body(f"No route for {echo(request.method, 16)} {echo(path)}", "ROUTE_NOT_FOUND",
                                           request_id, "unknown_route")), ""
        origin = request.headers.get("Origin")
        allowed = allowed_origin(request, services)
        if request.method == "OPTIONS":
            return self._preflight({r.method for r, _ in matches}, origin, allowed, request_id), "preflight"
        chosen = next(((r, p) for r, p in matches if r.method == request.method), None)
        if chosen is None:
            message = f"{echo(request.method, 16)} is not allowed on {echo(path)}"
            return respond(405, error_body(message, "METHOD_NOT_ALLOWED", request_id, matches[0][0].operation)), ""
        route, params = chosen
        response = self._handle(request, route, params, services, request_id, trace)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers.add("Vary", "Origin")
        return response, route.operation

    @staticmethod
    def _preflight(methods: set[str], origin: str | None, allowed_origin: str | None, request_id: str) -> flask.Response:
        """CORS preflight: answered before authentication, because browsers send no credentials with it."""
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        if origin is None:
            return flask.Response(status=204, headers={"Allow": allow})
        if allowed_origin is None:
            return respond(403, error_body(f"Origin {echo(origin)} may not call this API.", "ORIGIN_NOT_ALLOWED", request_id,
                                           "preflight"))
        return flask.Response(status=204, headers={
            "Allow": allow,
            "Access-Control-Allow-Origin": allowed_origin,
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE_SECONDS,
            "Vary": "Origin",
        })

    @staticmethod
    def _handle(
        request: flask.Request, route: Route, params: dict[str, str], services: Services, request_id: str, trace: TraceContext
    ) -> flask.Response:
        with log_context(trace=trace, intent_type=route.operation, execution_id=request_id):
            try:
                principal = services.verifier.verify(bearer_token(request))
                with log_context(tenant_id=principal.tenant_id):
                    status, body = route.handler(Call(request, principal, params, services, request_id))
                return respond(status, body)
            except (DomainError, PermanentError) as exc:
                return respond(status_of(exc), error_response_body(exc, request_id, route.operation))
            except RecursionError:
                log.warning("input nested too deeply", exc_info=True)
                return respond(400, error_body("The request is nested too deeply.", "INVALID_JSON", request_id, route.operation))
            except TransientError as exc:
                log.warning("transient failure", exc_info=True)
                return respond(503, error_response_body(exc, request_id, route.operation))
            except Exception as exc:
                log.exception("unexpected failure")
                return respond(500, error_response_body(exc, request_id, route.operation))


def idempotency_key(call: Call) -> str | None:
    key = call.request.headers.get("Idempotency-Key")
    if key is not None and (len(key) > 255 or not _IDEMPOTENCY_KEY.match(key)):
        raise BadRequest("Idempotency-Key must be 1-255 printable characters.", code="INVALID_IDEMPOTENCY_KEY")
    return key


@idempotent(lambda call: call.services.store, lambda call: call.services.settings.dedup_ttl_days)
def execute_once(call: Call, intent: Intent, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run an intent on the bus; with an Idempotency-Key, the same key from the same tenant returns the first answer
    with no second side effect (the same key with another request is 422 IDEMPOTENCY_KEY_REUSED)."""
    return outcome_response(call.bus.handle(SubmitIntent(intent, call.request_id)))


def submit_intent(intent_type: str) -> Handler:
    """`POST /v1/intents/{intent_type}`: idempotent by Idempotency-Key, executed on the bus."""

    def handler(call: Call) -> tuple[int, dict[str, Any]]:
        envelope = validate(IntentEnvelope, call.json_body())
        p = call.principal
        intent = Intent.create(
            intent_type, tenant_id=p.tenant_id, session_id=p.session_id, user_id=p.user_id, solution_id=p.solution_id,
            parameters=envelope.parameters, metadata=envelope.metadata, idempotency_key=idempotency_key(call),
            client_origin=call.allowed_origin,
        )
        return execute_once(call, intent, envelope.model_dump())

    return handler


def run_intent(call: Call, intent_type: str, parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A route whose body is not the intent envelope (pending intents, journeys, cancels, deletes) still runs as an
    intent, so its execution_id names a real execution with the lifecycle's stages, and it honours Idempotency-Key."""
    p = call.principal
    intent = Intent.create(intent_type, tenant_id=p.tenant_id, session_id=p.session_id, user_id=p.user_id,
                           solution_id=p.solution_id, parameters=parameters, idempotency_key=idempotency_key(call))
    return execute_once(call, intent, {"path": call.request.path, "parameters": parameters})


def query(name: str, *, path: tuple[str, ...] = (), params: tuple[str, ...] = ()) -> Handler:
    """A read route: its path parameters and query-string parameters become the query's arguments."""

    def handler(call: Call) -> tuple[int, dict[str, Any]]:
        args = {**{p: call.params[p] for p in path}, **{p: call.query(p) for p in params}}
        return 200, call.bus.handle(Query(name, call.principal, args))

    return handler


def command(build: Callable[[Call], Any]) -> Handler:
    """A route whose work is a command of its own (not an intent): the body is what its handler returns."""

    def handler(call: Call) -> tuple[int, dict[str, Any]]:
        return 200, call.bus.handle(build(call))

    return handler


def run_sweep() -> flask.Response:
    """Cloud Scheduler's call: one sweep, answered with its summary."""
    get_services()  # configures logging once per instance
    return respond(200, get_bus().handle(RunSweep()))


def openapi_response() -> flask.Response:
    """The API description is public: a client reads it before it has a token."""
    return respond(200, get_bus().handle(Query("openapi_document", None)))
