output "processor_version" {
  description = "Full name of the pinned processor version, as the worker's DOCUMENTAI_PROCESSOR_VERSION setting reads it."
  value       = "${google_document_ai_processor.ocr.id}/processorVersions/${var.processor_version}"
}
