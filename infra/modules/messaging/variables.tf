variable "project_id" {
  type        = string
  description = "Project that owns the topics."
}

variable "project_number" {
  type        = string
  description = "Project number; names the Pub/Sub service agent that moves messages to the dead-letter topic."
}

variable "events_topic" {
  type        = string
  description = "Name of the domain-events topic."
  default     = "ingestion-events"
}

variable "consumer_name" {
  type        = string
  description = "Name of the function that consumes the events (the outbox consumer); names its subscription."
}

variable "consumer_uri" {
  type        = string
  description = "HTTPS URI of the consumer function; the push endpoint and the OIDC audience."
}

variable "push_service_account_email" {
  type        = string
  description = "Service account whose OIDC token Pub/Sub attaches to each push; it may invoke the consumer only."
}

variable "ack_deadline_seconds" {
  type        = number
  description = "How long a push may take before Pub/Sub redelivers; at least the consumer's timeout."
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries before a message moves to the dead-letter topic (5 to 100)."
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts 5 to 100 delivery attempts."
  }
}

variable "minimum_backoff" {
  type        = string
  description = "Shortest wait before a failed push is retried."
  default     = "10s"
}

variable "maximum_backoff" {
  type        = string
  description = "Longest wait between retries of a failed push."
  default     = "600s"
}

variable "labels" {
  type        = map(string)
  description = "Labels put on topics and subscriptions."
  default     = {}
}
