"""Identifiers and fingerprints. Stable ids are what make every redelivery a no-op."""

from __future__ import annotations

import hashlib
import re
import uuid

_ARTIFACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def content_fingerprint(content_sha256_hasher_after_content: hashlib._Hash, session_id: str) -> str:
    """sha256(content + session_id), per the seed; computed from a hasher that has already seen the content."""
    h = content_sha256_hasher_after_content.copy()
    h.update(session_id.encode())
    return h.hexdigest()


def file_id_for(tenant_id: str, fingerprint: str) -> str:
    """Same bytes in the same session of the same tenant always give the same file_id."""
    return f"file_{_digest('file', tenant_id, fingerprint)[:32]}"


def parsed_id_for(tenant_id: str, intent_id: str) -> str:
    return f"parsed_{_digest('parsed', tenant_id, intent_id)[:32]}"


def event_id_for(event_type: str, *keys: str) -> str:
    return f"evt_{_digest('event', event_type, *keys)[:40]}"


def command_id_for(command_type: str, *keys: str) -> str:
    # Cloud Tasks names allow letters, digits, hyphens and underscores.
    return f"{command_type.replace('_', '-')}-{_digest('command', command_type, *keys)[:40]}"


def stable_key(*parts: str) -> str:
    return _digest(*parts)


def safe_artifact_id(value: str) -> bool:
    """Whether a caller's id could name an artifact at all (anything else is simply not found, or a 400 as a filter)."""
    return bool(_ARTIFACT_ID.match(value)) and ".." not in value
