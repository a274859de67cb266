variable "project_id" {
  type        = string
  description = "Project whose APIs are enabled."
}

variable "services" {
  type        = list(string)
  description = "APIs the platform uses, e.g. cloudfunctions.googleapis.com."
}
