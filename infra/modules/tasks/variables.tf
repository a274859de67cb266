variable "project_id" {
  type        = string
  description = "Project that owns the queue."
}

variable "location" {
  type        = string
  description = "Queue location (the functions' region)."
}

variable "name" {
  type        = string
  description = "Queue name. A deleted queue's name cannot be reused for about 7 days."
  default     = "parse-commands"
}

variable "max_dispatches_per_second" {
  type        = number
  description = "Rate at which parse commands are dispatched to the worker."
  default     = 5
}

variable "max_concurrent_dispatches" {
  type        = number
  description = "Parses in flight at once; no more than the worker's max instances (one request per instance)."
}

variable "max_attempts" {
  type        = number
  description = "Deliveries of one command before Cloud Tasks gives up; above the app's own claim limit, so the worker records the failure."
  default     = 5
}

variable "min_backoff" {
  type        = string
  description = "Wait before the first retry of a failed dispatch."
  default     = "10s"
}

variable "max_backoff" {
  type        = string
  description = "Longest wait between retries."
  default     = "600s"
}

variable "max_doublings" {
  type        = number
  description = "Times the backoff doubles before it grows linearly."
  default     = 5
}

variable "max_retry_duration" {
  type        = string
  description = "Time limit for retrying one command, counted from its first attempt."
  default     = "86400s"
}
