output "events_topic" {
  description = "Name of the domain-events topic."
  value       = google_pubsub_topic.events.name
}

output "events_topic_id" {
  description = "Resource id of the domain-events topic, for publisher grants."
  value       = google_pubsub_topic.events.id
}

output "dead_letter_topic" {
  description = "Name of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.name
}

output "consumer_subscription" {
  description = "Name of the consumer's push subscription."
  value       = google_pubsub_subscription.consumer.name
}

output "dead_letter_subscription" {
  description = "Name of the subscription that holds dead-lettered events."
  value       = google_pubsub_subscription.dead_letter_hold.name
}
