variable "project_id" {
  type        = string
  description = "GCP project that owns every resource."
}

variable "region" {
  type        = string
  description = "Region of the functions, the tasks queue and the buckets."
}

variable "environment" {
  type        = string
  description = "Deployment environment name (dev, prod)."
}

variable "staged_manifest_path" {
  type        = string
  description = "Path of the manifest.json written by `python -m dev.stage`; it names each source's archive by hash."
}

variable "buckets" {
  type = object({
    uploads = string
    derived = string
    records = string
  })
  description = "Names of the uploads, derived and records buckets."
}

variable "events_topic" {
  type        = string
  description = "Name of the Pub/Sub topic for domain events."
}

variable "dead_letter_subscription" {
  type        = string
  description = "Name of the subscription that holds dead-lettered events for inspection and replay."
}

variable "tasks_queue" {
  type        = string
  description = "Name of the Cloud Tasks queue for parse commands."
}

variable "parse_worker_url" {
  type        = string
  description = "HTTPS URI of the parse worker; only the functions that enqueue parse commands receive it."
}

variable "function_uris" {
  type        = map(string)
  description = "HTTPS URI of each public function, keyed by function name; the API Gateway routes to these."
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

variable "max_upload_bytes" {
  type        = number
  description = "Largest accepted file (the product limit is 100 MB)."
  default     = 104857600
}

variable "inline_max_bytes" {
  type        = number
  description = "Largest decoded inline ingest_file payload; hex doubles it and a request is capped at 32 MB."
  default     = 15728640
}

variable "inline_payload_max_bytes" {
  type        = number
  description = "Parsed payloads up to this size are returned inline by the read API."
  default     = 262144
}

variable "lease_seconds" {
  type        = number
  description = "The dispatch deadline: how long a dispatched parse may wait for a worker before the sweep re-dispatches it."
  default     = 600
}

variable "claim_lease_seconds" {
  type        = number
  description = "How long a worker's claim on a parse holds without renewal; a dead worker's parse is reclaimed after it."
  default     = 30
}

variable "lease_renew_seconds" {
  type        = number
  description = "How often a working parse renews its claim (the heartbeat); well under claim_lease_seconds."
  default     = 10
}

variable "max_parse_attempts" {
  type        = number
  description = "Claims after which an intent is failed."
  default     = 3
}

variable "outbox_grace_seconds" {
  type        = number
  description = "Age after which the sweep delivers an undelivered outbox record."
  default     = 30
}

variable "working_material_ttl_days" {
  type        = number
  description = "Days before unsaved working material expires (bucket lifecycle and settings agree on it)."
  default     = 7
}

variable "dedup_ttl_days" {
  type        = number
  description = "Days a dedup record is kept before the Firestore TTL policy removes it."
  default     = 7
}

variable "cors_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the API (the functions answer CORS preflights for them)."
  default     = []
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

variable "reference_sample_size" {
  type        = number
  description = "Data Brain references the sweep checks against storage on each run (the reference_drift metric)."
  default     = 50
}

variable "openlineage_url" {
  type        = string
  description = "Also POST every OpenLineage event to {url}/api/v1/lineage (a Marquez), when not empty."
  default     = ""
}

variable "lineage_base_url" {
  type        = string
  description = "Where shared/lineage/ is served (the repository's raw files): the events' _producer and, under facets/, our facet's _schemaURL. Empty: a URN names the producer, and the schema is not resolvable."
  default     = ""
}

variable "log_level" {
  type        = string
  description = "Minimum log severity of the functions."
  default     = "INFO"
}

variable "resumable_threshold_bytes" {
  type        = number
  description = "Uploads larger than this get a GCS resumable session instead of one signed PUT."
  default     = 8388608
}

variable "resumable_chunk_bytes" {
  type        = number
  description = "Chunk size advised to resumable clients; a multiple of 256 KiB."
  default     = 8388608
}

variable "resumable_session_ttl_seconds" {
  type        = number
  description = "How long a resumable upload is offered (GCS keeps a session for a week)."
  default     = 518400
}

variable "cost_guard_threshold" {
  type        = number
  description = "Share of the billing budget actually spent at which the cost guard caps the parse queue and the functions."
  default     = 1.0
}

variable "cost_guard_dispatches_per_second" {
  type        = number
  description = "Parse queue dispatch rate the cost guard sets when it caps."
  default     = 0.1
}

variable "cost_guard_max_instances" {
  type        = number
  description = "Max instances the cost guard sets on each function when it caps."
  default     = 1
}

variable "as2_id_prefix" {
  type        = string
  description = "A tenant's own AS2 id is this prefix followed by its tenant id."
  default     = "INGEST-"
}

variable "as2_public_url" {
  type        = string
  description = "Where partners send AS2 messages (the gateway's /as2)."
  default     = ""
}

variable "as2_key_secret" {
  type        = string
  description = "Secret Manager secret id holding our AS2 private key and certificate (PEM bundle)."
  default     = "as2-key"
}

variable "as2_max_bytes" {
  type        = number
  description = "Largest AS2 message body the endpoint accepts."
  default     = 15728640
}

variable "as2_deliver_url" {
  type        = string
  description = "HTTP target of AS2 delivery commands (the as2-deliver function)."
  default     = ""
}

variable "documentai_processor_version" {
  type        = string
  description = "Full name of the Document AI OCR processor version the parse worker calls."
}

variable "ocr_max_pages" {
  type        = number
  description = "Pages read by OCR per file; a file that needs more is refused."
  default     = 50
}

variable "ocr_max_seconds" {
  type        = number
  description = "OCR time per file, in seconds; a file that needs more is refused."
  default     = 300
}
