# Everything the platform derives from the single declarations in infra/: the functions (functions.json), the
# public routes (routes.json), the Firestore indexes (firestore_indexes.json) and the staged archives. Nothing is
# repeated by hand elsewhere.

locals {
  declarations_dir = "${path.module}/../.."

  function_list = jsondecode(file("${local.declarations_dir}/functions.json")).functions
  route_list    = jsondecode(file("${local.declarations_dir}/routes.json")).routes
  index_file    = jsondecode(file("${local.declarations_dir}/firestore_indexes.json"))
  staged        = jsondecode(file(var.staged_manifest_path)).sources

  # Service account emails follow from their account ids, so they are known before anything is created.
  sa_domain = "${var.project_id}.iam.gserviceaccount.com"

  functions = {
    for f in local.function_list : f.name => {
      name            = f.name
      source          = f.source
      entry_point     = f.entry_point
      trigger         = f.trigger
      bucket          = try(f.bucket, null) # a storage trigger's bucket, by role
      public          = f.public
      memory          = f.memory
      cpu             = f.cpu
      concurrency     = f.concurrency
      timeout_seconds = f.timeout_seconds
      min_instances   = f.min_instances
      max_instances   = f.max_instances
      environment     = try(f.environment, {}) # variables its process starts with (read before the code runs)
      account_id      = "fn-${f.name}"
      email           = "fn-${f.name}@${local.sa_domain}"
      archive         = local.staged[f.source].archive
      archive_sha256  = local.staged[f.source].sha256
      # Only routed functions take traffic from outside; the rest are reached by Google services only.
      ingress_settings = f.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    }
  }

  # The task targets (the parse worker, the AS2 deliverer) take commands; every other function may need their URIs. Splitting the two
  # sets keeps the worker's own URI out of its configuration (it never enqueues) and the graph acyclic.
  task_targets = { for name, f in local.functions : name => f if f.trigger == "task" }
  services     = { for name, f in local.functions : name => f if f.trigger != "task" }

  by_trigger = {
    for trigger in ["http", "storage_finalize", "storage_delete", "pubsub", "task", "scheduler", "budget"] :
    trigger => sort([for name, f in local.functions : name if f.trigger == trigger])
  }

  accounts = {
    tasks_invoker   = "tasks-invoker"
    scheduler       = "outbox-scheduler"
    api_gateway     = "api-gateway"
    eventarc        = "eventarc-trigger"
    pubsub_push     = "pubsub-push"
    function_builds = "function-builds"
  }
  account_emails = { for key, id in local.accounts : key => "${id}@${local.sa_domain}" }

  # Every field of shared.settings.Settings except the local-only ones (auth_dev_public_key_file,
  # signing_key_file), as the functions read them: upper-case environment variables.
  settings_environment = {
    PROJECT_ID                    = var.project_id
    REGION                        = var.region
    ENVIRONMENT                   = var.environment
    UPLOADS_BUCKET                = var.buckets.uploads
    DERIVED_BUCKET                = var.buckets.derived
    RECORDS_BUCKET                = var.buckets.records
    EVENTS_TOPIC                  = var.events_topic
    DEAD_LETTER_SUBSCRIPTION      = var.dead_letter_subscription
    TASKS_QUEUE                   = var.tasks_queue
    TASKS_LOCATION                = var.region
    TASKS_INVOKER_SA              = local.account_emails.tasks_invoker
    AUTH_MODE                     = "identity_platform"
    AUTH_AUDIENCE                 = var.project_id
    AUTH_ISSUER                   = "https://securetoken.google.com/${var.project_id}"
    AUTH_CERTS_URL                = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    UPLOAD_URL_TTL_SECONDS        = tostring(var.upload_url_ttl_seconds)
    DOWNLOAD_URL_TTL_SECONDS      = tostring(var.download_url_ttl_seconds)
    MAX_UPLOAD_BYTES              = tostring(var.max_upload_bytes)
    INLINE_MAX_BYTES              = tostring(var.inline_max_bytes)
    RESUMABLE_THRESHOLD_BYTES     = tostring(var.resumable_threshold_bytes)
    RESUMABLE_CHUNK_BYTES         = tostring(var.resumable_chunk_bytes)
    RESUMABLE_SESSION_TTL_SECONDS = tostring(var.resumable_session_ttl_seconds)
    INLINE_PAYLOAD_MAX_BYTES      = tostring(var.inline_payload_max_bytes)
    LEASE_SECONDS                 = tostring(var.lease_seconds)
    CLAIM_LEASE_SECONDS           = tostring(var.claim_lease_seconds)
    LEASE_RENEW_SECONDS           = tostring(var.lease_renew_seconds)
    MAX_PARSE_ATTEMPTS            = tostring(var.max_parse_attempts)
    OUTBOX_GRACE_SECONDS          = tostring(var.outbox_grace_seconds)
    WORKING_MATERIAL_TTL_DAYS     = tostring(var.working_material_ttl_days)
    DEDUP_TTL_DAYS                = tostring(var.dedup_ttl_days)
    ABANDONED_AFTER_SECONDS       = tostring(var.abandoned_after_seconds)
    JOURNEY_REDRIVE_SECONDS       = tostring(var.journey_redrive_seconds)
    REFERENCE_SAMPLE_SIZE         = tostring(var.reference_sample_size)
    CORS_ALLOWED_ORIGINS          = jsonencode(var.cors_origins)
    LOG_LEVEL                     = var.log_level
    # The cost guard caps every function but itself (it must stay up to be told the caps may go).
    COST_GUARD_THRESHOLD             = tostring(var.cost_guard_threshold)
    COST_GUARD_DISPATCHES_PER_SECOND = tostring(var.cost_guard_dispatches_per_second)
    COST_GUARD_MAX_INSTANCES         = tostring(var.cost_guard_max_instances)
    COST_GUARD_FUNCTIONS             = jsonencode(sort([for name, f in local.functions : name if f.trigger != "budget"]))
    FUNCTIONS_API_ENDPOINT           = "https://cloudfunctions.googleapis.com"
    # OpenLineage RunEvents go to the Data Lineage API (infra/modules/records grants the producer role).
    LINEAGE_SINK      = "dataplex"
    LINEAGE_NAMESPACE = "ingest.${var.project_id}.${var.environment}"
    LINEAGE_LOCATION  = var.region
    OPENLINEAGE_URL   = var.openlineage_url
    LINEAGE_BASE_URL  = var.lineage_base_url == "" ? "urn:ingest:${var.project_id}:lineage" : var.lineage_base_url
    LINEAGE_FILE      = "" # only the local stack's `jsonl` sink writes a file
    # Partner exchange: our AS2 identity (its key is read from Secret Manager by the as2-http function only).
    AS2_ID_PREFIX                = var.as2_id_prefix
    AS2_PUBLIC_URL               = var.as2_public_url
    AS2_KEY_SECRET               = var.as2_key_secret
    AS2_MAX_BYTES                = tostring(var.as2_max_bytes)
    OCR_ENGINE                   = "documentai"
    OCR_LANGUAGES                = "eng" # Tesseract's; Document AI detects the language itself
    OCR_MAX_PAGES                = tostring(var.ocr_max_pages)
    OCR_MAX_SECONDS              = tostring(var.ocr_max_seconds)
    DOCUMENTAI_PROCESSOR_VERSION = var.documentai_processor_version
  }

  # Each function signs with its own service account (IAM signBlob on itself).
  task_target_environment = {
    for name, f in local.task_targets : name => merge(local.settings_environment, f.environment, {
      SIGNING_SERVICE_ACCOUNT = f.email
      PARSE_WORKER_URL        = ""
      AS2_DELIVER_URL         = ""
    })
  }
  service_environment = {
    for name, f in local.services : name => merge(local.settings_environment, f.environment, {
      SIGNING_SERVICE_ACCOUNT = f.email
      PARSE_WORKER_URL        = var.parse_worker_url
      AS2_DELIVER_URL         = var.as2_deliver_url
    })
  }

  # Firestore: keyed by content, so reordering the declaration does not recreate an index.
  firestore_indexes = {
    for idx in local.index_file.indexes :
    join("|", concat([idx.collectionGroup, idx.queryScope], [
      for f in idx.fields : "${f.fieldPath}:${lookup(f, "order", lookup(f, "arrayConfig", ""))}"
    ])) => idx
  }
  firestore_field_overrides = {
    for o in lookup(local.index_file, "fieldOverrides", []) : "${o.collectionGroup}.${o.fieldPath}" => o
  }

  # API Gateway (OpenAPI 2.0) from the same routing table as the local gateway. Routes sharing a path share a
  # path item; every operation checks an Identity Platform token unless its route says "auth": false.
  routes_by_path = { for r in local.route_list : r.path => r... }
  openapi = {
    swagger  = "2.0"
    info     = { title = "content-ingestion-${var.environment}", version = "1.0.0", description = "Content ingestion API (${var.environment})" }
    schemes  = ["https"]
    produces = ["application/json"]
    securityDefinitions = {
      firebase = {
        authorizationUrl     = ""
        flow                 = "implicit"
        type                 = "oauth2"
        "x-google-issuer"    = "https://securetoken.google.com/${var.project_id}"
        "x-google-jwks_uri"  = "https://www.googleapis.com/service_accounts/v1/metadata/x509/securetoken@system.gserviceaccount.com"
        "x-google-audiences" = var.project_id
      }
    }
    paths = {
      for path, routes in local.routes_by_path : path => {
        for r in routes : lower(r.method) => merge(
          {
            operationId = trim("${lower(r.method)}${replace(r.path, "/[^A-Za-z0-9]+/", "_")}", "_")
            summary     = "${r.method} ${r.path} (${r.function})"
            parameters = [
              for m in regexall("\\{([^}]+)\\}", r.path) : { name = m[0], "in" = "path", required = true, type = "string" }
            ]
            responses = { default = { description = "See the product's OpenAPI document (GET /v1/openapi.json)." } }
            "x-google-backend" = {
              address          = var.function_uris[r.function]
              jwt_audience     = var.function_uris[r.function]
              path_translation = "APPEND_PATH_TO_ADDRESS"
              deadline         = local.functions[r.function].timeout_seconds
            }
          },
          { for k, v in { security = [{ firebase = [] }] } : k => v if lookup(r, "auth", true) },
        )
      }
    }
  }
}
