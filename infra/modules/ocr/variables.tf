variable "project_id" {
  type        = string
  description = "Project that owns the processor."
}

variable "location" {
  type        = string
  description = "Document AI location: the multi-region us or eu (the API endpoint is LOCATION-documentai.googleapis.com)."
  default     = "us"

  validation {
    condition     = contains(["us", "eu"], var.location)
    error_message = "Document AI processors live in the us or eu multi-region."
  }
}

variable "display_name" {
  type        = string
  description = "The processor's display name."
  default     = "content-ingestion-ocr"
}

variable "processor_version" {
  type        = string
  description = "The pinned OCR processor version (Document AI's list of Enterprise Document OCR versions)."
  default     = "pretrained-ocr-v2.1.1-2025-01-31"
}
