variable "project_id" {
  type        = string
  description = "Project that owns the Firestore database."
}

variable "location_id" {
  type        = string
  description = "Firestore location, a region (us-central1) or a multi-region (nam5). It cannot change later."
}

variable "indexes" {
  type        = any
  description = "Composite indexes in the Firebase indexes format ({collectionGroup, queryScope, fields}), keyed."
}

variable "field_overrides" {
  type        = any
  description = "Field overrides in the Firebase format ({collectionGroup, fieldPath, ttl, indexes}), keyed."
}

variable "delete_protection" {
  type        = bool
  description = "Refuse to delete the database (on in production)."
  default     = true
}
