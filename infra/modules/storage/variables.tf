variable "project_id" {
  type        = string
  description = "Project that owns the buckets."
}

variable "location" {
  type        = string
  description = "Bucket location; the functions' region, so the Eventarc trigger and the data stay together."
}

variable "name_prefix" {
  type        = string
  description = "Globally unique prefix of the bucket names, e.g. the project id."
}

variable "cors_origins" {
  type        = list(string)
  description = "Browser origins allowed to PUT to signed upload URLs and GET signed download URLs. Empty: no CORS."
}

variable "working_material_ttl_days" {
  type        = number
  description = "Days after which unsaved working material (uploads and derived output) is deleted."

  validation {
    condition     = var.working_material_ttl_days >= 1
    error_message = "Working material must be kept at least one day."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow destroying buckets that still hold objects (dev only; never for records in production)."
  default     = false
}

variable "labels" {
  type        = map(string)
  description = "Labels put on every bucket."
  default     = {}
}
