variable "project_id" {
  type        = string
  description = "Project that owns the gateway."
}

variable "region" {
  type        = string
  description = "Region of the gateway."
}

variable "api_id" {
  type        = string
  description = "API id (lower case, hyphens)."
}

variable "openapi_document" {
  type        = string
  description = "OpenAPI 2.0 document (JSON) generated from routes.json."
}

variable "service_account_email" {
  type        = string
  description = "Account the gateway signs backend OIDC tokens with; it may invoke the public functions only."
}

variable "labels" {
  type        = map(string)
  description = "Labels put on the API, its config and the gateway."
  default     = {}
}
