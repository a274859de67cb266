output "bucket" {
  description = "Bucket the built app is copied to (under app/)."
  value       = google_storage_bucket.web.name
}

output "app_origin" {
  description = "Origin of the app; the API and the uploads bucket must allow it in their CORS lists."
  value       = local.app_origin
}

output "app_url" {
  description = "Where people open the app."
  value       = "${local.app_origin}/app/"
}

output "ip_address" {
  description = "Address the domain's DNS A record must point at."
  value       = google_compute_global_address.web.address
}
