# Partner exchange. Our AS2 private key and certificate (one PEM bundle) live in Secret Manager: Terraform declares
# the secret only, and its value is added out of band (gcloud secrets versions add as2-key --data-file=...), so the key
# never enters Terraform state. Only the function that signs MDNs and acknowledgements (as2-http, access.tf flag
# read_as2_key) may read it, on this secret alone.

variable "as2_public_url" {
  type        = string
  description = "Where partners send AS2 messages: the gateway's https://.../as2 (GET /v1/as2/identity returns it)."
  default     = ""
}

resource "google_secret_manager_secret" "as2_key" {
  project   = var.project_id
  secret_id = "as2-key"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [module.services]
}

resource "google_secret_manager_secret_iam_member" "function_reads_as2_key" {
  for_each = toset([for fn, a in local.access : fn if try(a.read_as2_key, false)])

  project   = var.project_id
  secret_id = google_secret_manager_secret.as2_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.function_member[each.key]
}
