# Static hosting of the browser app (web/), with no Firebase: the built files in a bucket, served at
# https://DOMAIN/app/ by an external HTTPS load balancer with Cloud CDN. Cloud Build copies web/dist to app/ in the
# bucket; Terraform writes app/config.json (the API's URL and the sign-in settings) beside it. The app's origin goes
# into the API's and the uploads bucket's CORS lists (see the envs).

locals {
  app_origin = "https://${var.domain}"
  app_config = {
    apiBase                = trimsuffix(var.api_base_url, "/")
    authMode               = "identity-platform"
    identityPlatformApiKey = var.identity_platform_api_key
  }
}

resource "google_storage_bucket" "web" {
  # checkov:skip=CKV_GCP_114: a static web site is public by nature; the bucket holds only the built app and its config
  # checkov:skip=CKV_GCP_62: requests are logged by the load balancer in front of the bucket
  # checkov:skip=CKV_GCP_78: every version of the app is rebuilt from git; old objects are not kept
  project                     = var.project_id
  name                        = "${var.name_prefix}-web"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "inherited"
  force_destroy               = true
  labels                      = merge(var.labels, { data = "web-app" })

  # The app routes in the browser: any unknown path under /app/ gets its index.html.
  website {
    main_page_suffix = "index.html"
    not_found_page   = "app/index.html"
  }
}

resource "google_storage_bucket_iam_member" "public_read" {
  # checkov:skip=CKV_GCP_28: the load balancer serves the app's public files from here; nothing else is in this bucket
  bucket = google_storage_bucket.web.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}

resource "google_storage_bucket_object" "config" {
  bucket        = google_storage_bucket.web.name
  name          = "app/config.json"
  content       = jsonencode(local.app_config)
  content_type  = "application/json"
  cache_control = "no-cache"
}

resource "google_compute_backend_bucket" "web" {
  project     = var.project_id
  name        = "${var.name_prefix}-web"
  bucket_name = google_storage_bucket.web.name
  enable_cdn  = true
}

resource "google_compute_url_map" "web" {
  project         = var.project_id
  name            = "${var.name_prefix}-web"
  default_service = google_compute_backend_bucket.web.id

  host_rule {
    hosts        = [var.domain]
    path_matcher = "app"
  }

  path_matcher {
    name            = "app"
    default_service = google_compute_backend_bucket.web.id

    path_rule {
      paths = ["/"]
      url_redirect {
        path_redirect          = "/app/"
        redirect_response_code = "FOUND"
        strip_query            = false
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "web" {
  project = var.project_id
  name    = "${var.name_prefix}-web"
  managed {
    domains = [var.domain]
  }
}

resource "google_compute_ssl_policy" "web" {
  project         = var.project_id
  name            = "${var.name_prefix}-web"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "web" {
  project          = var.project_id
  name             = "${var.name_prefix}-web"
  url_map          = google_compute_url_map.web.id
  ssl_certificates = [google_compute_managed_ssl_certificate.web.id]
  ssl_policy       = google_compute_ssl_policy.web.id
}

resource "google_compute_global_address" "web" {
  project = var.project_id
  name    = "${var.name_prefix}-web"
}

resource "google_compute_global_forwarding_rule" "web" {
  project               = var.project_id
  name                  = "${var.name_prefix}-web"
  target                = google_compute_target_https_proxy.web.id
  ip_address            = google_compute_global_address.web.address
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
