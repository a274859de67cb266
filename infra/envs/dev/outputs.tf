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

output "web_bucket" {
  description = "Bucket Cloud Build copies the built app to; empty when no web_domain is set."
  value       = var.web_domain == "" ? "" : module.web[0].bucket
}

output "web_app_url" {
  description = "Where people open the browser app; empty when no web_domain is set."
  value       = var.web_domain == "" ? "" : module.web[0].app_url
}

output "identity_tenant_ids" {
  description = "Identity Platform tenant id of each declared tenant (the firebase.tenant claim of its users)."
  value       = module.platform.identity_tenant_ids
}
