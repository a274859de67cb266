variable "project_id" {
  type        = string
  description = "Project that owns the function."
}

variable "region" {
  type        = string
  description = "Region of the function."
}

variable "name" {
  type        = string
  description = "Function name, as declared in infra/functions.json."
}

variable "description" {
  type        = string
  description = "What the function does, shown in the console."
  default     = ""
}

variable "entry_point" {
  type        = string
  description = "Decorated function in the staged main.py that serves requests or events."
}

variable "runtime" {
  type        = string
  description = "Cloud Functions runtime."
  default     = "python312"
}

variable "source_bucket" {
  type        = string
  description = "Bucket holding the staged archive."
}

variable "source_object" {
  type        = string
  description = "Object name of the staged archive; it carries the content hash, so a change redeploys."
}

variable "build_service_account" {
  type        = string
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the account Cloud Build uses to build the function."
}

variable "docker_repository" {
  type        = string
  description = "Artifact Registry repository id (projects/P/locations/R/repositories/NAME) for the built image."
}

variable "service_account_email" {
  type        = string
  description = "The function's own runtime service account."
}

variable "memory" {
  type        = string
  description = "Memory of one instance, e.g. 256Mi, 2Gi."
}

variable "cpu" {
  type        = string
  description = "vCPUs of one instance, e.g. 0.5, 1."
}

variable "concurrency" {
  type        = number
  description = "Requests one instance serves at once (max_instance_request_concurrency); above 1 needs cpu >= 1."
  default     = 1

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "timeout_seconds" {
  type        = number
  description = "Request timeout: at most 540 for event-driven functions, 3600 for HTTP ones."
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm."
}

variable "max_instances" {
  type        = number
  description = "Upper bound on instances, which also bounds load on Firestore and the queue."
}

variable "ingress_settings" {
  type        = string
  description = "ALLOW_ALL for functions behind API Gateway, ALLOW_INTERNAL_ONLY for those reached by Google services."

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "The ingress setting must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "environment" {
  type        = map(string)
  description = "Environment variables: every field of shared.settings.Settings the function reads."
}

variable "storage_finalize_trigger" {
  type = object({
    bucket                = string
    service_account_email = string
  })
  description = "When set, an Eventarc trigger delivers object-finalized events of this bucket, as this account."
  default     = null
}

variable "storage_delete_trigger" {
  type = object({
    bucket                = string
    service_account_email = string
  })
  description = "When set, an Eventarc trigger delivers object-deleted events of this bucket, as this account."
  default     = null
}

variable "labels" {
  type        = map(string)
  description = "Labels put on the function."
  default     = {}
}
