output "dataset_id" {
  description = "The BigQuery dataset of the record tables (ingestctl query --engine bigquery --bq-dataset)."
  value       = google_bigquery_dataset.records.dataset_id
}

output "tables" {
  description = "Record dataset => BigLake table id."
  value       = { for name, table in google_bigquery_table.dataset : name => table.id }
}

output "connection" {
  description = "The BigLake connection that reads the records bucket's tables/."
  value       = google_bigquery_connection.biglake.name
}
