variable "project_id" {
  type        = string
  description = "Project that owns the BigQuery dataset and receives the lineage events."
}

variable "location" {
  type        = string
  description = "BigQuery and BigLake connection location; the records bucket's region."
}

variable "records_bucket" {
  type        = string
  description = "The records bucket; READY structured records live under tables/dataset={d}/tenant_id={t}/artifact_id={a}/data.parquet."
}

variable "dataset_id" {
  type        = string
  description = "BigQuery dataset that holds one BigLake table per record dataset."
  default     = "records"
}

variable "record_datasets" {
  type        = list(string)
  description = "Record datasets published as BigLake tables (the dataset= path segment: a save's metadata.dataset, else the file name's stem)."
  default     = []
  validation {
    condition     = alltrue([for d in var.record_datasets : can(regex("^[a-z_][a-z0-9_]{0,63}$", d))])
    error_message = "Record dataset names are lower-case identifiers, as the platform writes them."
  }
}

variable "tenant_readers" {
  type        = map(list(string))
  description = "Tenant id => IAM members (group:..., user:..., serviceAccount:...) who may read that tenant's rows, and only those."
  default     = {}
  validation {
    condition     = alltrue([for t in keys(var.tenant_readers) : can(regex("^[A-Za-z0-9_-]{1,64}$", t))])
    error_message = "Tenant ids are letters, digits, '-' and '_'."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the BigLake tables from terraform destroy."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels for the dataset and tables."
  default     = {}
}
