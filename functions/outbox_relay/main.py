"""The outbox relay: reactions to events on Pub/Sub, and the sweep that Cloud Scheduler calls."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.bootstrap import get_services
from shared.edges.events import run_cloud_event
from shared.edges.http import respond
from shared.usecases.reactions import MessagePublished, handle_event_message
from shared.usecases.sweep import run_sweep


@functions_framework.cloud_event
def on_event(event: CloudEvent) -> None:
    run_cloud_event(event, MessagePublished, lambda message: handle_event_message(get_services(), message))


@functions_framework.http
def sweep(request):
    return respond(200, run_sweep(get_services()))
