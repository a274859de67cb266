"""Ingest: signed URLs and resumable sessions, inline ingest_file, upload status and resume, and the finalize trigger."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap import get_services
from shared.edges.events import run_cloud_event
from shared.edges.http import Call, HttpApp, Route, install_error_pages, submit_intent
from shared.usecases import ingest_file, request_upload  # noqa: F401 - registers the intents
from shared.usecases.finalize import StorageObjectData, handle_finalize
from shared.usecases.uploads import get_upload_status, resume_upload


def _upload_status(call: Call) -> tuple[int, dict]:
    return 200, get_upload_status(call.services.store, call.principal, call.params["upload_id"])


def _resume_upload(call: Call) -> tuple[int, dict]:
    return 200, resume_upload(call.services, call.principal, call.params["upload_id"], call.allowed_origin)


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/request_upload", submit_intent("request_upload"), "request_upload"),
    Route("POST", "/v1/intents/ingest_file", submit_intent("ingest_file"), "ingest_file"),
    Route("GET", "/v1/uploads/{upload_id}", _upload_status, "get_upload"),
    Route("POST", "/v1/uploads/{upload_id}/resume", _resume_upload, "resume_upload"),
])


@functions_framework.http
def ingest_http(request):
    return _app(request)


@functions_framework.cloud_event
def on_upload_finalized(event: CloudEvent) -> None:
    run_cloud_event(event, StorageObjectData, lambda obj: handle_finalize(get_services(), event["id"], event["source"], obj))
