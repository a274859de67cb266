# What each function may touch: this table is the only source of the functions' grants below, so a reviewer
# reads every resource a function reaches here, and nothing else grants a function anything.
# The roles are the least that cover what the code does: tests/infra/test_permissions.py derives each function's
# needed permissions from infra/iam/operations.json (recorded from the functions' entry points by
# tests/integration/test_adapter_operations.py) and fails on a missing permission or a role beyond the least one.
#
#   firestore        project role on the Firestore database (datastore.user reads and writes, viewer reads)
#   buckets          roles per bucket (uploads, derived, records)
#   publish_events   pubsub.publisher on the ingestion-events topic
#   enqueue_commands cloudtasks.enqueuer on the parse-commands queue, plus serviceAccountUser on the tasks-invoker
#                    account so the task may carry its OIDC token
#   read_dead_letters (optional) pubsub.subscriber on the dead-letter hold subscription: operators list and replay
#                    dead letters through this function
#   sign_urls        serviceAccountTokenCreator on the function's own account: IAM signBlob for V4 signed URLs
#   read_as2_key     (optional) secretmanager.secretAccessor on the as2-key secret alone (as2.tf): signs MDNs and
#                    acknowledgements
#   cap_costs        the cost guard: cloudtasks.queueAdmin on the parse-commands queue (its rate limits), and on each
#                    other function cloudfunctions.developer (its max instances) plus serviceAccountUser on its
#                    runtime account (updating a function acts as it); no Firestore, no bucket
#   read_scans        (optional) documentai.apiUser, to send scanned pages and images to the OCR processor

locals {
  access = {
    "ingest-http" = {
      summary          = "issues signed upload URLs and ingests inline files"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectCreator"] } # create-only writes and signed PUTs
      publish_events   = true
      enqueue_commands = false
      sign_urls        = true
      cap_costs        = false
    }
    "ingest-finalize" = {
      summary          = "ingests an uploaded object when it is finalized"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectUser"] } # reads, and deletes duplicate or rejected objects
      publish_events   = true
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
    }
    "profile-selection" = {
      summary           = "keeps pending intents, submits parse commands, and lists and replays dead letters"
      firestore         = "roles/datastore.user"
      buckets           = {}
      publish_events    = true
      enqueue_commands  = true
      sign_urls         = false
      cap_costs         = false
      read_dead_letters = true
    }
    "parse-worker" = {
      summary          = "parses an uploaded file into derived output"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectViewer"], derived = ["roles/storage.objectUser"] } # a redispatch overwrites its outputs
      publish_events   = true
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
      read_scans       = true
    }
    "save" = {
      summary        = "turns working material into records, locks regulatory records, holds, and deletes payloads it replaces"
      firestore      = "roles/datastore.user"
      publish_events = true
      buckets = {
        uploads = ["roles/storage.objectUser"]
        derived = ["roles/storage.objectUser"]
        # objectAdmin: the least predefined role with storage.objects.setRetention (Object Retention Lock).
        records = ["roles/storage.objectAdmin"]
      }
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
    }
    "read-api" = {
      summary          = "reads artifacts, lineage and executions, and signs download URLs"
      firestore        = "roles/datastore.viewer"
      buckets          = { uploads = ["roles/storage.objectViewer"], derived = ["roles/storage.objectViewer"], records = ["roles/storage.objectViewer"] }
      publish_events   = false
      enqueue_commands = false
      sign_urls        = true
      cap_costs        = false
    }
    "outbox-consumer" = {
      summary        = "reacts to domain events, relays outbox records, and runs journey steps: saves and discards"
      firestore      = "roles/datastore.user"
      publish_events = true
      buckets = {
        uploads = ["roles/storage.objectViewer"]
        derived = ["roles/storage.objectUser"]
        records = ["roles/storage.objectUser"]
      }
      enqueue_commands = true
      sign_urls        = false
      cap_costs        = false
    }
    "outbox-sweep" = {
      summary          = "delivers outbox records the relay missed, and deletes the payloads of expired artifacts"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectUser"], derived = ["roles/storage.objectUser"], records = ["roles/storage.objectUser"] }
      publish_events   = true
      enqueue_commands = true
      sign_urls        = false
      cap_costs        = false
    }
    "references-uploads" = {
      summary          = "forgets the references of uploads the bucket lifecycle deleted"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectViewer"] } # confirms the object is gone before forgetting it
      publish_events   = false
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
    }
    "references-derived" = {
      summary          = "forgets the references of parse output the bucket lifecycle deleted"
      firestore        = "roles/datastore.user"
      buckets          = { derived = ["roles/storage.objectViewer"] }
      publish_events   = false
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
    }
    "as2-http" = {
      summary          = "receives AS2 messages, answers with signed MDNs, ingests and acknowledges interchanges, keeps partners"
      firestore        = "roles/datastore.user"
      buckets          = { uploads = ["roles/storage.objectCreator"], derived = ["roles/storage.objectCreator"] } # create-only
      publish_events   = true
      enqueue_commands = true
      sign_urls        = false
      cap_costs        = false
      read_as2_key     = true
    }
    "as2-deliver" = {
      summary          = "posts acknowledgements and asynchronous MDNs to partners and records the delivery"
      firestore        = "roles/datastore.user"
      buckets          = {}
      publish_events   = false
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = false
    }
    "cost-guard" = {
      summary          = "caps the parse queue and the functions when the billing budget is spent"
      firestore        = null
      buckets          = {}
      publish_events   = false
      enqueue_commands = false
      sign_urls        = false
      cap_costs        = true
    }
  }

  function_member = { for name, sa in google_service_account.function : name => "serviceAccount:${sa.email}" }

  bucket_grants = flatten([
    for fn, a in local.access : [
      for bucket, roles in a.buckets : [
        for role in roles : { key = "${fn}/${bucket}/${role}", fn = fn, bucket = bucket, role = role }
      ]
    ]
  ])
}

resource "google_project_iam_member" "function_firestore" {
  for_each = { for fn, a in local.access : fn => a.firestore if a.firestore != null }

  project = var.project_id
  role    = each.value
  member  = local.function_member[each.key]
}

# Every function that commits outbox messages relays their OpenLineage RunEvents to the Data Lineage API
# (processOpenLineageRunEvent): roles/datalineage.producer is the least predefined role that allows it.
resource "google_project_iam_member" "function_emits_lineage" {
  for_each = { for fn, a in local.access : fn => a if a.publish_events || a.enqueue_commands }

  project = var.project_id
  role    = "roles/datalineage.producer"
  member  = local.function_member[each.key]
}

resource "google_storage_bucket_iam_member" "function_bucket" {
  for_each = { for g in local.bucket_grants : g.key => g }

  bucket = local.bucket_names[each.value.bucket]
  role   = each.value.role
  member = local.function_member[each.value.fn]
}

resource "google_pubsub_topic_iam_member" "function_publishes_events" {
  for_each = toset([for fn, a in local.access : fn if a.publish_events])

  project = var.project_id
  topic   = module.messaging.events_topic
  role    = "roles/pubsub.publisher"
  member  = local.function_member[each.key]
}

resource "google_pubsub_subscription_iam_member" "function_reads_dead_letters" {
  for_each = toset([for fn, a in local.access : fn if try(a.read_dead_letters, false)])

  project      = var.project_id
  subscription = module.messaging.dead_letter_subscription
  role         = "roles/pubsub.subscriber"
  member       = local.function_member[each.key]
}

resource "google_cloud_tasks_queue_iam_member" "function_enqueues_commands" {
  for_each = toset([for fn, a in local.access : fn if a.enqueue_commands])

  project  = var.project_id
  location = module.tasks.location
  name     = module.tasks.name
  role     = "roles/cloudtasks.enqueuer"
  member   = local.function_member[each.key]
}

resource "google_service_account_iam_member" "function_acts_as_tasks_invoker" {
  for_each = toset([for fn, a in local.access : fn if a.enqueue_commands])

  service_account_id = google_service_account.platform["tasks_invoker"].name
  role               = "roles/iam.serviceAccountUser"
  member             = local.function_member[each.key]
}

resource "google_service_account_iam_member" "function_signs_with_own_account" {
  for_each = toset([for fn, a in local.access : fn if a.sign_urls])

  service_account_id = google_service_account.function[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.function_member[each.key]
}

# ---- The cost guard: the queue's rate limits, and each other function's max instances, nothing else.

locals {
  cost_guards = [for fn, a in local.access : fn if a.cap_costs]
  capped = flatten([
    for guard in local.cost_guards : [
      for fn, a in local.access : { key = "${guard}/${fn}", guard = guard, fn = fn } if !a.cap_costs
    ]
  ])
}

resource "google_cloud_tasks_queue_iam_member" "cost_guard_caps_queue" {
  for_each = toset(local.cost_guards)

  project  = var.project_id
  location = module.tasks.location
  name     = module.tasks.name
  role     = "roles/cloudtasks.queueAdmin"
  member   = local.function_member[each.key]
}

resource "google_cloudfunctions2_function_iam_member" "cost_guard_caps_function" {
  for_each = { for c in local.capped : c.key => c }

  project        = var.project_id
  location       = var.region
  cloud_function = local.deployed[each.value.fn].name
  role           = "roles/cloudfunctions.developer"
  member         = local.function_member[each.value.guard]
}

resource "google_service_account_iam_member" "cost_guard_acts_as_capped_function" {
  for_each = { for c in local.capped : c.key => c }

  service_account_id = google_service_account.function[each.value.fn].name
  role               = "roles/iam.serviceAccountUser"
  member             = local.function_member[each.value.guard]
}

# Document AI's API User role holds only the process permissions (no processor management). The provider offers no
# processor-level IAM resource, so it is granted on the project, which holds one processor: the OCR one (../ocr).
resource "google_project_iam_member" "function_reads_scans" {
  for_each = toset([for fn, a in local.access : fn if try(a.read_scans, false)])

  project = var.project_id
  role    = "roles/documentai.apiUser"
  member  = local.function_member[each.key]
}
