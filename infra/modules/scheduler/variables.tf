variable "project_id" {
  type        = string
  description = "Project that owns the job."
}

variable "region" {
  type        = string
  description = "Region of the job."
}

variable "name" {
  type        = string
  description = "Job name."
}

variable "description" {
  type        = string
  description = "What the job does."
  default     = ""
}

variable "schedule" {
  type        = string
  description = "Cron schedule."
}

variable "time_zone" {
  type        = string
  description = "Time zone of the schedule."
  default     = "Etc/UTC"
}

variable "target_uri" {
  type        = string
  description = "HTTPS URI of the function the job calls; also the OIDC audience."
}

variable "service_account_email" {
  type        = string
  description = "Account whose OIDC token the job attaches; it may invoke the target only."
}

variable "attempt_deadline" {
  type        = string
  description = "How long one call may take; at least the target's timeout."
}
