# Records of fact that analysts can query, and where OpenLineage events go in production.
#
# - One BigLake table per record dataset over the Hive layout the save writes; tenant_id and artifact_id are its
#   partition columns.
# - Tenants are isolated by ROW ACCESS POLICIES, one per tenant and table, filtering on the tenant_id partition
#   column, rather than per-tenant authorized views: the tables span every tenant, so views would number
#   tenants x datasets and each would need its own authorization; a row policy travels with the table to every
#   query path, and its filter on a partition column prunes other tenants' files before BigQuery reads them. A
#   principal named by no policy sees no rows at all. Readers reach the objects only through the BigLake
#   connection, whose account alone may read tables/ in the records bucket.
# - The APIs are enabled with the platform's others (modules/platform, `services`); the functions' lineage grant is
#   in modules/platform/access.tf.

locals {
  tables_root = "gs://${var.records_bucket}/tables"
  policies = merge([
    for dataset in var.record_datasets : {
      for tenant, members in var.tenant_readers : "${dataset}/${tenant}" => {
        dataset = dataset
        tenant  = tenant
        members = members
      }
    }
  ]...)
  readers = toset(flatten(values(var.tenant_readers)))
}

resource "google_bigquery_dataset" "records" {
  # checkov:skip=CKV_GCP_81: Google-managed encryption, as the records bucket itself
  project     = var.project_id
  dataset_id  = var.dataset_id
  location    = var.location
  description = "Records of fact: one BigLake table per record dataset; row access policies isolate tenants."
  labels      = var.labels
}

resource "google_bigquery_connection" "biglake" {
  project       = var.project_id
  connection_id = "records-biglake"
  location      = var.location
  friendly_name = "Records bucket (BigLake)"
  description   = "Reads the records bucket's tables/ for the BigLake tables; readers never get the bucket."
  cloud_resource {}
}

# The connection reads the table objects and nothing else of the bucket (listing needs the bucket itself).
resource "google_storage_bucket_iam_member" "biglake_reads_tables" {
  bucket = var.records_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_bigquery_connection.biglake.cloud_resource[0].service_account_id}"
  condition {
    title       = "tables-only"
    description = "Only the Hive-partitioned record tables."
    expression  = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${var.records_bucket}/objects/tables/\")"
  }
}

resource "google_bigquery_table" "dataset" {
  # checkov:skip=CKV_GCP_121: deletion_protection is var.deletion_protection (true in prod), which checkov cannot resolve
  # checkov:skip=CKV_GCP_80: a BigLake table holds no data of its own; the Parquet objects are the records bucket's
  for_each = toset(var.record_datasets)

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.records.dataset_id
  table_id            = each.value
  description         = "READY structured records of dataset ${each.value}, every tenant; rows filtered per tenant by row access policies."
  deletion_protection = var.deletion_protection
  labels              = var.labels

  external_data_configuration {
    autodetect    = true
    source_format = "PARQUET"
    connection_id = google_bigquery_connection.biglake.name
    source_uris   = ["${local.tables_root}/dataset=${each.value}/*"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "${local.tables_root}/dataset=${each.value}/{tenant_id:STRING}/{artifact_id:STRING}"
      require_partition_filter = false
    }
  }
}

resource "google_bigquery_row_access_policy" "tenant" {
  for_each = local.policies

  project          = var.project_id
  dataset_id       = google_bigquery_dataset.records.dataset_id
  table_id         = google_bigquery_table.dataset[each.value.dataset].table_id
  policy_id        = "tenant_${replace(each.value.tenant, "-", "_")}"
  filter_predicate = "tenant_id = \"${each.value.tenant}\""
  grantees         = each.value.members
}

# Readers may read the tables' metadata and rows; the row access policies decide which rows.
resource "google_bigquery_dataset_iam_member" "reader" {
  for_each = local.readers

  project    = var.project_id
  dataset_id = google_bigquery_dataset.records.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = each.value
}
