"""Profile selection: pending intents (create, list, cancel), parse_content submission, and journeys (the seed's
upload → profile → parse → save as one saga)."""

import functions_framework

from shared.domain.intents import CreatePendingIntentBody
from shared.http import Call, HttpApp, Route, install_error_pages, submit_intent
from shared.runtime.validation import validate
from shared.usecases import journeys, parse_content  # noqa: F401 - registers the intents
from shared.usecases.pending_intents import cancel_pending_intent, create_pending_intent, list_pending_intents


def _create(call: Call) -> tuple[int, dict]:
    body = validate(CreatePendingIntentBody, call.json_body())
    return 201, {"execution_id": call.request_id, **create_pending_intent(call.services, call.principal, body, call.request_id)}


def _list(call: Call) -> tuple[int, dict]:
    return 200, list_pending_intents(call.services, call.principal, call.query("target_artifact_id"), call.query("status"),
                                     call.query("page_size"), call.query("page_token"))


def _cancel(call: Call) -> tuple[int, dict]:
    return 200, cancel_pending_intent(call.services, call.principal, call.params["intent_id"], call.request_id)


def _start_journey(call: Call) -> tuple[int, dict]:
    return journeys.start_journey(call.services, call.principal, call.json_body(), call.request_id)


def _get_journey(call: Call) -> tuple[int, dict]:
    return 200, journeys.get_journey(call.services, call.principal, call.params["journey_id"])


def _approve_journey(call: Call) -> tuple[int, dict]:
    return journeys.approve_journey(call.services, call.principal, call.params["journey_id"], call.request_id)


def _cancel_journey(call: Call) -> tuple[int, dict]:
    return journeys.cancel_journey(call.services, call.principal, call.params["journey_id"], call.request_id)


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/parse_content", submit_intent("parse_content"), "parse_content"),
    Route("POST", "/v1/pending-intents", _create, "create_pending_intent"),
    Route("GET", "/v1/pending-intents", _list, "list_pending_intents"),
    Route("DELETE", "/v1/pending-intents/{intent_id}", _cancel, "cancel_pending_intent"),
    Route("POST", "/v1/journeys", _start_journey, journeys.START),
    Route("GET", "/v1/journeys/{journey_id}", _get_journey, "get_journey"),
    Route("POST", "/v1/journeys/{journey_id}/approve", _approve_journey, journeys.APPROVE),
    Route("POST", "/v1/journeys/{journey_id}/cancel", _cancel_journey, journeys.CANCEL),
])


@functions_framework.http
def profile_selection_http(request):
    return _app(request)
