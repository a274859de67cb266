"""infra/modules/records read offline: BigLake tables over exactly the Hive layout the save writes, one row access
policy per tenant and table filtering on the tenant partition, a connection that reads only tables/, the lineage
producer grant for every function's account, and the functions told to send lineage to Dataplex."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from infra_support import MODULES, parse_tf_dir

from shared.usecases.objects import TABLES_ROOT, dataset_name, table_object

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def records() -> Any:
    return parse_tf_dir(MODULES / "records")


def test_each_dataset_table_reads_the_layout_the_save_writes_with_tenant_and_artifact_partitions(records):
    assert records.locals["tables_root"] == "gs://${var.records_bucket}/" + TABLES_ROOT.rstrip("/")
    table = records.resource("google_bigquery_table", "dataset")
    assert table["for_each"] == "${toset(var.record_datasets)}" and table["table_id"] == "${each.value}"
    config = table["external_data_configuration"][0]
    assert config["source_format"] == "PARQUET" and config["autodetect"] is True
    assert config["connection_id"] == "${google_bigquery_connection.biglake.name}"  # BigLake, not a plain external table
    hive = config["hive_partitioning_options"][0]
    assert hive["mode"] == "CUSTOM"

    # Substitute a real dataset into the declared strings and match the object name Python writes.
    bucket, dataset, tenant, artifact = "b", dataset_name("Invoices 2026-11.csv"), "acme", "parsed_1"
    assert dataset == "invoices_2026_11"
    root = f"gs://{bucket}/" + TABLES_ROOT.rstrip("/")

    def concrete(text: str) -> str:
        return text.replace("${local.tables_root}", root).replace("${each.value}", dataset)

    written = f"gs://{bucket}/" + table_object(tenant, dataset, artifact)
    (source_uri,) = (concrete(u) for u in config["source_uris"])
    assert written.startswith(source_uri.rstrip("*"))
    prefix = concrete(hive["source_uri_prefix"])
    keys = re.findall(r"\{(\w+):STRING\}", prefix)
    assert keys == ["tenant_id", "artifact_id"]
    pattern = re.escape(prefix.split("/{")[0]) + "".join(rf"/{k}=(?P<{k}>[^/]+)" for k in keys) + "/data\\.parquet$"
    found = re.match(pattern, written)
    assert found and found.groupdict() == {"tenant_id": tenant, "artifact_id": artifact}


def test_tenants_are_isolated_by_a_row_access_policy_per_tenant_and_table(records):
    policy = records.resource("google_bigquery_row_access_policy", "tenant")
    assert policy["for_each"] == "${local.policies}"
    assert policy["filter_predicate"] == 'tenant_id = "${each.value.tenant}"'  # the tenant partition column
    assert policy["grantees"] == "${each.value.members}"
    assert policy["table_id"] == "${google_bigquery_table.dataset[each.value.dataset].table_id}"
    # every (dataset, tenant) pair gets its policy: a table with none would show every tenant to its readers
    policies = records.locals["policies"]
    assert "var.record_datasets" in policies and "var.tenant_readers" in policies
    tenant_ids = records.variables["tenant_readers"]["validation"][0]["condition"]
    assert "^[A-Za-z0-9_-]{1,64}$" in tenant_ids  # no quote can reach the predicate
    # readers get the dataset's rows through BigQuery only: dataViewer on the dataset, never the bucket
    reader = records.resource("google_bigquery_dataset_iam_member", "reader")
    assert reader["role"] == "roles/bigquery.dataViewer" and reader["for_each"] == "${local.readers}"
    members = {r["member"] for r in records.resources_of("google_storage_bucket_iam_member").values()}
    assert members == {"serviceAccount:${google_bigquery_connection.biglake.cloud_resource[0].service_account_id}"}


def test_the_biglake_connection_reads_only_the_tables_prefix(records):
    grant = records.resource("google_storage_bucket_iam_member", "biglake_reads_tables")
    assert grant["role"] == "roles/storage.objectViewer"
    assert "objects/" + TABLES_ROOT in grant["condition"][0]["expression"]


def test_every_relaying_function_may_emit_lineage_events_with_the_least_role_and_the_apis_are_enabled(records, platform):
    producer = platform.resource("google_project_iam_member", "function_emits_lineage")
    assert producer["role"] == "roles/datalineage.producer"  # the least predefined role with processOpenLineageRunEvent
    assert "a.publish_events || a.enqueue_commands" in producer["for_each"]  # whoever commits outbox messages relays
    assert producer["member"] == "${local.function_member[each.key]}"
    services = platform.module("services")["services"]
    for api in ("datalineage.googleapis.com", "bigquery.googleapis.com", "bigqueryconnection.googleapis.com"):
        assert api in services
    wired = platform.module("records")
    assert wired["records_bucket"] == "${module.storage.records_bucket}"
    assert "${module.services}" in str(wired["depends_on"])


def test_deployed_functions_send_lineage_to_dataplex(evaluated):
    for name, env in {**evaluated["task_target_environment"], **evaluated["service_environment"]}.items():
        assert env["LINEAGE_SINK"] == "dataplex", name
        assert env["LINEAGE_NAMESPACE"].startswith("ingest."), name
        assert env["LINEAGE_BASE_URL"], name  # our facet's _schemaURL and the events' _producer


def test_the_facet_schema_url_is_the_repositorys_raw_file(platform):
    """With repo_url set, _schemaURL is {repo_url}/raw/main/shared/lineage/facets/ArtifactDatasetFacet.json: the file
    shipped in this repository (shared/lineage/facets), which a forge serves raw at that path."""
    base = platform.module("declarations")["lineage_base_url"]
    assert base == '${var.repo_url == "" ? "" : "${trimsuffix(var.repo_url, "/")}/raw/main/shared/lineage"}'
    from shared.lineage.events import FACET_FILE, Producer

    shipped = Path(__file__).resolve().parents[2] / "shared" / "lineage" / FACET_FILE
    assert shipped.is_file()
    url = Producer("https://github.com/o/r/raw/main/shared/lineage").facet_schema_url
    assert url == "https://github.com/o/r/raw/main/shared/lineage/facets/ArtifactDatasetFacet.json#/$defs/ArtifactDatasetFacet"
