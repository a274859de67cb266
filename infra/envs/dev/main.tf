# The dev environment: the whole platform in one project.
module "platform" {
  source = "../../modules/platform"

  project_id            = var.project_id
  region                = var.region
  environment           = "dev"
  firestore_location    = var.firestore_location
  bucket_prefix         = var.project_id
  cors_origins          = var.cors_origins
  staged_manifest_path  = var.staged_manifest_path
  log_level             = var.log_level
  alert_email           = var.alert_email
  notification_channels = var.notification_channels
  force_destroy         = true
  delete_protection     = false
}
