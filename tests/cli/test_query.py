"""`ingestctl query` as a user runs it, against the local stack: SQL over two saved CSV records gives the sums a person
computes from the CSVs, another tenant sees none of them, and file access, ATTACH, INSTALL, COPY and writes are
refused with one line. The stack's own lineage file holds every event, each valid against the OpenLineage spec."""

from __future__ import annotations

import csv
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.cli.test_ingestctl import SCRIPT, Cli, no_traceback
from tests.lineage.spec_check import event_errors

pytestmark = pytest.mark.stack
# ruff: noqa: S608 - the SQL here is the test's own, sent to the locked-down engine on purpose

INVOICES = b"invoice,customer,amount\nI-1,acme,120.50\nI-2,globex,99.25\nI-3,acme,10.00\n"
REFUNDS = b"refund,customer,amount\nR-1,acme,20.25\nR-2,initech,5.50\n"


def total(data: bytes, column: str) -> Decimal:
    return sum((Decimal(row[column]) for row in csv.DictReader(io.StringIO(data.decode()))), Decimal(0))


def signed_in(stack, tmp_path: Path, tenant: str) -> Cli:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: `make install` installs the ingestctl console script", pytrace=False)
    tool = Cli(stack.gateway_url, tmp_path / f"config-{tenant}", tmp_path)
    tool.env["XDG_CACHE_HOME"] = str(tmp_path / f"cache-{tenant}")
    done = tool("login", "--tenant", tenant, "--user", "ann", "--session", f"q-{time.monotonic_ns()}")
    assert done.returncode == 0, done.stderr
    return tool


def query(tool: Cli, sql: str) -> dict:
    done = tool("query", sql, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_query_sums_two_saved_records_sees_no_other_tenant_and_refuses_file_access(stack, tmp_path):
    owner = signed_in(stack, tmp_path, f"q-owner-{time.monotonic_ns()}")
    (tmp_path / "invoices.csv").write_bytes(INVOICES)
    (tmp_path / "refunds.csv").write_bytes(REFUNDS)
    done = owner("upload", str(tmp_path / "invoices.csv"), str(tmp_path / "refunds.csv"),
                 "--profile", "structured", "--wait", "--save", "--json", timeout=400)
    assert done.returncode == 0, done.stderr
    uploaded = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [u["status"] for u in uploaded] == ["completed", "completed"], uploaded

    catalog = query(owner, "SELECT artifact_id, ui_name, row_count, columns FROM records ORDER BY ui_name")
    assert catalog["columns"] == ["artifact_id", "ui_name", "row_count", "columns"]
    assert [(r[1], r[2], r[3]) for r in catalog["rows"]] == [
        ("invoices.csv", 3, ["invoice", "customer", "amount"]), ("refunds.csv", 2, ["refund", "customer", "amount"])]
    invoices, refunds = (r[0] for r in catalog["rows"])

    sums = query(owner, f'SELECT (SELECT sum(amount) FROM "{invoices}") AS invoiced, '
                        f'(SELECT sum(amount) FROM "{refunds}") AS refunded, '
                        f'(SELECT sum(amount) FROM "{invoices}") - (SELECT sum(amount) FROM "{refunds}") AS net')
    invoiced, refunded = total(INVOICES, "amount"), total(REFUNDS, "amount")
    assert sums["columns"] == ["invoiced", "refunded", "net"]
    assert [round(Decimal(str(v)), 2) for v in sums["rows"][0]] == [invoiced, refunded, invoiced - refunded]
    by_customer = query(owner, f'SELECT customer, sum(amount) FROM "{invoices}" GROUP BY customer ORDER BY customer')
    assert [(c, round(Decimal(str(v)), 2)) for c, v in by_customer["rows"]] == [
        ("acme", Decimal("130.50")), ("globex", Decimal("99.25"))]

    table = owner("query", "SELECT count(*) AS n FROM records")  # the human table
    assert table.returncode == 0 and "n" in table.stdout and "2" in table.stdout

    stranger = signed_in(stack, tmp_path, f"q-stranger-{time.monotonic_ns()}")
    assert query(stranger, "SELECT count(*) FROM records")["rows"] == [[0]]
    peek = stranger("query", f'SELECT sum(amount) FROM "{invoices}"')
    assert peek.returncode == 1 and len(peek.stderr.strip().splitlines()) == 1, peek.stderr

    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM '/etc/passwd'",
                f"ATTACH '{tmp_path / 'other.duckdb'}' AS other", "INSTALL httpfs", "LOAD httpfs",
                f"COPY (SELECT * FROM \"{invoices}\") TO '{tmp_path / 'leak.csv'}'", "CREATE TABLE t AS SELECT 1",
                f'DELETE FROM "{invoices}"', "SET enable_external_access = true"):
        refused = owner("query", sql)
        assert refused.returncode == 1, (sql, refused.stdout)
        assert len(refused.stderr.strip().splitlines()) == 1 and "query refused" in refused.stderr, (sql, refused.stderr)
        no_traceback(refused)
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.duckdb").exists()

    # the stack wrote every OpenLineage event of those executions to its lineage file, each one spec-valid
    lines = (stack.emulators.state_dir / "lineage" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events and all(event_errors(e) == [] for e in events)
    saved = {d["facets"]["artifact"]["artifactId"] for e in events if e["job"]["name"] == "save_materialization"
             and e["eventType"] == "COMPLETE" for d in e["outputs"]}
    assert {invoices, refunds} <= saved

    # our facet's _schemaURL resolves: the stack's gateway serves the schema shipped in shared/lineage/facets
    schema_url = next(d["facets"]["artifact"]["_schemaURL"] for e in events for d in e.get("outputs") or [])
    assert schema_url.startswith(f"{stack.gateway_url}/lineage/facets/ArtifactDatasetFacet.json#")
    assert {e["producer"] for e in events} == {f"{stack.gateway_url}/lineage"}
    served = requests.get(schema_url.split("#")[0], timeout=10)
    shipped = Path(__file__).resolve().parents[2] / "shared" / "lineage" / "facets" / "ArtifactDatasetFacet.json"
    assert served.status_code == 200 and served.json() == json.loads(shipped.read_text())
    for path in ("/lineage/facets/Missing.json", "/lineage/__init__.py", "/lineage/facets/%2e%2e/events.py"):
        assert requests.get(stack.gateway_url + path, timeout=10).status_code == 404, path
