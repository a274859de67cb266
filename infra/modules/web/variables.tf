variable "project_id" {
  type        = string
  description = "Project that hosts the web app."
}

variable "name_prefix" {
  type        = string
  description = "Globally unique prefix of the bucket name, e.g. the project id."
}

variable "location" {
  type        = string
  description = "Location of the bucket holding the built app."
}

variable "domain" {
  type        = string
  description = "Domain the app is served on (a Google-managed certificate is issued for it); its DNS A record must point at the ip_address output."
}

variable "api_base_url" {
  type        = string
  description = "Public base URL of the API; written to the app's config.json, so one build serves every environment."
}

variable "identity_platform_api_key" {
  type        = string
  description = "Browser API key of Identity Platform, which the app signs people in with (a public identifier, not a secret)."
  default     = ""
}

variable "labels" {
  type        = map(string)
  description = "Labels put on the bucket."
  default     = {}
}
