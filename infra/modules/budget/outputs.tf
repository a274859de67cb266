output "topic" {
  description = "Topic Cloud Billing publishes the budget's notifications to."
  value       = google_pubsub_topic.budget.name
}

output "budget" {
  description = "The budget's resource name; empty when no billing account is given."
  value       = one(google_billing_budget.this[*].name)
}
