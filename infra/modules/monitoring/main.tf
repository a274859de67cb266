# Log-based metrics from the functions' JSON log lines, the alerts on them and on Pub/Sub, and one dashboard.
# The metrics are declared in infra/monitoring/metrics.json: tests/stack/test_monitoring.py proves every filter there
# matches the lines it counts on the local stack. Each alert links its runbook in infra/README.md.

locals {
  metrics = jsondecode(file(var.metrics_file)).metrics

  # Cloud Functions (2nd gen) log as their Cloud Run service; only this platform's functions are counted.
  functions_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(${join(" OR ", [for f in var.functions : "\"${f}\""])})"

  channels = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
  user     = { for name, _ in local.metrics : name => "logging.googleapis.com/user/${name}" }
  # Runbooks live in the repository (infra/runbooks/<alert>.md); alerts link them through var.repo_url.
  runbook = var.repo_url == "" ? "infra/runbooks/" : "${trimsuffix(var.repo_url, "/")}/blob/main/infra/runbooks/"

  run_filter       = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(${join(" OR ", [for f in var.functions : "\"${f}\""])})"
  run_requests     = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_filter}"
  gateway_requests = "metric.type=\"apigateway.googleapis.com/proxy/request_count\" AND resource.type=\"apigateway.googleapis.com/Gateway\""
  queue_filter     = "resource.type=\"cloud_tasks_queue\" AND resource.labels.queue_id=\"${var.tasks_queue}\""

  # Every condition has the same attributes. kind: threshold (above `threshold`) or absent (no data for `duration`).
  # A ratio (denominator set) is only meaningful with traffic: its alert also has a guard condition (combiner AND)
  # that the denominator's rate is above min_requests_per_second, so three requests and one 5xx page nobody.
  condition_defaults = { kind = "threshold", aligner = "ALIGN_RATE", period = "300s", threshold = 0, duration = "0s", denominator = null, reducer = null }

  guard = {
    for name, filter in {
      http     = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\""
      parse    = "metric.type=\"${local.user["parse_outcomes"]}\" AND resource.type=\"cloud_run_revision\""
      platform = local.run_requests
      gateway  = local.gateway_requests
      } : name => merge(local.condition_defaults, {
        name      = "traffic guard: more than ${var.min_requests_per_second} requests/s"
        filter    = filter
        threshold = var.min_requests_per_second
        reducer   = "REDUCE_SUM" # all traffic together
    })
  }

  alerts = {
    dead-letter-backlog = {
      summary  = "Events are in the dead-letter subscription: the consumer gave up on them after every retry."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name     = "dead-lettered events > 0"
        filter   = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.dead_letter_subscription}\""
        aligner  = "ALIGN_MAX"
        period   = "60s"
        duration = "60s"
      })]
    }
    outbox-stalled = {
      summary  = "An outbox record has stayed undelivered for ${var.outbox_max_age_minutes} minutes: events or commands are not leaving."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "oldest undelivered outbox record > ${var.outbox_max_age_minutes} min"
        filter    = "metric.type=\"${local.user["outbox_oldest_pending"]}\" AND resource.type=\"cloud_run_revision\""
        aligner   = "ALIGN_PERCENTILE_99"
        threshold = var.outbox_max_age_minutes * 60
      })]
    }
    http-5xx-rate = {
      summary  = "More than ${var.http_5xx_ratio * 100}% of API requests answered 5xx over 5 minutes."
      combiner = "AND"
      conditions = [merge(local.condition_defaults, {
        name        = "5xx share of requests > ${var.http_5xx_ratio}"
        filter      = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.status_class=\"5xx\""
        threshold   = var.http_5xx_ratio
        denominator = local.guard.http.filter
      }), local.guard.http]
    }
    parse-failure-rate = {
      summary  = "More than ${var.parse_failure_ratio * 100}% of parse attempts failed over 15 minutes."
      combiner = "AND"
      conditions = [merge(local.condition_defaults, {
        name        = "failed share of parses > ${var.parse_failure_ratio}"
        filter      = "metric.type=\"${local.user["parse_outcomes"]}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.outcome=\"failed\""
        period      = "900s"
        threshold   = var.parse_failure_ratio
        denominator = local.guard.parse.filter
      }), merge(local.guard.parse, { period = "900s", threshold = var.min_parses_per_second })]
    }
    function-error-rate = {
      summary  = "A function wrote more than ${var.function_errors_per_5m} ERROR lines in 5 minutes."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "ERROR lines of one function in 5 min > ${var.function_errors_per_5m}"
        filter    = "metric.type=\"${local.user["function_errors"]}\" AND resource.type=\"cloud_run_revision\""
        aligner   = "ALIGN_SUM"
        threshold = var.function_errors_per_5m
      })]
    }
    event-subscription-oldest-unacked = {
      summary  = "An event has waited ${var.oldest_unacked_seconds} s on the consumer subscription: the consumer is down or failing."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "oldest unacked event > ${var.oldest_unacked_seconds} s"
        filter    = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${var.consumer_subscription}\""
        aligner   = "ALIGN_MAX"
        period    = "60s"
        threshold = var.oldest_unacked_seconds
        duration  = "120s"
      })]
    }

    # ---- Silence: what should happen and did not. Missing data is the signal here, never health.
    sweep-heartbeat-missing = {
      summary  = "The outbox sweep has not finished a run for ${var.silence_minutes} minutes (it runs every minute): undelivered events, lapsed leases and expiry wait."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        kind     = "absent"
        name     = "no 'sweep finished' line for ${var.silence_minutes} min"
        filter   = "metric.type=\"${local.user["outbox_oldest_pending"]}\" AND resource.type=\"cloud_run_revision\""
        aligner  = "ALIGN_COUNT"
        duration = "${var.silence_minutes * 60}s"
      })]
    }
    scheduler-silent = {
      summary  = "Cloud Scheduler has made no attempt of the sweep job for ${var.silence_minutes} minutes: the job is paused, deleted or failing to start."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        kind     = "absent"
        name     = "no scheduler attempt for ${var.silence_minutes} min"
        filter   = "metric.type=\"cloudscheduler.googleapis.com/job/attempt_count\" AND resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=(${join(" OR ", [for j in var.scheduler_jobs : "\"${j}\""])})"
        aligner  = "ALIGN_SUM"
        duration = "${var.silence_minutes * 60}s"
      })]
    }
    request-stream-silent = {
      summary  = "A function that always has traffic has served no request for ${var.silence_minutes} minutes: it is down, unreachable, or its callers stopped."
      combiner = "OR"
      conditions = [for fn in var.traffic_expected : merge(local.condition_defaults, {
        kind     = "absent"
        name     = "no request to ${fn} for ${var.silence_minutes} min"
        filter   = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${fn}\""
        aligner  = "ALIGN_SUM"
        duration = "${var.silence_minutes * 60}s"
      })]
    }

    # ---- The platform's own view: requests that died before our code could log them (OOM, timeouts, crashes).
    platform-5xx-rate = {
      summary  = "More than ${var.http_5xx_ratio * 100}% of the functions' requests got a 5xx from Cloud Run over 5 minutes, counting those killed by OOM or timeout, which log no 'request served' line."
      combiner = "AND"
      conditions = [merge(local.condition_defaults, {
        name        = "Cloud Run 5xx share > ${var.http_5xx_ratio}"
        filter      = "${local.run_requests} AND metric.labels.response_code_class=\"5xx\""
        threshold   = var.http_5xx_ratio
        denominator = local.guard.platform.filter
      }), local.guard.platform]
    }
    request-timeouts = {
      summary  = "Cloud Run answered 504 (request timeout) to a function's caller more than ${var.timeouts_per_5m} times in 5 minutes."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "504s in 5 min > ${var.timeouts_per_5m}"
        filter    = "${local.run_requests} AND metric.labels.response_code=\"504\""
        aligner   = "ALIGN_SUM"
        threshold = var.timeouts_per_5m
      })]
    }
    container-crashes = {
      summary  = "A function's container was killed for memory or exited on its own (Cloud Run system log) in the last 5 minutes."
      combiner = "OR"
      conditions = [for name, m in local.platform_metrics : merge(local.condition_defaults, {
        name    = "${m.description} > 0"
        filter  = "metric.type=\"logging.googleapis.com/user/${name}\" AND resource.type=\"cloud_run_revision\""
        aligner = "ALIGN_SUM"
      })]
    }

    # ---- The parse queue and the gateway.
    parse-queue-depth = {
      summary  = "More than ${var.queue_depth_max} parse commands are waiting in the queue for 10 minutes: the worker is not keeping up, is failing, or was capped by the cost guard."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "parse queue depth > ${var.queue_depth_max}"
        filter    = "metric.type=\"cloudtasks.googleapis.com/queue/depth\" AND ${local.queue_filter}"
        aligner   = "ALIGN_MAX"
        period    = "60s"
        threshold = var.queue_depth_max
        duration  = "600s"
      })]
    }
    parse-queue-task-age = {
      summary  = "Parse commands waited more than ${var.queue_delay_max_seconds} s past their schedule before an attempt (p99 over 5 minutes): the age of the oldest tasks the queue dispatches."
      combiner = "OR"
      conditions = [merge(local.condition_defaults, {
        name      = "p99 task attempt delay > ${var.queue_delay_max_seconds} s"
        filter    = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_delays\" AND ${local.queue_filter}"
        aligner   = "ALIGN_PERCENTILE_99"
        threshold = var.queue_delay_max_seconds * 1000
      })]
    }
    gateway-5xx-rate = {
      summary  = "More than ${var.http_5xx_ratio * 100}% of API Gateway's answers were 5xx over 5 minutes (backend unreachable, timeouts, the gateway itself)."
      combiner = "AND"
      conditions = [merge(local.condition_defaults, {
        name        = "gateway 5xx share > ${var.http_5xx_ratio}"
        filter      = "${local.gateway_requests} AND metric.labels.response_code_class=\"5xx\""
        threshold   = var.http_5xx_ratio
        denominator = local.guard.gateway.filter
      }), local.guard.gateway]
    }
  }

  # Log-based metrics over Cloud Run's own system log lines, which our code never writes (so they are not in
  # metrics.json, whose filters the local stack proves): a kill for memory, and a container that exited.
  platform_metrics = {
    platform_oom_kills = {
      description = "Containers killed for exceeding their memory limit"
      text        = "Memory limit of"
    }
    platform_container_exits = {
      description = "Containers that exited or crashed outside a request"
      text        = "Container called exit"
    }
  }
}

resource "google_logging_metric" "platform" {
  for_each = local.platform_metrics

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = "${local.functions_filter} AND logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Fvarlog%2Fsystem\" AND textPayload:\"${each.value.text}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
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
  depends_on = [google_logging_metric.this, google_logging_metric.platform] # a policy on a log-based metric needs the metric

  project               = var.project_id
  display_name          = "ingestion: ${each.key}"
  combiner              = each.value.combiner
  notification_channels = local.channels
  user_labels           = var.labels

  documentation {
    content   = "${each.value.summary} Runbook: ${local.runbook}${each.key}.md"
    mime_type = "text/markdown"
  }

  dynamic "conditions" {
    for_each = [for c in each.value.conditions : c if c.kind == "threshold"]
    content {
      display_name = conditions.value.name
      condition_threshold {
        filter                  = conditions.value.filter
        denominator_filter      = conditions.value.denominator
        comparison              = "COMPARISON_GT"
        threshold_value         = conditions.value.threshold
        duration                = conditions.value.duration
        evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE" # silence is watched by the absence alerts
        aggregations {
          alignment_period     = conditions.value.period
          per_series_aligner   = conditions.value.aligner
          cross_series_reducer = conditions.value.denominator == null ? conditions.value.reducer : "REDUCE_SUM"
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

  dynamic "conditions" {
    for_each = [for c in each.value.conditions : c if c.kind == "absent"]
    content {
      display_name = conditions.value.name
      condition_absent {
        filter   = conditions.value.filter
        duration = conditions.value.duration
        aggregations {
          alignment_period     = "300s"
          per_series_aligner   = conditions.value.aligner
          cross_series_reducer = "REDUCE_SUM"
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

# ---- SLOs with multi-window burn-rate alerts (https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/alerting-on-budget-burn-rate).
# Both are request-based over the functions' log-based metrics: API availability (requests not answered 5xx) and
# journey freshness (files parsed within freshness_target_seconds of their upload).

resource "google_monitoring_custom_service" "ingestion" {
  project      = var.project_id
  service_id   = "content-ingestion"
  display_name = "Content ingestion"
  user_labels  = var.labels
}

locals {
  slos = {
    api-availability = {
      name = "API availability: ${var.api_availability_goal * 100}% of requests not 5xx, 28 days"
      goal = var.api_availability_goal
    }
    journey-freshness = {
      name = "Journey freshness: ${var.freshness_goal * 100}% of files parsed within ${var.freshness_target_seconds} s of upload, 28 days"
      goal = var.freshness_goal
    }
  }
  # Page on a fast burn (2% of the 28-day budget in an hour), ticket on a slow one (5% in six hours); each needs a
  # short window too, so an alert stops soon after the burn does.
  burn_windows = {
    fast = { long = "3600s", short = "300s", rate = 14.4 }
    slow = { long = "21600s", short = "1800s", rate = 6 }
  }
  burn_alerts = { for pair in setproduct(keys(local.slos), keys(local.burn_windows)) : "${pair[0]}-${pair[1]}-burn" => {
    slo = pair[0], window = local.burn_windows[pair[1]]
  } }
}

resource "google_monitoring_slo" "this" {
  for_each   = local.slos
  depends_on = [google_logging_metric.this]

  project             = var.project_id
  service             = google_monitoring_custom_service.ingestion.service_id
  slo_id              = each.key
  display_name        = each.value.name
  goal                = each.value.goal
  rolling_period_days = 28

  request_based_sli {
    dynamic "good_total_ratio" {
      for_each = each.key == "api-availability" ? [1] : []
      content {
        bad_service_filter   = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.status_class=\"5xx\""
        total_service_filter = "metric.type=\"${local.user["http_requests"]}\" AND resource.type=\"cloud_run_revision\""
      }
    }
    dynamic "distribution_cut" {
      for_each = each.key == "journey-freshness" ? [1] : []
      content {
        distribution_filter = "metric.type=\"${local.user["journey_freshness"]}\" AND resource.type=\"cloud_run_revision\""
        range {
          min = 0
          max = var.freshness_target_seconds
        }
      }
    }
  }
}

resource "google_monitoring_alert_policy" "burn_rate" {
  for_each = local.burn_alerts

  project               = var.project_id
  display_name          = "ingestion: ${each.key}"
  combiner              = "AND"
  notification_channels = local.channels
  user_labels           = var.labels

  documentation {
    content   = "The ${each.value.slo} SLO's error budget burns at ${each.value.window.rate}x its sustainable rate over ${each.value.window.long} and ${each.value.window.short}. Runbook: ${local.runbook}${each.value.slo}.md"
    mime_type = "text/markdown"
  }

  conditions {
    display_name = "burn rate over ${each.value.window.long} > ${each.value.window.rate}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.this[each.value.slo].name}\", \"${each.value.window.long}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.window.rate
      duration        = "0s"
    }
  }

  conditions {
    display_name = "burn rate over ${each.value.window.short} > ${each.value.window.rate}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.this[each.value.slo].name}\", \"${each.value.window.short}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.window.rate
      duration        = "0s"
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }
}
