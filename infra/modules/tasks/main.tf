# Commands ("parse intent X") go through this queue to the parse worker. Task names are deterministic, so a
# duplicate enqueue is dropped by Cloud Tasks. The dispatch deadline (1800 s, the maximum) is set per task by the
# enqueuer, and the worker's timeout matches it, so a 100 MB parse fits.
resource "google_cloud_tasks_queue" "this" {
  project  = var.project_id
  name     = var.name
  location = var.location

  rate_limits {
    max_dispatches_per_second = var.max_dispatches_per_second
    max_concurrent_dispatches = var.max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = var.max_attempts
    min_backoff        = var.min_backoff
    max_backoff        = var.max_backoff
    max_doublings      = var.max_doublings
    max_retry_duration = var.max_retry_duration
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }
}
