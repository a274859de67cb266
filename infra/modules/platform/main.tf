# The whole product in one project: declarations -> APIs, storage, Firestore, messaging, the queue, the functions,
# the schedule and the public gateway. What each function may touch is in access.tf; who may call each function
# is in invokers.tf.

locals {
  labels = merge(var.labels, { app = "content-ingestion", environment = var.environment })

  consumer = one(module.declarations.by_trigger["pubsub"])
  # Two task targets: the parse worker (whose sizing the queue follows) and the AS2 deliverer, by entry point.
  task_target   = one([for n in module.declarations.by_trigger["task"] : n if module.declarations.functions[n].entry_point == "parse_worker"])
  as2_deliverer = one([for n in module.declarations.by_trigger["task"] : n if module.declarations.functions[n].entry_point == "as2_deliver"])
  scheduled_fns = toset(module.declarations.by_trigger["scheduler"])
  cost_guard    = one(module.declarations.by_trigger["budget"])

  bucket_names = {
    uploads = module.storage.uploads_bucket
    derived = module.storage.derived_bucket
    records = module.storage.records_bucket
  }

  # Every deployed function's module instance, by name.
  deployed = merge(module.task_targets, module.functions)

  build_service_account = "projects/${var.project_id}/serviceAccounts/${google_service_account.platform["function_builds"].email}"
}

data "google_project" "this" {
  project_id = var.project_id
}

module "declarations" {
  source = "../declarations"

  project_id               = var.project_id
  region                   = var.region
  environment              = var.environment
  staged_manifest_path     = var.staged_manifest_path
  buckets                  = local.bucket_names
  events_topic             = module.messaging.events_topic
  dead_letter_subscription = module.messaging.dead_letter_subscription
  tasks_queue              = module.tasks.name
  parse_worker_url         = module.task_targets[local.task_target].uri
  as2_deliver_url          = module.task_targets[local.as2_deliverer].uri
  as2_public_url           = var.as2_public_url
  function_uris            = { for name in module.declarations.public_functions : name => module.functions[name].uri }

  upload_url_ttl_seconds    = var.upload_url_ttl_seconds
  download_url_ttl_seconds  = var.download_url_ttl_seconds
  lease_seconds             = var.lease_seconds
  max_parse_attempts        = var.max_parse_attempts
  outbox_grace_seconds      = var.outbox_grace_seconds
  working_material_ttl_days = var.working_material_ttl_days
  dedup_ttl_days            = var.dedup_ttl_days
  abandoned_after_seconds   = var.abandoned_after_seconds
  journey_redrive_seconds   = var.journey_redrive_seconds
  cors_origins              = var.cors_origins
  openlineage_url           = var.openlineage_url
  # Our facet's schema, shipped in the repository at shared/lineage/facets/, is read raw from it.
  lineage_base_url = var.repo_url == "" ? "" : "${trimsuffix(var.repo_url, "/")}/raw/main/shared/lineage"
  log_level        = var.log_level

  documentai_processor_version = module.ocr.processor_version
}

# Records of fact in BigQuery (BigLake tables, row access policies) and the lineage producer grant.
module "records" {
  source     = "../records"
  depends_on = [module.services]

  project_id          = var.project_id
  location            = var.region
  records_bucket      = module.storage.records_bucket
  record_datasets     = var.record_datasets
  tenant_readers      = var.tenant_readers
  deletion_protection = var.delete_protection
  labels              = local.labels
}

module "ocr" {
  source     = "../ocr"
  depends_on = [module.services]

  project_id = var.project_id
  location   = var.ocr_location
}

module "services" {
  source = "../services"

  project_id = var.project_id
  services = [
    "apigateway.googleapis.com",
    "bigquery.googleapis.com",           # records of fact as BigLake tables (modules/records)
    "bigqueryconnection.googleapis.com", # the BigLake connection that reads the records bucket's tables/
    "datalineage.googleapis.com",        # OpenLineage RunEvents from the functions
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com", # the budget whose notifications reach the cost guard
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "compute.googleapis.com",    # the web app's HTTPS load balancer
    "documentai.googleapis.com", # OCR of scanned pages and images (../ocr)
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # signBlob for V4 signed URLs
    "identitytoolkit.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com", # our AS2 key (as2.tf)
    "servicecontrol.googleapis.com",
    "servicemanagement.googleapis.com",
    "storage.googleapis.com",
  ]
}

module "storage" {
  source     = "../storage"
  depends_on = [module.services]

  project_id                = var.project_id
  location                  = var.region
  name_prefix               = var.bucket_prefix
  cors_origins              = var.cors_origins
  working_material_ttl_days = var.working_material_ttl_days
  force_destroy             = var.force_destroy
  labels                    = local.labels
}

module "firestore" {
  source     = "../firestore"
  depends_on = [module.services]

  project_id        = var.project_id
  location_id       = var.firestore_location
  indexes           = module.declarations.firestore_indexes
  field_overrides   = module.declarations.firestore_field_overrides
  delete_protection = var.delete_protection
}

module "messaging" {
  source     = "../messaging"
  depends_on = [module.services]

  project_id                 = var.project_id
  project_number             = data.google_project.this.number
  consumer_name              = local.consumer
  consumer_uri               = module.functions[local.consumer].uri
  push_service_account_email = google_service_account.platform["pubsub_push"].email
  ack_deadline_seconds       = min(600, module.declarations.functions[local.consumer].timeout_seconds)
  max_delivery_attempts      = 5
  labels                     = local.labels
}

module "monitoring" {
  source     = "../monitoring"
  depends_on = [module.services]

  project_id               = var.project_id
  functions                = keys(module.declarations.functions)
  metrics_file             = "${path.module}/../../monitoring/metrics.json"
  consumer_subscription    = module.messaging.consumer_subscription
  dead_letter_subscription = module.messaging.dead_letter_subscription
  notification_channels    = var.notification_channels
  alert_email              = var.alert_email
  outbox_max_age_minutes   = var.outbox_alert_minutes
  repo_url                 = var.repo_url
  tasks_queue              = module.tasks.name
  scheduler_jobs           = [for fn in local.scheduled_fns : "${fn}-every-minute"]
  traffic_expected         = sort(local.scheduled_fns) # the sweep is called every minute, whatever the users do
  labels                   = local.labels
}

module "budget" {
  source     = "../budget"
  depends_on = [module.services]

  project_id                 = var.project_id
  project_number             = data.google_project.this.number
  environment                = var.environment
  billing_account            = var.billing_account
  monthly_amount             = var.monthly_budget
  currency_code              = var.budget_currency
  guard_uri                  = module.functions[local.cost_guard].uri
  push_service_account_email = google_service_account.platform["pubsub_push"].email
  notification_channels      = module.monitoring.channels
  labels                     = local.labels
}

module "identity" {
  source     = "../identity"
  depends_on = [module.services]

  project_id         = var.project_id
  authorized_domains = var.authorized_domains
  tenants            = var.identity_tenants
}

module "tasks" {
  source     = "../tasks"
  depends_on = [module.services]

  project_id                = var.project_id
  location                  = var.region
  max_concurrent_dispatches = module.declarations.functions[local.task_target].max_instances * module.declarations.functions[local.task_target].concurrency
  max_attempts              = var.max_parse_attempts + 2
}

# ---- Service accounts: one per function, one per calling service.

resource "google_service_account" "function" {
  for_each = module.declarations.functions

  project      = var.project_id
  account_id   = each.value.account_id
  display_name = "Function ${each.key}"
  # Reading the access table here makes a function without an entry fail the plan.
  description = "Runtime account of ${each.key}: ${local.access[each.key].summary}"
}

resource "google_service_account" "platform" {
  for_each = module.declarations.accounts

  project      = var.project_id
  account_id   = each.value
  display_name = "Platform ${each.key}"
  description  = local.platform_account_purpose[each.key]
}

# ---- Function images and sources.

resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84: Google-managed encryption; the images hold only the public source and its pinned dependencies
  project       = var.project_id
  location      = var.region
  repository_id = "functions"
  format        = "DOCKER"
  description   = "Images built from the staged function sources."
  labels        = local.labels
  depends_on    = [module.services]
}

# One archive per source dir; its name carries the content hash, so only changed sources redeploy.
resource "google_storage_bucket_object" "source" {
  for_each = module.declarations.sources

  bucket = module.storage.sources_bucket
  name   = "functions/${each.value.archive}"
  source = "${dirname(var.staged_manifest_path)}/${each.value.archive}"
}

# ---- Functions. The parse worker first: the functions that enqueue parse commands need its URI.

module "task_targets" {
  source     = "../function"
  for_each   = module.declarations.task_targets
  depends_on = [module.services]

  project_id            = var.project_id
  region                = var.region
  name                  = each.key
  description           = "Parse worker: Cloud Tasks target for parse commands."
  entry_point           = each.value.entry_point
  runtime               = "python312"
  source_bucket         = module.storage.sources_bucket
  source_object         = google_storage_bucket_object.source[each.value.source].name
  build_service_account = local.build_service_account
  docker_repository     = google_artifact_registry_repository.functions.id
  service_account_email = google_service_account.function[each.key].email
  memory                = each.value.memory
  cpu                   = each.value.cpu
  concurrency           = each.value.concurrency
  timeout_seconds       = each.value.timeout_seconds
  min_instances         = each.value.min_instances
  max_instances         = each.value.max_instances
  ingress_settings      = each.value.ingress_settings
  environment           = module.declarations.task_target_environment[each.key]
  labels                = local.labels
}

module "functions" {
  source     = "../function"
  for_each   = module.declarations.services
  depends_on = [module.services]

  project_id            = var.project_id
  region                = var.region
  name                  = each.key
  description           = "${each.key} (${each.value.trigger})"
  entry_point           = each.value.entry_point
  runtime               = "python312"
  source_bucket         = module.storage.sources_bucket
  source_object         = google_storage_bucket_object.source[each.value.source].name
  build_service_account = local.build_service_account
  docker_repository     = google_artifact_registry_repository.functions.id
  service_account_email = google_service_account.function[each.key].email
  memory                = each.value.memory
  cpu                   = each.value.cpu
  concurrency           = each.value.concurrency
  timeout_seconds       = each.value.timeout_seconds
  min_instances         = each.value.min_instances
  max_instances         = each.value.max_instances
  ingress_settings      = each.value.ingress_settings
  environment           = module.declarations.service_environment[each.key]
  labels                = local.labels

  # Only the uploads bucket triggers ingest: derived and records output can never loop back into it.
  storage_finalize_trigger = each.value.trigger == "storage_finalize" ? {
    bucket                = module.storage.uploads_bucket
    service_account_email = google_service_account.platform["eventarc"].email
  } : null
  # The working buckets' lifecycle deletions, each to its own consumer (declared with the bucket it watches).
  storage_delete_trigger = each.value.trigger == "storage_delete" ? {
    bucket                = local.bucket_names[each.value.bucket]
    service_account_email = google_service_account.platform["eventarc"].email
  } : null
}

# ---- The outbox sweep runs every minute, as its own account.

module "outbox_sweep_schedule" {
  source     = "../scheduler"
  for_each   = local.scheduled_fns
  depends_on = [module.services]

  project_id            = var.project_id
  region                = var.region
  name                  = "${each.key}-every-minute"
  description           = "Delivers outbox records that the in-request relay missed."
  schedule              = "* * * * *"
  target_uri            = module.functions[each.key].uri
  service_account_email = google_service_account.platform["scheduler"].email
  attempt_deadline      = "${module.declarations.functions[each.key].timeout_seconds + 20}s"
}

# ---- Public routes.

module "gateway" {
  source     = "../gateway"
  depends_on = [module.services]

  project_id            = var.project_id
  region                = var.region
  api_id                = "content-ingestion-${var.environment}"
  openapi_document      = module.declarations.openapi_document
  service_account_email = google_service_account.platform["api_gateway"].email
  labels                = local.labels
}

# Storage data access is audited (who read or wrote which object), instead of per-bucket access logs.
resource "google_project_iam_audit_config" "storage" {
  project = var.project_id
  service = "storage.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
