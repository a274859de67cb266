"""The cost guard: a billing budget's notification (Pub/Sub push) caps the parse queue and the functions."""

import functions_framework
from cloudevents.http.event import CloudEvent

from shared.adapters.cost_controls import cost_guard_unit
from shared.edges.events import run_cloud_event
from shared.usecases.cost_guard import BudgetMessagePublished, handle


@functions_framework.cloud_event
def on_budget(event: CloudEvent) -> None:
    run_cloud_event(event, BudgetMessagePublished, lambda message: handle(message.notification(), cost_guard_unit()))
