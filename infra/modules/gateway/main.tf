# Public routing: API Gateway checks the caller's Identity Platform token, then calls the owning function with its
# own OIDC token and passes the caller's token on in X-Forwarded-Authorization, which the function verifies again.
resource "google_api_gateway_api" "this" {
  provider = google-beta
  project  = var.project_id
  api_id   = var.api_id
  labels   = var.labels
}

locals {
  # allowCors passes CORS preflights through to the functions, which answer them for the configured origins.
  openapi_document = jsonencode(merge(jsondecode(var.openapi_document), {
    "x-google-endpoints" = [{ name = google_api_gateway_api.this.managed_service, allowCors = true }]
  }))
}

# A config is immutable: a changed document makes a new one (named by its hash), then the gateway switches to it.
resource "google_api_gateway_api_config" "this" {
  provider      = google-beta
  project       = var.project_id
  api           = google_api_gateway_api.this.api_id
  api_config_id = "${var.api_id}-${substr(sha256(local.openapi_document), 0, 12)}"
  labels        = var.labels

  openapi_documents {
    document {
      path     = "openapi.json"
      contents = base64encode(local.openapi_document)
    }
  }

  gateway_config {
    backend_config {
      google_service_account = var.service_account_email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "this" {
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  gateway_id = "${var.api_id}-gateway"
  api_config = google_api_gateway_api_config.this.id
  labels     = var.labels
}

# The API's own managed service must be on for the gateway to serve it.
resource "google_project_service" "managed_service" {
  project            = var.project_id
  service            = google_api_gateway_api.this.managed_service
  disable_on_destroy = false
}
