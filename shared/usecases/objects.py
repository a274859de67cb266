"""Object names are chosen here, by the server: tenant, session and a server id. Never the client's name."""

from __future__ import annotations


def upload_object(tenant_id: str, session_id: str, upload_id: str) -> str:
    return f"tenants/{tenant_id}/sessions/{session_id}/uploads/{upload_id}"


def inline_object(tenant_id: str, session_id: str, file_id: str) -> str:
    return f"tenants/{tenant_id}/sessions/{session_id}/inline/{file_id}"


def parsed_prefix(tenant_id: str, artifact_id: str) -> str:
    return f"tenants/{tenant_id}/parsed/{artifact_id}/"


def record_prefix(tenant_id: str, artifact_id: str) -> str:
    return f"tenants/{tenant_id}/records/{artifact_id}/"


def parse_upload_object(name: str) -> tuple[str, str, str] | None:
    """(tenant, session, upload_id) for a name in the uploads layout, else None."""
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "tenants" or parts[2] != "sessions" or parts[4] != "uploads":
        return None
    tenant, session, upload_id = parts[1], parts[3], parts[5]
    if not (tenant and session and upload_id):
        return None
    return tenant, session, upload_id


def gs_uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def split_gs_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// uri: {uri}")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name
