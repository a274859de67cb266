"""Ingest: signed URLs and resumable sessions, inline ingest_file, upload status and resume, and the finalize trigger."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.edges.events import on_object_finalized
from shared.edges.http import HttpApp, install_error_pages
from shared.edges.routes import INGEST_ROUTES

install_error_pages(functions_framework.errorhandler)
_app = HttpApp(INGEST_ROUTES)


@functions_framework.http
def ingest_http(request):
    return _app(request)


@functions_framework.cloud_event
def on_upload_finalized(event: CloudEvent) -> None:
    on_object_finalized(event)
