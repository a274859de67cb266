# Who may call which function. No function is public (no allUsers anywhere): each caller is a dedicated service
# account holding run.invoker on exactly the functions it calls.
#
#   api-gateway      -> the public functions (routes.json)
#   tasks-invoker    -> the parse worker (Cloud Tasks OIDC)
#   outbox-scheduler -> the outbox sweep (Cloud Scheduler OIDC)
#   pubsub-push      -> the outbox consumer (Pub/Sub push OIDC)
#   eventarc-trigger -> ingest-finalize (Eventarc, uploads bucket only) and the references-* deletion consumers

locals {
  platform_account_purpose = {
    tasks_invoker   = "OIDC identity of parse commands; may invoke the parse worker only"
    scheduler       = "OIDC identity of the outbox sweep schedule; may invoke the sweep only"
    api_gateway     = "API Gateway backend identity; may invoke the public functions only"
    eventarc        = "Eventarc trigger identity; may invoke ingest-finalize and the storage deletion consumers only"
    pubsub_push     = "Pub/Sub push identity; may invoke the outbox consumer and the cost guard only"
    function_builds = "Builds the function images from the staged sources"
  }

  platform_member = { for key, sa in google_service_account.platform : key => "serviceAccount:${sa.email}" }

  invocations = merge(
    { for fn in module.declarations.public_functions : "api_gateway/${fn}" => { caller = "api_gateway", fn = fn } },
    { for fn in module.declarations.by_trigger["task"] : "tasks_invoker/${fn}" => { caller = "tasks_invoker", fn = fn } },
    { for fn in module.declarations.by_trigger["scheduler"] : "scheduler/${fn}" => { caller = "scheduler", fn = fn } },
    { for fn in module.declarations.by_trigger["pubsub"] : "pubsub_push/${fn}" => { caller = "pubsub_push", fn = fn } },
    { for fn in module.declarations.by_trigger["budget"] : "pubsub_push/${fn}" => { caller = "pubsub_push", fn = fn } },
    { for fn in module.declarations.by_trigger["storage_finalize"] : "eventarc/${fn}" => { caller = "eventarc", fn = fn } },
    { for fn in module.declarations.by_trigger["storage_delete"] : "eventarc/${fn}" => { caller = "eventarc", fn = fn } },
  )
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.invocations

  project  = var.project_id
  location = var.region
  service  = local.deployed[each.value.fn].name
  role     = "roles/run.invoker"
  member   = local.platform_member[each.value.caller]
}

# ---- Eventarc (ingest-finalize on the uploads bucket).

resource "google_project_iam_member" "eventarc_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = local.platform_member["eventarc"]
}

# Cloud Storage's service agent publishes the bucket notifications that Eventarc turns into events.
data "google_storage_project_service_account" "gcs_agent" {
  project = var.project_id
}

resource "google_project_iam_member" "gcs_agent_publishes_notifications" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs_agent.email_address}"
}

# Pub/Sub's service agent mints the OIDC tokens Eventarc attaches as the trigger account.
resource "google_service_account_iam_member" "pubsub_agent_mints_trigger_token" {
  service_account_id = google_service_account.platform["eventarc"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# ---- Function builds: logs, the image repository, and the staged archives; nothing else.

resource "google_project_iam_member" "builds_write_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = local.platform_member["function_builds"]
}

resource "google_artifact_registry_repository_iam_member" "builds_push_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = local.platform_member["function_builds"]
}

resource "google_storage_bucket_iam_member" "builds_read_sources" {
  bucket = module.storage.sources_bucket
  role   = "roles/storage.objectViewer"
  member = local.platform_member["function_builds"]
}
