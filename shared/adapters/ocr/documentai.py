"""OCR with Document AI's Enterprise Document OCR processor: production's engine.

Each page image is one online request (`process_document`) to a pinned processor version, so the version the
artifact records is the one that read it. The worker's service account needs only
`documentai.processorVersions.processOnline` on that processor (infra/iam, derived grants).
https://cloud.google.com/document-ai/docs/reference/rest/v1/projects.locations.processors.processorVersions/process
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from shared.parsing.ocr import OcrText, OcrTimeout, OcrUnavailable

if TYPE_CHECKING:
    from PIL.Image import Image


class DocumentAiOcr:
    name = "documentai"

    def __init__(self, processor_version: str, client: Any = None) -> None:
        parts = processor_version.split("/")
        if len(parts) != 8 or parts[0] != "projects" or parts[6] != "processorVersions":
            raise ValueError("documentai_processor_version must be "
                             "projects/P/locations/L/processors/ID/processorVersions/V")
        self._name = processor_version
        self.version = parts[7]
        if client is None:
            from google.cloud import documentai_v1

            client = documentai_v1.DocumentProcessorServiceClient(
                client_options={"api_endpoint": f"{parts[3]}-documentai.googleapis.com"})
        self._client = client

    def recognize(self, image: Image, timeout: float) -> OcrText:
        from google.api_core import exceptions
        from google.cloud import documentai_v1

        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        request = documentai_v1.ProcessRequest(
            name=self._name, skip_human_review=True,
            raw_document=documentai_v1.RawDocument(content=buffer.getvalue(), mime_type="image/png"))
        try:
            response = self._client.process_document(request=request, timeout=timeout)
        except exceptions.DeadlineExceeded as exc:
            raise OcrTimeout(str(exc)) from None
        except (exceptions.ServiceUnavailable, exceptions.TooManyRequests, exceptions.InternalServerError) as exc:
            raise OcrUnavailable(f"Document AI: {exc}") from None
        return text_of(response.document)


def text_of(document: Any) -> OcrText:
    """The document's text, and the mean confidence of its tokens (of its pages when it has no tokens)."""
    confidences = [token.layout.confidence for page in document.pages for token in page.tokens]
    if not confidences:
        confidences = [page.layout.confidence for page in document.pages]
    return OcrText(document.text, sum(confidences) / len(confidences) if confidences else None)
