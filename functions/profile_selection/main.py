"""Profile selection: pending intents (create, list, cancel) and parse_content submission."""

import functions_framework

from shared.domain.intents import CreatePendingIntentBody
from shared.http import Call, HttpApp, Route, install_error_pages, submit_intent
from shared.runtime.validation import validate
from shared.usecases import parse_content  # noqa: F401 - registers the intent
from shared.usecases.pending_intents import cancel_pending_intent, create_pending_intent, list_pending_intents


def _create(call: Call) -> tuple[int, dict]:
    body = validate(CreatePendingIntentBody, call.json_body())
    return 201, {"execution_id": call.request_id, **create_pending_intent(call.services, call.principal, body, call.request_id)}


def _list(call: Call) -> tuple[int, dict]:
    return 200, list_pending_intents(call.services, call.principal, call.query("target_artifact_id"), call.query("status"),
                                     call.query("page_size"), call.query("page_token"))


def _cancel(call: Call) -> tuple[int, dict]:
    return 200, cancel_pending_intent(call.services, call.principal, call.params["intent_id"], call.request_id)


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/parse_content", submit_intent("parse_content"), "parse_content"),
    Route("POST", "/v1/pending-intents", _create, "create_pending_intent"),
    Route("GET", "/v1/pending-intents", _list, "list_pending_intents"),
    Route("DELETE", "/v1/pending-intents/{intent_id}", _cancel, "cancel_pending_intent"),
])


@functions_framework.http
def profile_selection_http(request):
    return _app(request)
