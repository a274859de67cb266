"""Bearer-token verification with google-auth: the local dev issuer, or Identity Platform in production."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.auth import exceptions as auth_exc
from google.auth import jwt
from google.auth.transport import requests as auth_requests
from google.oauth2 import id_token

from shared.domain.errors import Unauthenticated, echo
from shared.ports import Principal

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
    return Principal(tenant_id=str(tenant), user_id=str(user), session_id=str(session), solution_id=solution)


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
    def __init__(self, audience: str, issuer: str, certs_url: str):
        self._audience = audience
        self._issuer = issuer
        self._certs_url = certs_url
        self._request = auth_requests.Request()

    def verify(self, token: str) -> Principal:
        try:
            claims = id_token.verify_token(token, self._request, audience=self._audience, certs_url=self._certs_url)
        except _REFUSED as exc:
            raise Unauthenticated(f"The bearer token is not valid: {echo(exc, 200)}", code="INVALID_TOKEN") from None
        if claims.get("iss") != self._issuer:
            raise Unauthenticated("The bearer token has the wrong issuer.", code="INVALID_TOKEN")
        return _principal(claims)
