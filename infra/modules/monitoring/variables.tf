variable "project_id" {
  type        = string
  description = "Project of the functions, their logs and the alert policies."
}

variable "functions" {
  type        = list(string)
  description = "Names of the deployed functions (Cloud Run services): the metrics count only their log lines."
}

variable "metrics_file" {
  type        = string
  description = "Path of infra/monitoring/metrics.json, the declaration of the log-based metrics."
}

variable "consumer_subscription" {
  type        = string
  description = "Name of the event consumer's push subscription (its oldest unacked message is alerted on)."
}

variable "dead_letter_subscription" {
  type        = string
  description = "Name of the subscription that holds dead-lettered events (any backlog is alerted on)."
}

variable "notification_channels" {
  type        = list(string)
  description = "Ids of existing notification channels (projects/P/notificationChannels/N) every alert notifies."
  default     = []
}

variable "alert_email" {
  type        = string
  description = "When set, an email notification channel is created for this address and added to every alert."
  default     = ""
}

variable "outbox_max_age_minutes" {
  type        = number
  description = "An outbox record still undelivered after this many minutes raises the outbox alert."
  default     = 10
}

variable "http_5xx_ratio" {
  type        = number
  description = "Share of HTTP requests answered 5xx, over 5 minutes, above which the 5xx alert fires."
  default     = 0.02
}

variable "parse_failure_ratio" {
  type        = number
  description = "Share of parse attempts that fail, over 15 minutes, above which the parse alert fires."
  default     = 0.2
}

variable "function_errors_per_5m" {
  type        = number
  description = "ERROR log lines of one function in 5 minutes above which the function error alert fires."
  default     = 5
}

variable "oldest_unacked_seconds" {
  type        = number
  description = "Age of the oldest unacknowledged event on the consumer subscription that raises the alert."
  default     = 600
}

variable "labels" {
  type        = map(string)
  description = "User labels of the alert policies."
  default     = {}
}

variable "repo_url" {
  type        = string
  description = "Web URL of this repository; each alert links <repo_url>/blob/main/infra/runbooks/<alert>.md. Empty: the alert names the runbook's path in the repository."
  default     = ""
}

variable "tasks_queue" {
  type        = string
  description = "Name of the parse-commands queue (its depth and task delays are alerted on)."
}

variable "scheduler_jobs" {
  type        = list(string)
  description = "Cloud Scheduler jobs that must attempt at least once per silence window."
}

variable "traffic_expected" {
  type        = list(string)
  description = "Functions that always have requests (the sweep every minute; in a busy environment the API too): silence on one alerts."
}

variable "silence_minutes" {
  type        = number
  description = "Minutes without a sweep run, a scheduler attempt or a request to an expected-traffic function that raise the absence alerts."
  default     = 10
}

variable "min_requests_per_second" {
  type        = number
  description = "Traffic guard of the request ratio alerts: below this rate a ratio is not evaluated (a 5xx among three requests pages nobody)."
  default     = 0.05
}

variable "min_parses_per_second" {
  type        = number
  description = "Traffic guard of the parse failure ratio (15 minute window)."
  default     = 0.005
}

variable "timeouts_per_5m" {
  type        = number
  description = "Cloud Run 504s (request timeouts) in 5 minutes above which the timeout alert fires."
  default     = 0
}

variable "queue_depth_max" {
  type        = number
  description = "Parse commands waiting in the queue, for 10 minutes, above which the queue alert fires."
  default     = 200
}

variable "queue_delay_max_seconds" {
  type        = number
  description = "p99 seconds a parse command waits past its schedule before an attempt, above which the task-age alert fires."
  default     = 600
}

variable "api_availability_goal" {
  type        = number
  description = "API availability SLO: share of requests not answered 5xx, over a rolling 28 days."
  default     = 0.995
}

variable "freshness_goal" {
  type        = number
  description = "Journey freshness SLO: share of files parsed within freshness_target_seconds of their upload (0.95 = p95)."
  default     = 0.95
}

variable "freshness_target_seconds" {
  type        = number
  description = "Journey freshness SLO's bound on upload-to-parsed time, in seconds."
  default     = 300
}
