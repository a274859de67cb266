"""The outbox relay: reactions to events on Pub/Sub, the sweep that Cloud Scheduler calls, and the consumer of
storage deletions (the bucket lifecycle's), which keeps the Data Brain's references true."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.edges import events
from shared.edges.http import run_sweep


@functions_framework.cloud_event
def on_event(event: CloudEvent) -> None:
    events.on_message_published(event)


@functions_framework.cloud_event
def on_object_deleted(event: CloudEvent) -> None:
    """google.cloud.storage.object.v1.deleted (Eventarc; the object resource as data)."""
    events.on_object_deleted(event)


@functions_framework.http
def sweep(request):
    return run_sweep()
