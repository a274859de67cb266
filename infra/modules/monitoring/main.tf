# Log-based metrics from the functions' JSON log lines, the alerts on them and on Pub/Sub, and one dashboard.
# The metrics are declared in infra/monitoring/metrics.json: tests/stack/test_monitoring.py proves every filter there
# matches the lines it counts on the local stack. Each alert links its runbook in infra/README.md.

locals {
  metrics = jsondecode(file(var.metrics_file)).metrics

  # Cloud Functions (2nd gen) log as their Cloud Run service; only this platform's functions are counted.
  functions_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(${join(" OR ", [for f in var.functions : "\"${f}\""])})"

  channels = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
  user     = { for name, _ in local.metrics : name => "logging.googleapis.com/user/${name}" }
  runbook  = "https://github.com/OWNER/REPO/blob/main/infra/README.md#runbook-"

  alerts = {
    dead-letter-backlog = {
      summary = "Events are in the dead-letter subscription: the consumer gave up on them after every retry."
      conditions = [{
        name        = "dead-lettered events > 0"
        filter      = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.dead_letter_subscription}\""
        aligner     = "ALIGN_MAX"
        period      = "60s"
        threshold   = 0
        duration    = "60s"
        denominator = null
      }]
    }
    outbox-stalled = {
      summary = "An outbox record has stayed undelivered for ${var.outbox_max_age_minutes} minutes: events or commands are not leaving."
      conditions = [{
        name        = "oldest undelivered outbox record > ${var.outbox_max_age_minutes} min"
        filter      = "metric.type=\"${local.user["outbox_oldest_pending"]}\" AND resource.type=\"cloud_run_revision\""
        aligner     = "ALIGN_PERCENTILE_99"
        period      = "300s"
        threshold   = var.outbox_max_age_minutes * 60
        duration    = "0s"
        denominator = null
      }]
    }
    http-5xx-rate = {
      summary = "More than ${var.http_5xx_ratio * 100}% of API requests answered 5xx over 5 minutes."
      conditions = [{
        name        = "5xx share of requests > ${var.http_5xx_ratio}"
        filter      = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.status_class=\"5xx\""
        aligner     = "ALIGN_RATE"
        period      = "300s"
        threshold   = var.http_5xx_ratio
        duration    = "0s"
        denominator = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\""
      }]
    }
    parse-failure-rate = {
      summary = "More than ${var.parse_failure_ratio * 100}% of parse attempts failed over 15 minutes."
      conditions = [{
        name        = "failed share of parses > ${var.parse_failure_ratio}"
        filter      = "metric.type=\"${local.user["parse_outcomes"]}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.outcome=\"failed\""
        aligner     = "ALIGN_RATE"
        period      = "900s"
        threshold   = var.parse_failure_ratio
        duration    = "0s"
        denominator = "metric.type=\"${local.user["parse_outcomes"]}\" AND resource.type=\"cloud_run_revision\""
      }]
    }
    function-error-rate = {
      summary = "A function wrote more than ${var.function_errors_per_5m} ERROR lines in 5 minutes."
      conditions = [{
        name        = "ERROR lines of one function in 5 min > ${var.function_errors_per_5m}"
        filter      = "metric.type=\"${local.user["function_errors"]}\" AND resource.type=\"cloud_run_revision\""
        aligner     = "ALIGN_SUM"
        period      = "300s"
        threshold   = var.function_errors_per_5m
        duration    = "0s"
        denominator = null
      }]
    }
    event-subscription-oldest-unacked = {
      summary = "An event has waited ${var.oldest_unacked_seconds} s on the consumer subscription: the consumer is down or failing."
      conditions = [{
        name        = "oldest unacked event > ${var.oldest_unacked_seconds} s"
        filter      = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.consumer_subscription}\""
        aligner     = "ALIGN_MAX"
        period      = "60s"
        threshold   = var.oldest_unacked_seconds
        duration    = "120s"
        denominator = null
      }]
    }
  }
}

resource "google_logging_metric" "this" {
  for_each = local.metrics

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = "${local.functions_filter} AND (${each.value.filter})"

  label_extractors = each.value.labels
  value_extractor  = each.value.kind == "distribution" ? each.value.value : null

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = each.value.kind == "distribution" ? "DISTRIBUTION" : "INT64"
    unit        = lookup(each.value, "unit", "1")

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  dynamic "bucket_options" {
    for_each = each.value.kind == "distribution" ? [1] : []
    content {
      exponential_buckets {
        num_finite_buckets = 40
        growth_factor      = 1.5
        scale              = 1
      }
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  project      = var.project_id
  display_name = "Ingestion platform on-call"
  type         = "email"
  labels       = { email_address = var.alert_email }
}

resource "google_monitoring_alert_policy" "this" {
  for_each   = local.alerts
  depends_on = [google_logging_metric.this] # a policy on a log-based metric needs the metric to exist

  project               = var.project_id
  display_name          = "ingestion: ${each.key}"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = var.labels

  documentation {
    content   = "${each.value.summary} Runbook: ${local.runbook}${each.key}"
    mime_type = "text/markdown"
  }

  dynamic "conditions" {
    for_each = each.value.conditions
    content {
      display_name = conditions.value.name
      condition_threshold {
        filter                  = conditions.value.filter
        denominator_filter      = conditions.value.denominator
        comparison              = "COMPARISON_GT"
        threshold_value         = conditions.value.threshold
        duration                = conditions.value.duration
        evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
        aggregations {
          alignment_period     = conditions.value.period
          per_series_aligner   = conditions.value.aligner
          cross_series_reducer = conditions.value.denominator == null ? null : "REDUCE_SUM"
        }
        dynamic "denominator_aggregations" {
          for_each = conditions.value.denominator == null ? [] : [1]
          content {
            alignment_period     = conditions.value.period
            per_series_aligner   = conditions.value.aligner
            cross_series_reducer = "REDUCE_SUM"
          }
        }
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }
}

resource "google_monitoring_dashboard" "platform" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "Ingestion platform"
    mosaicLayout = {
      columns = 12
      tiles = [
        for i, chart in concat(
          [for name, m in local.metrics : {
            title  = m.description
            filter = "metric.type=\"${local.user[name]}\" AND resource.type=\"cloud_run_revision\""
            # Distributions show their 95th percentile; counters their rate, split by the metric's labels.
            aligner = m.kind == "distribution" ? "ALIGN_PERCENTILE_95" : "ALIGN_RATE"
            reducer = m.kind == "distribution" ? "REDUCE_MAX" : "REDUCE_SUM"
            groupBy = [for key in keys(m.labels) : "metric.label.${key}"]
          }],
          [
            { title = "Dead-lettered events", filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.dead_letter_subscription}\"", aligner = "ALIGN_MAX", reducer = "REDUCE_NONE", groupBy = [] },
            { title = "Oldest unacked event (s)", filter = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.consumer_subscription}\"", aligner = "ALIGN_MAX", reducer = "REDUCE_NONE", groupBy = [] },
          ]
          ) : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = chart.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = chart.filter
                    aggregation = {
                      alignmentPeriod    = "60s"
                      perSeriesAligner   = chart.aligner
                      crossSeriesReducer = length(chart.groupBy) > 0 ? chart.reducer : "REDUCE_NONE"
                      groupByFields      = chart.groupBy
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })
}
