output "name" {
  description = "Job name."
  value       = google_cloud_scheduler_job.this.name
}
