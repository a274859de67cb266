"""The cost guard: a billing budget's notification (Pub/Sub push) caps the parse queue and the functions."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.edges.events import on_budget_published


@functions_framework.cloud_event
def on_budget(event: CloudEvent) -> None:
    on_budget_published(event)
