output "uploads_bucket" {
  description = "Name of the uploads bucket (signed-URL PUT target; the only bucket that triggers ingest)."
  value       = google_storage_bucket.uploads.name
}

output "derived_bucket" {
  description = "Name of the derived bucket (parse output)."
  value       = google_storage_bucket.derived.name
}

output "records_bucket" {
  description = "Name of the records bucket (persistent materializations)."
  value       = google_storage_bucket.records.name
}

output "sources_bucket" {
  description = "Name of the bucket holding the staged function archives."
  value       = google_storage_bucket.sources.name
}
