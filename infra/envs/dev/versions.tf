terraform {
  required_version = ">= 1.0.3, < 2.0.0"

  # State lives in the bucket made at bootstrap (infra/README.md); Cloud Build passes
  # -backend-config="bucket=$STATE_BUCKET" -backend-config="prefix=envs/dev".
  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14.0, < 7.0.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.14.0, < 7.0.0"
    }
  }
}

provider "google" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
