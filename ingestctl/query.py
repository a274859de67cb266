"""`ingestctl query SQL`: read-only SQL over the signed-in tenant's READY structured records, in embedded DuckDB.

Why on the client: the service's read API already decides, from the verified token, which records are the tenant's
and hands out short-lived signed URLs for their Parquet; running the SQL here keeps arbitrary queries (and DuckDB)
out of the functions, and works the same on any one machine. Tenant isolation therefore comes from the token alone:
the CLI can only load what the API listed for it.

DuckDB is locked down before the caller's SQL runs: the database is built first (each record a table named by its
artifact id, plus the `records` catalog), then reopened read-only with external access off, extension
autoinstall/autoload off and the configuration locked, so `read_csv('/etc/passwd')`, `ATTACH`, `INSTALL`, `LOAD`,
`COPY ... TO` and every write are refused.

`--engine bigquery` runs the same SQL in BigQuery over the BigLake tables Terraform declares (infra/lineage), each
record a CTE named by its artifact id over its dataset's table, so the row access policies decide the tenant there.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import requests

from ingestctl.client import Api, CliError

LOCKED = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "enable_external_access": False,
    "lock_configuration": True,
}
CATALOG = "records"
TABLE_PATH = re.compile(r"tables/dataset=([a-z0-9_]+)/tenant_id=[^/]+/artifact_id=[^/]+/data\.parquet$")


@dataclass(frozen=True)
class Record:
    artifact_id: str
    ui_name: str
    row_count: int | None
    columns: list[str]
    saved_at: str
    uri: str  # the record's Parquet in the records bucket

    @property
    def dataset(self) -> str | None:
        found = TABLE_PATH.search(self.uri)
        return found.group(1) if found else None


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": [[_plain(v) for v in row] for row in self.rows]}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def tenant_records(api: Api) -> list[Record]:
    """The tenant's READY structured records, as the read API lists them for this token."""
    found: list[Record] = []
    token: str | None = None
    while True:
        params = {"artifact_type": "parsed_content", "lifecycle_state": "READY", **({"page_token": token} if token else {})}
        page = api.call("GET", "/v1/artifacts", expect=(200,), params=params)
        for artifact in page.get("artifacts", []):
            tables = [m for m in artifact.get("materializations") or []
                      if m.get("persistent") and m.get("format") == "parquet"]
            if not tables:
                continue  # not structured: nothing to query
            descriptor = artifact.get("semantic_descriptor") or {}
            found_schema = descriptor.get("schema")
            schema: list[Any] = found_schema if isinstance(found_schema, list) else []
            found.append(Record(
                artifact_id=artifact["artifact_id"], ui_name=str(artifact.get("ui_name") or ""),
                row_count=descriptor.get("record_count"), columns=[str(f.get("name")) for f in schema],
                saved_at=str(artifact.get("updated_at") or ""), uri=tables[0]["uri"]))
        token = page.get("next_page_token")
        if not token:
            return found


def cache_dir(api_url: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ingestctl" / "records"
    path = base / hashlib.sha256(api_url.encode()).hexdigest()[:16]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def fetch_parquet(api: Api, record: Record, into: Path) -> Path:
    """The record's Parquet through a signed URL, kept in the cache: a READY record never changes."""
    target = into / f"{record.artifact_id}.parquet"
    if target.exists():
        return target
    body = api.call("GET", f"/v1/artifacts/{record.artifact_id}", expect=(200,), params={"include_payload": "true"})
    parts = [p for p in (body.get("payload") or {}).get("parts", []) if p.get("format") == "parquet"]
    if not parts or not parts[0].get("download_url"):
        raise CliError(f"record {record.artifact_id} offers no Parquet to download")
    partial = target.with_suffix(".part")
    with requests.get(parts[0]["download_url"], stream=True, timeout=(15, 600)) as resp:
        if resp.status_code != 200:
            raise CliError(f"downloading record {record.artifact_id} answered HTTP {resp.status_code}")
        with partial.open("wb") as sink:
            for chunk in resp.iter_content(1 << 20):
                sink.write(chunk)
    partial.replace(target)
    return target


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def locked_database(records: list[Record], files: dict[str, Path], catalog: list[Record] | None = None) -> Iterator[Any]:
    """Build the tables, then hand out a read-only connection that can reach nothing else."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="ingestctl-query-") as tmp:
        path = str(Path(tmp) / "records.duckdb")
        build = duckdb.connect(path, config={k: v for k, v in LOCKED.items()
                                             if k not in ("enable_external_access", "lock_configuration")})
        try:
            build.execute(f"CREATE TABLE {CATALOG} (artifact_id VARCHAR, ui_name VARCHAR, row_count BIGINT, "
                          "columns VARCHAR[], saved_at TIMESTAMPTZ)")
            for record in records if catalog is None else catalog:
                build.execute(f"INSERT INTO {CATALOG} VALUES (?, ?, ?, ?, ?)", [  # noqa: S608 - a constant name, bound values
                    record.artifact_id, record.ui_name, record.row_count, record.columns, record.saved_at or None])
            for record in records:
                build.execute(f"CREATE TABLE {_ident(record.artifact_id)} AS SELECT * FROM read_parquet(?)",  # noqa: S608
                              [str(files[record.artifact_id])])
        finally:
            build.close()
        con = duckdb.connect(path, read_only=True, config=dict(LOCKED))
        try:
            yield con
        finally:
            con.close()


def run_duckdb(records: list[Record], files: dict[str, Path], sql: str, catalog: list[Record] | None = None) -> QueryResult:
    import duckdb

    with locked_database(records, files, catalog) as con:
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise CliError(f"query refused: {str(exc).splitlines()[0][:300]}", error_code="QUERY_REFUSED") from None
        if cursor.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cursor.description]
        return QueryResult(columns, [list(row) for row in cursor.fetchall()])


SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def bigquery_sql(records: list[Record], sql: str, project: str, dataset: str) -> tuple[str, list[dict[str, Any]]]:
    """The same SQL for BigQuery, with query parameters for every value: each record a CTE over its dataset's
    BigLake table, `records` a CTE of the catalog, and the double-quoted artifact ids (DuckDB identifiers) turned
    into BigQuery's backquotes. Names that go into the text are checked identifiers, never a caller's string."""
    if not (SAFE_ID.match(project) and SAFE_ID.match(dataset)):
        raise CliError("--bq-project and --bq-dataset must be plain identifiers")
    usable = [r for r in records if r.dataset is not None and SAFE_ID.match(r.artifact_id)]
    ctes = [f"`{r.artifact_id}` AS (SELECT * EXCEPT (tenant_id, artifact_id) FROM "  # noqa: S608 - checked names
            f"`{project}.{dataset}.{r.dataset}` WHERE artifact_id = @a{i})" for i, r in enumerate(usable)]
    ctes.append(f"{CATALOG} AS (SELECT * FROM UNNEST(@catalog))")  # noqa: S608 - a constant name
    params: list[dict[str, Any]] = [
        {"name": f"a{i}", "parameterType": {"type": "STRING"}, "parameterValue": {"value": r.artifact_id}}
        for i, r in enumerate(usable)]
    fields = [("artifact_id", {"type": "STRING"}), ("ui_name", {"type": "STRING"}), ("row_count", {"type": "INT64"}),
              ("columns", {"type": "ARRAY", "arrayType": {"type": "STRING"}}), ("saved_at", {"type": "TIMESTAMP"})]
    params.append({"name": "catalog", "parameterType": {"type": "ARRAY", "arrayType": {
        "type": "STRUCT", "structTypes": [{"name": n, "type": t} for n, t in fields]}},
        "parameterValue": {"arrayValues": [{"structValues": {
            "artifact_id": {"value": r.artifact_id}, "ui_name": {"value": r.ui_name},
            "row_count": {"value": None if r.row_count is None else str(r.row_count)},
            "columns": {"arrayValues": [{"value": c} for c in r.columns]},
            "saved_at": {"value": r.saved_at or None}}} for r in records]}})
    for r in usable:
        sql = sql.replace(f'"{r.artifact_id}"', f"`{r.artifact_id}`")
    return "WITH " + ",\n".join(ctes) + "\n" + sql, params


def run_bigquery(records: list[Record], sql: str, project: str, dataset: str) -> QueryResult:
    try:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession
    except ImportError:  # pragma: no cover - google-auth ships with the project's environments
        raise CliError("--engine bigquery needs google-auth") from None
    try:
        credentials, default_project = google.auth.default(scopes=["https://www.googleapis.com/auth/bigquery.readonly"])
    except google.auth.exceptions.DefaultCredentialsError:
        raise CliError("--engine bigquery needs Google credentials (gcloud auth application-default login)") from None
    session = AuthorizedSession(credentials)
    project = project or str(default_project or "")
    text, params = bigquery_sql(records, sql, project, dataset)
    body: dict[str, Any] = {"query": text, "queryParameters": params, "parameterMode": "NAMED", "useLegacySql": False, "timeoutMs": 60000}
    resp = session.post(f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}/queries", json=body, timeout=90)
    data = resp.json()
    if resp.status_code != 200:
        raise CliError(f"query refused: {data.get('error', {}).get('message', resp.status_code)}", error_code="QUERY_REFUSED")
    columns = [f["name"] for f in data.get("schema", {}).get("fields", [])]
    return QueryResult(columns, [[cell.get("v") for cell in row.get("f", [])] for row in data.get("rows", [])])


@click.command(name="query")
@click.argument("sql")
@click.option("--engine", type=click.Choice(["duckdb", "bigquery"]), default="duckdb", show_default=True,
              help="Embedded DuckDB here, or BigQuery over the deployment's BigLake tables.")
@click.option("--bq-project", default="", help="BigQuery project (default: the credentials').")
@click.option("--bq-dataset", default="records", show_default=True, help="BigQuery dataset of the record tables.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Machine-readable output.")
@click.pass_context
def query(ctx: click.Context, sql: str, engine: str, bq_project: str, bq_dataset: str, as_json: bool) -> int:
    """Read-only SQL over your tenant's READY structured records: each is a table named by its artifact id
    (quote it: "parsed_..."), and `records` lists them (artifact_id, ui_name, row_count, columns, saved_at)."""
    from rich.table import Table

    from ingestctl.cli import _state, emit, out

    state = _state(ctx, as_json)
    api = state.client()
    records = tenant_records(api)
    if engine == "bigquery":
        result = run_bigquery(records, sql, bq_project, bq_dataset)
    else:
        into = cache_dir(state.api_url())
        named = [r for r in records if r.artifact_id in sql]  # only the tables the SQL names are fetched
        result = run_duckdb(named, {r.artifact_id: fetch_parquet(api, r, into) for r in named}, sql, catalog=records)

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in result.columns:
            table.add_column(column)
        for row in result.rows:
            table.add_row(*("" if v is None else str(_plain(v)) for v in row))
        out.print(table)

    emit(state, result.as_json(), human)
    return 0
