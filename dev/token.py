"""Mint a bearer token that the local stack accepts.

    python -m dev.token --tenant T --user U [--session S] [--ttl SECONDS] [--role operator]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from google.auth import crypt, jwt

from dev.issuer import DEFAULT_KEY_DIR, DEV_AUDIENCE, DEV_ISSUER, DEV_KEY_ID, ensure_dev_keys


def mint_token(
    tenant: str,
    user: str,
    session: str | None = None,
    ttl_seconds: int = 3600,
    key_dir: Path = DEFAULT_KEY_DIR,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
    extra_claims: dict | None = None,
) -> str:
    keys = ensure_dev_keys(key_dir)
    signer = crypt.RSASigner.from_string(keys.private_key_file.read_bytes(), key_id=DEV_KEY_ID)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": user,
        "tenant_id": tenant,
        "sid": session or f"sess_{uuid.uuid4().hex[:16]}",
        "iat": now,
        "exp": now + ttl_seconds,
        **(extra_claims or {}),
    }
    return jwt.encode(signer, claims).decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.token", description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--session", default=None, help="session id; a new one is made when omitted")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    parser.add_argument("--role", action="append", default=[], help="a role claim (operator, tenant_admin); repeatable")
    args = parser.parse_args(argv)
    extra = {"roles": sorted(set(args.role))} if args.role else None
    sys.stdout.write(mint_token(args.tenant, args.user, args.session, args.ttl, extra_claims=extra) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
