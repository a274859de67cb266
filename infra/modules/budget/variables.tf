variable "project_id" {
  type        = string
  description = "Project whose spend the budget watches."
}

variable "project_number" {
  type        = string
  description = "Number of that project (budget filters name projects by number)."
}

variable "environment" {
  type        = string
  description = "Environment name, in the budget's display name."
}

variable "billing_account" {
  type        = string
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) the budget is created on; empty: no budget (the topic and the guard's subscription still exist)."
  default     = ""
}

variable "monthly_amount" {
  type        = number
  description = "Monthly budget, in currency_code units."
  default     = 500
}

variable "currency_code" {
  type        = string
  description = "Currency of the billing account (a budget must use it)."
  default     = "USD"
}

variable "alert_thresholds" {
  type        = list(number)
  description = "Shares of the budget actually spent at which people are notified; the cost guard caps at its own threshold (cost_guard_threshold)."
  default     = [0.5, 0.9, 1.0]
}

variable "guard_uri" {
  type        = string
  description = "HTTPS URI of the cost guard function (push endpoint and OIDC audience)."
}

variable "push_service_account_email" {
  type        = string
  description = "Account whose OIDC token the push subscription sends; it may invoke the cost guard."
}

variable "notification_channels" {
  type        = list(string)
  description = "Monitoring notification channels the budget notifies at each threshold (at most 5)."
  default     = []
}

variable "labels" {
  type        = map(string)
  description = "Labels of the topic and the subscription."
  default     = {}
}
