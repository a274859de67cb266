variable "project_id" {
  type        = string
  description = "GCP project of the dev environment (Cloud Build passes $PROJECT_ID)."
}

variable "region" {
  type        = string
  description = "Region of every regional resource."
  default     = "us-central1"
}

variable "firestore_location" {
  type        = string
  description = "Firestore location; it cannot change after the database exists."
  default     = "nam5"
}

variable "cors_origins" {
  type        = list(string)
  description = "Frontend origins allowed to use signed upload and download URLs from a browser."
  default     = []
}

variable "staged_manifest_path" {
  type        = string
  description = "Manifest written by `python -m dev.stage --out build` at the repository root."
  default     = "../../../build/manifest.json"
}

variable "log_level" {
  type        = string
  description = "Minimum log severity of the functions."
  default     = "DEBUG"
}

variable "alert_email" {
  type        = string
  description = "Email address the alerts notify (infra/README.md has a runbook per alert); empty for none."
  default     = ""
}

variable "notification_channels" {
  type        = list(string)
  description = "Ids of existing notification channels (PagerDuty, Slack, ...) every alert also notifies."
  default     = []
}

variable "web_domain" {
  type        = string
  description = "Domain the browser app is served on (https://DOMAIN/app/). Empty: the app is not hosted."
  default     = ""
}

variable "identity_platform_api_key" {
  type        = string
  description = "Browser API key of Identity Platform, written to the app's config.json."
  default     = ""
}

variable "repo_url" {
  type        = string
  description = "Web URL of this repository (https://github.com/ORG/REPO): alert documentation links its runbooks under infra/runbooks/. Cloud Build passes _REPO_URL."
  default     = ""
}

variable "billing_account" {
  type        = string
  description = "Billing account id of the project (XXXXXX-XXXXXX-XXXXXX); when set, a monthly budget notifies the cost guard."
  default     = ""
}

variable "monthly_budget" {
  type        = number
  description = "Monthly budget; the cost guard caps the parse queue and the functions when actual spend reaches it."
  default     = 500
}

variable "identity_tenants" {
  type        = map(string)
  description = "Identity Platform tenants, key => display name; each customer's users sign in to its tenant."
  default     = {}
}
