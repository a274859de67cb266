"""Bearer-token verification with google-auth: the local dev issuer, or Identity Platform in production."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from google.auth import exceptions as auth_exc
from google.auth import jwt
from google.auth.transport import requests as auth_requests

from shared.domain.errors import TransientError, Unauthenticated, echo
from shared.ports import Principal

TENANT_ADMIN_ROLE = "tenant_admin"  # in the `roles` custom claim; the only claim that may release a permanent record
_CLAIM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
# google-auth raises TypeError or KeyError (not ValueError) for claims of the wrong type, e.g. a string `exp`.
_REFUSED = (ValueError, TypeError, KeyError, OverflowError, auth_exc.GoogleAuthError)


def _principal(claims: Mapping[str, Any]) -> Principal:
    raw_firebase = claims.get("firebase")
    firebase: Mapping[str, Any] = raw_firebase if isinstance(raw_firebase, dict) else {}
    tenant = claims.get("tenant_id") or firebase.get("tenant")
    user = claims.get("sub") or claims.get("user_id")
    # A session is one sign-in unless the issuer names it: Identity Platform's auth_time marks the sign-in.
    session = claims.get("sid") or claims.get("session_id") or (f"auth{claims['auth_time']}" if claims.get("auth_time") else None)
    for name, value in (("tenant", tenant), ("user", user), ("session", session)):
        if not isinstance(value, str) or not _CLAIM_ID.match(value):
            raise Unauthenticated(f"The token carries no valid {name}.", code="INVALID_TOKEN")
    solution = claims.get("solution_id")
    if solution is not None and (not isinstance(solution, str) or not _CLAIM_ID.match(solution)):
        raise Unauthenticated("The token carries an invalid solution_id.", code="INVALID_TOKEN")
    roles = claims.get("roles")
    admin = isinstance(roles, list) and TENANT_ADMIN_ROLE in roles
    return Principal(tenant_id=str(tenant), user_id=str(user), session_id=str(session), solution_id=solution,
                     tenant_admin=admin)


class DevTokenVerifier:
    def __init__(self, public_key_file: str, audience: str, issuer: str):
        with open(public_key_file, "rb") as fh:
            self._cert = fh.read()
        self._audience = audience
        self._issuer = issuer

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, certs=self._cert, audience=self._audience)
        except _REFUSED as exc:
            raise Unauthenticated(f"The bearer token is not valid: {echo(exc, 200)}", code="INVALID_TOKEN") from None
        if claims.get("iss") != self._issuer:
            raise Unauthenticated("The bearer token has the wrong issuer.", code="INVALID_TOKEN")
        return _principal(claims)


class IdentityPlatformVerifier:
    """Identity Platform ID tokens: RS256 over the x509 certificates Google publishes, kept for their Cache-Control
    max-age (fetching them per request would add a round trip to every call), fetched again for an unknown key id
    (Google rotates keys), at most once a minute so tokens with made-up key ids cannot drive a fetch per request."""

    REFETCH_UNKNOWN_KID_AFTER = 60.0

    def __init__(self, audience: str, issuer: str, certs_url: str, clock: Callable[[], float] = time.monotonic):
        self._audience = audience
        self._issuer = issuer
        self._certs_url = certs_url
        self._request = auth_requests.Request()
        self._clock = clock
        self._certs: dict[str, str] = {}
        self._certs_until = 0.0
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _fetch_certs(self) -> None:
        response = self._request(self._certs_url, method="GET")
        if response.status != 200:
            raise auth_exc.TransportError(f"certificates answered {response.status}")
        certs = json.loads(response.data)
        if not isinstance(certs, dict) or not all(isinstance(v, str) for v in certs.values()):
            raise auth_exc.TransportError("certificates are not a map of key id to x509 certificate")
        max_age = re.search(r"max-age=(\d+)", response.headers.get("cache-control", "") or "")
        self._certs = certs
        self._fetched_at = self._clock()
        self._certs_until = self._fetched_at + (int(max_age.group(1)) if max_age else 0)

    def _certs_for(self, kid: str | None) -> dict[str, str]:
        with self._lock:  # one fetch at a time: instances serve concurrent requests
            now = self._clock()
            rotated = kid and kid not in self._certs and now - self._fetched_at >= self.REFETCH_UNKNOWN_KID_AFTER
            if now >= self._certs_until or rotated:
                self._fetch_certs()
            return self._certs

    def verify(self, token: str) -> Principal:
        try:
            header = json.loads(_b64decode(token.split(".", 1)[0]))
            certs = self._certs_for(header.get("kid") if isinstance(header, dict) else None)
            claims = jwt.decode(token, certs=certs, audience=self._audience)
        except auth_exc.TransportError as exc:  # not the caller's fault: a retry may pass
            raise TransientError(f"The token certificates are unavailable: {exc}") from None
        except _REFUSED as exc:
            raise Unauthenticated(f"The bearer token is not valid: {echo(exc, 200)}", code="INVALID_TOKEN") from None
        if claims.get("iss") != self._issuer:
            raise Unauthenticated("The bearer token has the wrong issuer.", code="INVALID_TOKEN")
        return _principal(claims)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
