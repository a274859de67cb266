output "api_url" {
  description = "Public base URL of the API."
  value       = module.platform.api_url
}

output "function_uris" {
  description = "HTTPS URI of every function."
  value       = module.platform.function_uris
}

output "buckets" {
  description = "Bucket names by role."
  value       = module.platform.buckets
}

output "function_service_accounts" {
  description = "Runtime service account of each function."
  value       = module.platform.function_service_accounts
}

output "staged_archives" {
  description = "Deployed archive per source dir."
  value       = module.platform.staged_archives
}
