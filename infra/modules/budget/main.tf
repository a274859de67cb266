# A billing budget on this project whose every update reaches the cost guard: Cloud Billing publishes to a topic of
# ours, and a push subscription (OIDC) delivers to the function, which caps the parse queue and the functions' max
# instances once actual spend reaches its threshold (shared/usecases/cost_guard.py). People are told too: the
# budget emails the billing account's admins and notifies the alert channels at each threshold.

resource "google_pubsub_topic" "budget" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; budget notifications carry amounts, never file content
  project                    = var.project_id
  name                       = "billing-budget-alerts"
  labels                     = var.labels
  message_retention_duration = "86400s"
}

# Cloud Billing publishes budget notifications as this Google-owned account
# (https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications#connect-budget).
resource "google_pubsub_topic_iam_member" "billing_publishes" {
  project = var.project_id
  topic   = google_pubsub_topic.budget.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
}

resource "google_pubsub_subscription" "guard" {
  project                    = var.project_id
  name                       = "billing-budget-alerts-cost-guard"
  topic                      = google_pubsub_topic.budget.id
  labels                     = var.labels
  ack_deadline_seconds       = 120
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = var.guard_uri
    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = var.guard_uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_billing_budget" "this" {
  count = var.billing_account == "" ? 0 : 1

  billing_account = var.billing_account
  display_name    = "ingestion ${var.environment}"

  budget_filter {
    projects = ["projects/${var.project_number}"]
  }

  amount {
    specified_amount {
      currency_code = var.currency_code
      units         = tostring(var.monthly_amount)
    }
  }

  dynamic "threshold_rules" {
    for_each = var.alert_thresholds
    content {
      threshold_percent = threshold_rules.value
      spend_basis       = "CURRENT_SPEND"
    }
  }

  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    pubsub_topic                     = google_pubsub_topic.budget.id
    schema_version                   = "1.0"
    monitoring_notification_channels = var.notification_channels
  }

  depends_on = [google_pubsub_topic_iam_member.billing_publishes]
}
