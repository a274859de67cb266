output "name" {
  description = "Function name (also the name of its Cloud Run service)."
  value       = google_cloudfunctions2_function.this.name
}

output "uri" {
  description = "HTTPS URI of the function's service; the OIDC audience for its callers."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "service" {
  description = "Name of the Cloud Run service behind the function."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}
