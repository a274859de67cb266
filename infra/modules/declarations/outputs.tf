output "functions" {
  description = "Every declared function with its derived deployment facts (service account, ingress, archive)."
  value       = local.functions
}

output "task_targets" {
  description = "Functions reached by Cloud Tasks (the parse worker), deployed before the functions that enqueue to them."
  value       = local.task_targets
}

output "services" {
  description = "Every function that is not a Cloud Tasks target."
  value       = local.services
}

output "by_trigger" {
  description = "Function names per trigger kind: http, storage_finalize, pubsub, task, scheduler."
  value       = local.by_trigger
}

output "public_functions" {
  description = "Names of the functions behind the public routes."
  value       = sort([for name, f in local.functions : name if f.public])
}

output "sources" {
  description = "Staged archives by source dir, as written by dev/stage.py."
  value       = local.staged
}

output "accounts" {
  description = "Account ids of the non-function service accounts, by role."
  value       = local.accounts
}

output "account_emails" {
  description = "Emails of the non-function service accounts, by role."
  value       = local.account_emails
}

output "task_target_environment" {
  description = "Environment variables (every Settings field) of each Cloud Tasks target."
  value       = local.task_target_environment
}

output "service_environment" {
  description = "Environment variables (every Settings field) of each other function."
  value       = local.service_environment
}

output "firestore_indexes" {
  description = "Composite indexes from firestore_indexes.json, keyed by their content."
  value       = local.firestore_indexes
}

output "firestore_field_overrides" {
  description = "Field overrides (TTL policies and single-field index settings) from firestore_indexes.json."
  value       = local.firestore_field_overrides
}

output "routes" {
  description = "The public routing table (routes.json)."
  value       = local.route_list
}

output "openapi_document" {
  description = "OpenAPI 2.0 document for API Gateway, generated from routes.json."
  value       = jsonencode(local.openapi)
}
