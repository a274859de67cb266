"""The outbox relay: reactions to events on Pub/Sub, and the sweep that Cloud Scheduler calls."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.edges.events import on_message_published
from shared.edges.http import run_sweep


@functions_framework.cloud_event
def on_event(event: CloudEvent) -> None:
    on_message_published(event)


@functions_framework.http
def sweep(request):
    return run_sweep()
