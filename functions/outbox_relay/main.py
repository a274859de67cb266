"""The outbox relay: reactions to events on Pub/Sub, the sweep that Cloud Scheduler calls, and the consumer of
storage deletions (the bucket lifecycle's), which keeps the Data Brain's references true."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap import get_services
from shared.edges.events import run_cloud_event
from shared.edges.http import respond
from shared.usecases.finalize import StorageObjectData
from shared.usecases.reactions import MessagePublished, handle_event_message
from shared.usecases.reference_hygiene import forget_deleted_object
from shared.usecases.sweep import run_sweep


@functions_framework.cloud_event
def on_event(event: CloudEvent) -> None:
    run_cloud_event(event, MessagePublished, lambda message: handle_event_message(get_services(), message))


@functions_framework.cloud_event
def on_object_deleted(event: CloudEvent) -> None:
    """google.cloud.storage.object.v1.deleted (Eventarc; the object resource as data)."""
    run_cloud_event(event, StorageObjectData, lambda obj: forget_deleted_object(get_services(), obj.bucket, obj.name))


@functions_framework.http
def sweep(request):
    # Cloud Scheduler (and the local scheduler) POST; a GET, such as a readiness probe, must not run a whole sweep.
    if request.method != "POST":
        return respond(405, {"error": "The sweep runs on POST, as Cloud Scheduler calls it.", "error_code":
                             "METHOD_NOT_ALLOWED", "execution_id": "", "intent_type": "sweep"}, {"Allow": "POST"})
    return respond(200, run_sweep(get_services()))
