"""Object names are chosen here, by the server: tenant, session and a server id. Never the client's name."""

from __future__ import annotations

import re

TABLES_ROOT = "tables/"  # in the records bucket: tables/dataset={d}/tenant_id={t}/artifact_id={a}/data.parquet


def upload_object(tenant_id: str, session_id: str, upload_id: str) -> str:
    return f"tenants/{tenant_id}/sessions/{session_id}/uploads/{upload_id}"


def inline_object(tenant_id: str, session_id: str, file_id: str) -> str:
    return f"tenants/{tenant_id}/sessions/{session_id}/inline/{file_id}"


def parsed_prefix(tenant_id: str, artifact_id: str) -> str:
    return f"tenants/{tenant_id}/parsed/{artifact_id}/"


def record_prefix(tenant_id: str, artifact_id: str) -> str:
    return f"tenants/{tenant_id}/records/{artifact_id}/"


def dataset_name(ui_name: str | None, declared: object = None) -> str:
    """The dataset a structured record belongs to: the one its metadata declares, else its file name's stem, as a
    lower-case identifier that BigQuery, DuckDB and a Hive path all accept."""
    raw = str(declared) if declared else (ui_name or "records").rsplit(".", 1)[0]
    name = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_")[:64] or "records"
    return name if not name[0].isdigit() else f"d_{name}"


def table_object(tenant_id: str, dataset: str, artifact_id: str) -> str:
    """A READY structured record's Parquet, Hive-style, dataset first so that one BigLake table per dataset spans
    every tenant (tenant_id and artifact_id become its partition columns): the documented, stable layout."""
    return f"{TABLES_ROOT}dataset={dataset}/tenant_id={tenant_id}/artifact_id={artifact_id}/data.parquet"


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
