# Our AS2 private key and certificate (one PEM bundle). Terraform declares the secret only: its value is added
# out of band (gcloud secrets versions add as2-key --data-file=...), so the key never enters Terraform state.
# The accessor grant (roles/secretmanager.secretAccessor on this secret alone) goes to the as2 functions' accounts
# when they join infra/functions.json and the access table.
resource "google_secret_manager_secret" "as2_key" {
  project   = var.project_id
  secret_id = "as2-key"
  labels    = var.labels

  replication {
    auto {}
  }
}
