"""Where ingestctl keeps its state (the user's config dir) and which API it talks to."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

APP = "ingestctl"
SOURCE_ROOT = Path(__file__).resolve().parents[1]


class UsageError(Exception):
    """The command line itself is wrong or incomplete: exit code 2."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Atomic write, readable by the user alone (0600) from the first byte."""
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ---- the API --------------------------------------------------------------------------------------------------------

def stack_file() -> Path | None:
    """The local stack's state file: in this directory or a parent, else in the checkout ingestctl runs from."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, SOURCE_ROOT):
        candidate = folder / ".local" / "stack.json"
        if candidate.is_file():
            return candidate
    return None


def resolve_api(option: str | None) -> str:
    if option:
        return option.rstrip("/")
    found = stack_file()
    if found is not None:
        url = (read_json(found) or {}).get("gateway_url")
        if url:
            return str(url).rstrip("/")
    env = os.environ.get("INGEST_API")
    if env:
        return env.rstrip("/")
    raise UsageError("no API to talk to: pass --api URL, set INGEST_API, or start the local stack with `make up`")


# ---- credentials ------------------------------------------------------------------------------------------------------

def credentials_file() -> Path:
    return config_dir() / "credentials.json"


def token_claims(token: str) -> dict[str, Any]:
    """The token's claims, unverified: only to show who is signed in and to key local state."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_login(api: str, token: str) -> dict[str, Any]:
    claims = token_claims(token)
    entry = {"token": token, "tenant": claims.get("tenant_id") or (claims.get("firebase") or {}).get("tenant"),
             "user": claims.get("sub"), "session": claims.get("sid"), "expires_at": claims.get("exp")}
    current = read_json(credentials_file()) or {}
    found = current.get("logins")
    logins: dict[str, Any] = found if isinstance(found, dict) else {}
    logins[api] = entry
    write_private(credentials_file(), {"logins": logins})
    return entry


def load_login(api: str) -> dict[str, Any] | None:
    logins = (read_json(credentials_file()) or {}).get("logins") or {}
    entry = logins.get(api)
    return entry if isinstance(entry, dict) and entry.get("token") else None


# ---- per-file upload state ----------------------------------------------------------------------------------------------

def uploads_dir() -> Path:
    return config_dir() / "uploads"
