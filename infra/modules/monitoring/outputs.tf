output "metric_types" {
  description = "Metric type of each log-based metric, by name (logging.googleapis.com/user/<name>)."
  value       = { for name, m in google_logging_metric.this : name => "logging.googleapis.com/user/${m.name}" }
}

output "alert_policies" {
  description = "Alert policy resource names, by alert."
  value       = { for name, p in google_monitoring_alert_policy.this : name => p.name }
}

output "dashboard_id" {
  description = "Id of the platform dashboard."
  value       = google_monitoring_dashboard.platform.id
}

output "channels" {
  description = "Notification channels every alert notifies (the budget notifies them too)."
  value       = local.channels
}

output "slos" {
  description = "SLO resource names by key."
  value       = { for k, slo in google_monitoring_slo.this : k => slo.name }
}
