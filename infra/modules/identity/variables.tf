variable "project_id" {
  type        = string
  description = "Project whose Identity Platform is configured."
}

variable "authorized_domains" {
  type        = list(string)
  description = "Domains the browser app signs people in from (the web app's domain); the project's own Firebase domains are always authorized."
  default     = []
}

variable "tenants" {
  type        = map(string)
  description = "Identity Platform tenants, key => display name (4-20 letters, digits or hyphens, starting with a letter). Each token's firebase.tenant is the tenant id Identity Platform assigns."
  default     = {}

  validation {
    condition     = alltrue([for name in values(var.tenants) : can(regex("^[A-Za-z][A-Za-z0-9-]{3,19}$", name))])
    error_message = "A tenant display name is 4-20 letters, digits or hyphens, starting with a letter."
  }
}
