variable "project_id" {
  type        = string
  description = "GCP project that owns every resource."
}

variable "region" {
  type        = string
  description = "Region of the functions, buckets, queue, schedule and gateway."
}

variable "environment" {
  type        = string
  description = "Environment name (dev, prod); names the API and labels every resource."
}

variable "firestore_location" {
  type        = string
  description = "Firestore location (a region or a multi-region such as nam5). It cannot change after creation."
}

variable "bucket_prefix" {
  type        = string
  description = "Globally unique prefix of the bucket names (the project id is a good one)."
}

variable "cors_origins" {
  type        = list(string)
  description = "Browser origins of the frontend, allowed to PUT signed upload URLs and GET signed download URLs."
}

variable "staged_manifest_path" {
  type        = string
  description = "build/manifest.json written by `python -m dev.stage`; the archives sit beside it."
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy buckets that still hold objects (dev only)."
  default     = false
}

variable "delete_protection" {
  type        = bool
  description = "Protect the Firestore database from deletion."
  default     = true
}

variable "upload_url_ttl_seconds" {
  type        = number
  description = "Lifetime of a signed upload URL."
  default     = 900
}

variable "download_url_ttl_seconds" {
  type        = number
  description = "Lifetime of a signed download URL."
  default     = 300
}

variable "lease_seconds" {
  type        = number
  description = "The dispatch deadline: how long a dispatched parse may wait for a worker before the sweep re-dispatches it."
  default     = 600
}

variable "max_parse_attempts" {
  type        = number
  description = "Claims after which an intent is failed; the queue allows two deliveries more, so the worker records the failure."
  default     = 3
}

variable "outbox_grace_seconds" {
  type        = number
  description = "Age after which the sweep delivers an undelivered outbox record."
  default     = 30
}

variable "working_material_ttl_days" {
  type        = number
  description = "Days before unsaved working material expires."
  default     = 7
}

variable "dedup_ttl_days" {
  type        = number
  description = "Days a dedup record is kept."
  default     = 7
}

variable "abandoned_after_seconds" {
  type        = number
  description = "Seconds without progress after which the sweep fails an execution that has no live intent."
  default     = 3600
}

variable "journey_redrive_seconds" {
  type        = number
  description = "Seconds without progress after which the sweep re-drives a journey that owes work."
  default     = 300
}

variable "record_datasets" {
  type        = list(string)
  description = "Record datasets published as BigLake tables in BigQuery (infra/modules/records)."
  default     = []
}

variable "tenant_readers" {
  type        = map(list(string))
  description = "Tenant id => IAM members who may query that tenant's records in BigQuery (row access policies)."
  default     = {}
}

variable "openlineage_url" {
  type        = string
  description = "Also POST every OpenLineage event to {url}/api/v1/lineage (a Marquez), when not empty."
  default     = ""
}

variable "log_level" {
  type        = string
  description = "Minimum log severity of the functions."
  default     = "INFO"
}

variable "labels" {
  type        = map(string)
  description = "Extra labels for every labelled resource."
  default     = {}
}

variable "notification_channels" {
  type        = list(string)
  description = "Ids of existing Cloud Monitoring notification channels that every alert notifies."
  default     = []
}

variable "alert_email" {
  type        = string
  description = "Email address alerts are sent to (a channel is created for it); empty for none."
  default     = ""
}

variable "outbox_alert_minutes" {
  type        = number
  description = "Minutes an outbox record may stay undelivered before the outbox alert fires."
  default     = 10
}

variable "repo_url" {
  type        = string
  description = "Web URL of this repository; alerts link their runbooks at <repo_url>/blob/main/infra/runbooks/<alert>.md. Empty: the runbook's path in the repository is given instead."
  default     = ""
}

variable "billing_account" {
  type        = string
  description = "Billing account id of the project; when set, a monthly budget notifies the cost guard. Empty: no budget."
  default     = ""
}

variable "monthly_budget" {
  type        = number
  description = "Monthly budget in budget_currency; the cost guard caps the platform when actual spend reaches it."
  default     = 500
}

variable "budget_currency" {
  type        = string
  description = "Currency of the billing account."
  default     = "USD"
}

variable "identity_tenants" {
  type        = map(string)
  description = "Identity Platform tenants to create, key => display name (see modules/identity)."
  default     = {}
}

variable "authorized_domains" {
  type        = list(string)
  description = "Domains the browser app signs in from (Identity Platform authorized domains)."
  default     = []
}

variable "ocr_location" {
  type        = string
  description = "Document AI location of the OCR processor (us or eu): scans are sent there."
  default     = "us"
}
