"""The service's HTTP API as the CLI uses it: one session, the bearer token, errors turned into one readable line."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

TIMEOUT = 60
MAX_RETRIES = 4  # for 503 UNAVAILABLE and 429, honouring Retry-After
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CliError(Exception):
    """A failure to report in one line, with the service's error_code and execution_id when it gave them."""

    def __init__(self, message: str, *, error_code: str | None = None, execution_id: str | None = None,
                 status: int | None = None, details: Any = None):
        super().__init__(message)
        self.details = details
        self.message = message
        self.error_code = error_code
        self.execution_id = execution_id
        self.status = status

    def line(self) -> str:
        extra = [f"{k}={v}" for k, v in (("error_code", self.error_code), ("execution_id", self.execution_id)) if v]
        return f"error: {self.message}" + (f" ({', '.join(extra)})" if extra else "")

    def as_json(self) -> dict[str, Any]:
        return {"error": self.message, "error_code": self.error_code, "execution_id": self.execution_id}


class Api:
    def __init__(self, base: str, token: str | None):
        self.base = base
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["User-Agent"] = "ingestctl"

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> dict[str, Any]:
        if method.upper() in UNSAFE_METHODS:
            kwargs["headers"] = with_idempotency_key(kwargs.get("headers"))
        for attempt in range(MAX_RETRIES + 1):
            try:
                resp = self.http.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                if attempt < MAX_RETRIES:
                    time.sleep(min(2 ** attempt, 10))
                    continue
                raise CliError(f"cannot reach the API at {self.base}: {type(exc).__name__}") from None
            if resp.status_code in (429, 503) and attempt < MAX_RETRIES:
                time.sleep(_retry_after(resp, attempt))
                continue
            break
        if resp.status_code in expect:
            try:
                body = resp.json()
            except ValueError:
                raise CliError(f"{method} {path}: the API answered {resp.status_code} with a body that is not JSON") from None
            return body if isinstance(body, dict) else {"items": body}
        raise error_from(resp, f"{method} {path}")


def with_idempotency_key(headers: dict[str, str] | None) -> dict[str, str]:
    """One key per call, kept across the call's own retries: a retry after a timeout whose first attempt did reach
    the service gets the first answer back instead of a second upload, parse or save."""
    merged = dict(headers or {})
    if not any(name.lower() == "idempotency-key" for name in merged):
        merged["Idempotency-Key"] = f"ingestctl-{uuid.uuid4().hex}"
    return merged


def _retry_after(resp: requests.Response, attempt: int) -> float:
    try:
        return min(float(resp.headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return float(min(2 ** attempt, 10))


def error_from(resp: requests.Response, what: str) -> CliError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return CliError(str(body["error"]), error_code=body.get("error_code"), execution_id=body.get("execution_id"),
                        status=resp.status_code, details=body.get("details"))
    return CliError(f"{what} answered HTTP {resp.status_code}", status=resp.status_code)
