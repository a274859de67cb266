"""Profile selection: pending intents (create, list, cancel) and parse_content submission."""

import functions_framework

from shared.edges.http import Call, HttpApp, Route, install_error_pages, run_intent, submit_intent
from shared.usecases import parse_content  # noqa: F401 - registers the intent
from shared.usecases.pending_intents import list_pending_intents


def _create(call: Call) -> tuple[int, dict]:
    return run_intent(call, "create_pending_intent", call.json_body())


def _list(call: Call) -> tuple[int, dict]:
    return 200, list_pending_intents(call.services, call.principal, call.query("target_artifact_id"), call.query("status"),
                                     call.query("page_size"), call.query("page_token"))


def _cancel(call: Call) -> tuple[int, dict]:
    return run_intent(call, "cancel_pending_intent", {"intent_id": call.params["intent_id"]})


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
