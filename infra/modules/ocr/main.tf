# Document AI's Enterprise Document OCR processor: the parse worker reads scanned PDF pages and image uploads with it.
# The worker calls one pinned processor version (never "the default"), so the version each parsed artifact records
# in its semantic_descriptor is the one that read it. Who may call it is granted in ../platform/access.tf.
resource "google_document_ai_processor" "ocr" {
  # checkov:skip=CKV2_GCP_22: Google-managed encryption, like the buckets the scans come from; online processing stores no document
  project      = var.project_id
  location     = var.location
  display_name = var.display_name
  type         = "OCR_PROCESSOR"
}
