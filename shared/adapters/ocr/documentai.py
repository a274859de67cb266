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
        from google.api_core.retry import Retry, if_exception_type
        from google.api_core.timeout import TimeToDeadlineTimeout
        from google.cloud import documentai_v1

        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        request = documentai_v1.ProcessRequest(
            name=self._name, skip_human_review=True,
            raw_document=documentai_v1.RawDocument(content=buffer.getvalue(), mime_type="image/png"))
        # The client's default retry runs up to 120 s whatever the call's timeout: the file's OCR budget bounds both
        # the retries and each attempt (the time left to the deadline).
        retry = Retry(predicate=if_exception_type(*_TRANSIENT), initial=0.5, maximum=max(0.5, min(8.0, timeout / 4)),
                      timeout=timeout)
        try:
            response = self._client.process_document(request=request, retry=retry, timeout=TimeToDeadlineTimeout(timeout))
        except exceptions.DeadlineExceeded as exc:
            raise OcrTimeout(str(exc)) from None
        except exceptions.RetryError as exc:  # still unavailable when the budget ran out: not the file's fault
            raise OcrUnavailable(f"Document AI: {exc.cause or exc}") from None
        except _NOT_THE_FILES as exc:  # a transient outage, or our own grant or processor: retried, then dead-lettered
            raise OcrUnavailable(f"Document AI: {type(exc).__name__}: {exc}") from None
        return text_of(response.document)


def _errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    from google.api_core import exceptions

    transient = (exceptions.ServiceUnavailable, exceptions.TooManyRequests, exceptions.InternalServerError)
    ours = (exceptions.Forbidden, exceptions.Unauthorized, exceptions.NotFound, exceptions.FailedPrecondition)
    return transient, transient + ours


_TRANSIENT, _NOT_THE_FILES = _errors()


def text_of(document: Any) -> OcrText:
    """The document's text, and the mean confidence of its tokens (of its pages when it has no tokens)."""
    confidences = [token.layout.confidence for page in document.pages for token in page.tokens]
    if not confidences:
        confidences = [page.layout.confidence for page in document.pages]
    return OcrText(document.text, sum(confidences) / len(confidences) if confidences else None)
