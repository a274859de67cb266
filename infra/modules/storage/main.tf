# Four buckets, none public: every object is reached through a function's service account or a short-lived
# signed URL. Uploads is the only bucket wired to ingest (see the platform's ingest-finalize trigger).

locals {
  # infra/cors.json is the one declaration; the local storage emulator reads it too. A bucket's response_header list
  # is both what a preflight may request and what a browser may read from the answer.
  upload_cors  = jsondecode(file("${path.module}/../../cors.json")).upload
  cors_headers = distinct(concat(local.upload_cors.request_headers, local.upload_cors.response_headers))
}

# Signed-URL PUT target. Working material: what is never saved expires.
resource "google_storage_bucket" "uploads" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs (storage DATA_READ/DATA_WRITE, enabled in the platform module), not by legacy usage logs
  # checkov:skip=CKV_GCP_78: working material is meant to disappear; versions would keep deleted uploads past their lifecycle
  project                     = var.project_id
  name                        = "${var.name_prefix}-uploads"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(var.labels, { data = "working-material" })

  # Deleted working material should be gone, not kept for a week by soft delete.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.working_material_ttl_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      origin          = var.cors_origins
      method          = local.upload_cors.methods
      response_header = local.cors_headers
      max_age_seconds = local.upload_cors.max_age_seconds
    }
  }
}

# Parse output (payloads of parsed_content artifacts). A separate bucket, so writing here can never trigger ingest.
resource "google_storage_bucket" "derived" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs (storage DATA_READ/DATA_WRITE, enabled in the platform module), not by legacy usage logs
  # checkov:skip=CKV_GCP_78: working material is meant to disappear; versions would keep deleted uploads past their lifecycle
  project                     = var.project_id
  name                        = "${var.name_prefix}-derived"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(var.labels, { data = "working-material" })

  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.working_material_ttl_days
    }
    action {
      type = "Delete"
    }
  }

  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      origin          = var.cors_origins
      method          = ["GET", "HEAD"]
      response_header = ["Content-Type"]
      max_age_seconds = 3600
    }
  }
}

# Persistent materializations written by save: records of fact. Versioned, never expired by a rule. Object
# retention is enabled (it can only be set when the bucket is created): a regulatory_7y record's objects carry a
# Locked retention that nobody, however privileged, can shorten or delete before its retainUntilTime.
resource "google_storage_bucket" "records" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs (storage DATA_READ/DATA_WRITE, enabled in the platform module), not by legacy usage logs
  project                     = var.project_id
  name                        = "${var.name_prefix}-records"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(var.labels, { data = "records" })
  enable_object_retention     = true

  versioning {
    enabled = true
  }

  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      origin          = var.cors_origins
      method          = ["GET", "HEAD"]
      response_header = ["Content-Type"]
      max_age_seconds = 3600
    }
  }
}

# Staged function archives, named by content hash; only the function build service account reads them.
resource "google_storage_bucket" "sources" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs (storage DATA_READ/DATA_WRITE, enabled in the platform module), not by legacy usage logs
  project                     = var.project_id
  name                        = "${var.name_prefix}-function-sources"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(var.labels, { data = "build" })

  versioning {
    enabled = true
  }

  # A live function's archive is a live object: Cloud Run rebuilds from it (runtime updates, redeploys), so no rule
  # may delete it by age. Terraform deletes an archive when a new hash replaces it; versioning keeps it as
  # noncurrent, and only noncurrent versions expire, 30 days on (a rollback re-stages from git anyway).
  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
}
