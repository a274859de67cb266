output "tenant_ids" {
  description = "Identity Platform tenant id of each declared tenant (the firebase.tenant claim of its users' tokens)."
  value       = { for key, t in google_identity_platform_tenant.this : key => t.name }
}

output "authorized_domains" {
  description = "Domains allowed to sign in."
  value       = google_identity_platform_config.this.authorized_domains
}
