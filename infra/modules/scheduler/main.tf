# A periodic call with an OIDC token. A failed run is not retried: the next tick comes within the period anyway.
resource "google_cloud_scheduler_job" "this" {
  project          = var.project_id
  region           = var.region
  name             = var.name
  description      = var.description
  schedule         = var.schedule
  time_zone        = var.time_zone
  attempt_deadline = var.attempt_deadline

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = var.target_uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")

    oidc_token {
      service_account_email = var.service_account_email
      audience              = var.target_uri
    }
  }
}
