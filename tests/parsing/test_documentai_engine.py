"""Production's OCR engine, Document AI, against its documented REST answers (no emulator exists).

The real `documentai_v1` client (REST transport) talks to a local server that answers as the reference documents:
https://cloud.google.com/document-ai/docs/reference/rest/v1/projects.locations.processors.processorVersions/process
The checks: the request names the pinned processor version and carries the page as a PNG; the text and the tokens'
confidence are read from the documented Document shape; an outage is retried within the file's OCR budget and then
retried later (OcrUnavailable), never failed as the file's fault, and never waits past the budget.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from PIL import Image

from shared.adapters.ocr.documentai import DocumentAiOcr
from shared.parsing.ocr import OcrUnavailable

VERSION = "projects/acme/locations/eu/processors/0123456789abcdef/processorVersions/pretrained-ocr-v2.1.1-2025-01-31"
# The documented Document shape: text, and per page the tokens' layouts with their text anchors and confidences.
DOCUMENT = {
    "text": "Invoice 4711\npaid in full\n",
    "pages": [{
        "pageNumber": 1,
        "layout": {"confidence": 0.5, "textAnchor": {"textSegments": [{"endIndex": "26"}]}},
        "tokens": [
            {"layout": {"confidence": 0.9, "textAnchor": {"textSegments": [{"endIndex": "7"}]}}},
            {"layout": {"confidence": 0.8, "textAnchor": {"textSegments": [{"startIndex": "8", "endIndex": "12"}]}}},
            {"layout": {"confidence": 0.7, "textAnchor": {"textSegments": [{"startIndex": "13", "endIndex": "25"}]}}},
        ],
    }],
}


class _Answers:
    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, Any] = {"document": DOCUMENT}
        self.requests: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, _Answers]]:
    answers = _Answers()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answers.requests.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
            body = answers.body if answers.status == 200 else {
                "error": {"code": answers.status, "message": "The service is currently unavailable.",
                          "status": "UNAVAILABLE" if answers.status == 503 else "PERMISSION_DENIED"}}
            data = json.dumps(body).encode()
            self.send_response(answers.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers
    httpd.shutdown()
    httpd.server_close()


def _engine(url: str) -> DocumentAiOcr:
    from google.cloud import documentai_v1

    client = documentai_v1.DocumentProcessorServiceClient(
        credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": url})
    return DocumentAiOcr(VERSION, client=client)


def test_a_page_is_sent_as_png_to_the_pinned_processor_version_and_its_text_read(server: tuple[str, _Answers]) -> None:
    url, answers = server
    page = Image.new("L", (320, 200), 255)
    result = _engine(url).recognize(page, timeout=30)
    assert result.text == DOCUMENT["text"]
    assert result.confidence == pytest.approx((0.9 + 0.8 + 0.7) / 3)  # the tokens', not the page's
    [(path, body)] = answers.requests
    assert path.split("?")[0] == f"/v1/{VERSION}:process"
    assert body["skipHumanReview"] is True
    assert body["rawDocument"]["mimeType"] == "image/png"
    sent = Image.open(io.BytesIO(base64.b64decode(body["rawDocument"]["content"])))
    assert (sent.format, sent.size) == ("PNG", (320, 200))


def test_the_engine_records_the_pinned_version_and_refuses_a_processor_without_one() -> None:
    assert DocumentAiOcr(VERSION, client=object()).version == "pretrained-ocr-v2.1.1-2025-01-31"
    with pytest.raises(ValueError, match="processorVersions"):
        DocumentAiOcr("projects/acme/locations/eu/processors/0123456789abcdef", client=object())


def test_an_outage_is_retried_within_the_budget_then_left_for_a_later_retry(server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.status = 503
    started = time.monotonic()
    with pytest.raises(OcrUnavailable):
        _engine(url).recognize(Image.new("L", (10, 10)), timeout=3)
    elapsed = time.monotonic() - started
    assert len(answers.requests) >= 2  # retried
    assert elapsed < 3 + 2  # the budget bounds the retries (the client's own default would run for 120 s)


def test_a_refused_grant_is_not_the_files_fault(server: tuple[str, _Answers]) -> None:
    url, answers = server
    answers.status = 403
    with pytest.raises(OcrUnavailable, match="Forbidden"):
        _engine(url).recognize(Image.new("L", (10, 10)), timeout=3)
    assert len(answers.requests) == 1  # not retried in place: the task's own retries and dead letter take it


def test_an_unreachable_service_answers_within_the_budget() -> None:
    from google.cloud import documentai_v1

    # The gRPC transport, as deployed, against a port where nothing listens.
    client = documentai_v1.DocumentProcessorServiceClient(
        credentials=AnonymousCredentials(), client_options={"api_endpoint": "127.0.0.1:9"})
    started = time.monotonic()
    with pytest.raises(OcrUnavailable):
        DocumentAiOcr(VERSION, client=client).recognize(Image.new("L", (10, 10)), timeout=2)
    assert time.monotonic() - started < 2 + 3
