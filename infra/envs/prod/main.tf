# The prod environment: the whole platform in one project.
module "platform" {
  source = "../../modules/platform"

  project_id            = var.project_id
  region                = var.region
  environment           = "prod"
  firestore_location    = var.firestore_location
  bucket_prefix         = var.project_id
  cors_origins          = concat(var.cors_origins, local.web_origins)
  staged_manifest_path  = var.staged_manifest_path
  log_level             = var.log_level
  alert_email           = var.alert_email
  notification_channels = var.notification_channels
  repo_url              = var.repo_url
  billing_account       = var.billing_account
  identity_tenants      = var.identity_tenants
  authorized_domains    = var.web_domain == "" ? [] : [var.web_domain]
  monthly_budget        = var.monthly_budget
  force_destroy         = false
  delete_protection     = true
}

# The browser app (web/), hosted once a domain is given; its origin joins the API's and the buckets' CORS lists.
locals {
  web_origins = var.web_domain == "" ? [] : ["https://${var.web_domain}"]
}

module "web" {
  source     = "../../modules/web"
  count      = var.web_domain == "" ? 0 : 1
  depends_on = [module.platform] # the platform enables the APIs it uses (compute, storage)

  project_id                = var.project_id
  name_prefix               = var.project_id
  location                  = var.region
  domain                    = var.web_domain
  api_base_url              = module.platform.api_url
  identity_platform_api_key = var.identity_platform_api_key
}
