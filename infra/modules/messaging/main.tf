# Domain events: one topic, a dead-letter topic, and the outbox consumer's push subscription.
#
# The consumer gets a push subscription of our own (OIDC-authenticated) rather than an Eventarc Pub/Sub trigger:
# Eventarc creates and owns its subscription, so its dead-letter policy and retry backoff could not be declared
# here. Here both are, and the function still receives a CloudEvent (functions-framework converts the push body).

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "events" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; events carry ids and states, never file content, so no customer key is needed
  project                    = var.project_id
  name                       = var.events_topic
  labels                     = var.labels
  message_retention_duration = "604800s"
}

resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; events carry ids and states, never file content, so no customer key is needed
  project                    = var.project_id
  name                       = "${var.events_topic}-dlq"
  labels                     = var.labels
  message_retention_duration = "604800s"
}

# Keeps dead-lettered events for an operator to inspect and replay; a topic alone would drop them.
resource "google_pubsub_subscription" "dead_letter_hold" {
  project                    = var.project_id
  name                       = "${var.events_topic}-dlq-hold"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "consumer" {
  project                    = var.project_id
  name                       = "${var.consumer_name}-push"
  topic                      = google_pubsub_topic.events.id
  labels                     = var.labels
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "604800s"

  push_config {
    # The topic path lets functions-framework fill in the CloudEvent source.
    push_endpoint = "${var.consumer_uri}/projects/${var.project_id}/topics/${var.events_topic}"
    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = var.consumer_uri
    }
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# The Pub/Sub service agent forwards undeliverable messages: it publishes to the dead-letter topic and
# acknowledges on the source subscription.
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_acks_source" {
  project      = var.project_id
  subscription = google_pubsub_subscription.consumer.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The service agent mints the push OIDC token as the push service account.
resource "google_service_account_iam_member" "agent_mints_push_token" {
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.push_service_account_email}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
