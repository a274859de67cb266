output "url" {
  description = "Public base URL of the API."
  value       = "https://${google_api_gateway_gateway.this.default_hostname}"
}

output "managed_service" {
  description = "Managed service name of the API."
  value       = google_api_gateway_api.this.managed_service
}
