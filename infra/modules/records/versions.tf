terraform {
  required_version = ">= 1.0.3, < 2.0.0"
  required_providers {
    google = {
      source = "hashicorp/google"
      # google_bigquery_row_access_policy arrived in 6.36.0.
      version = ">= 6.36.0, < 7.0.0"
    }
  }
}
