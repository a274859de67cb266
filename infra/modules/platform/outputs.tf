output "api_url" {
  description = "Public base URL: the API Gateway in front of the public routes."
  value       = module.gateway.url
}

output "function_uris" {
  description = "HTTPS URI of every function (reachable only by its invokers)."
  value       = { for name, m in local.deployed : name => m.uri }
}

output "buckets" {
  description = "Bucket names by role."
  value       = merge(local.bucket_names, { sources = module.storage.sources_bucket })
}

output "events_topic" {
  description = "Domain-events topic."
  value       = module.messaging.events_topic
}

output "dead_letter_topic" {
  description = "Where undeliverable events go."
  value       = module.messaging.dead_letter_topic
}

output "tasks_queue" {
  description = "Queue of parse commands."
  value       = module.tasks.name
}

output "function_service_accounts" {
  description = "Runtime service account of each function."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}

output "staged_archives" {
  description = "Deployed archive object per source dir."
  value       = { for source, o in google_storage_bucket_object.source : source => o.name }
}

output "identity_tenant_ids" {
  description = "Identity Platform tenant id of each declared tenant."
  value       = module.identity.tenant_ids
}
