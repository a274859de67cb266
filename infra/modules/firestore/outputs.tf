output "database" {
  description = "Name of the Firestore database."
  value       = google_firestore_database.this.name
}

output "index_ids" {
  description = "Resource ids of the composite indexes, keyed like the input."
  value       = { for key, idx in google_firestore_index.composite : key => idx.id }
}

output "ttl_fields" {
  description = "Fields with a TTL policy, as collection.field."
  value       = sort([for key, o in var.field_overrides : key if lookup(o, "ttl", false)])
}
