"""Profile selection: pending intents (create, list, cancel), parse_content submission, journeys (the seed's
upload → profile → parse → save as one saga), and the operators' dead letters (list, replay)."""

import functions_framework

from shared.edges.http import Call, HttpApp, Route, install_error_pages, run_intent, submit_intent
from shared.usecases import dead_letters, journeys, parse_content  # noqa: F401 - registers the intents
from shared.usecases.journey_views import list_journeys
from shared.usecases.pending_intents import list_pending_intents


def _create(call: Call) -> tuple[int, dict]:
    return run_intent(call, "create_pending_intent", call.json_body())


def _list(call: Call) -> tuple[int, dict]:
    return 200, list_pending_intents(call.services, call.principal, call.query("target_artifact_id"), call.query("status"),
                                     call.query("page_size"), call.query("page_token"))


def _cancel(call: Call) -> tuple[int, dict]:
    return run_intent(call, "cancel_pending_intent", {"intent_id": call.params["intent_id"]})


def _start_journey(call: Call) -> tuple[int, dict]:
    return run_intent(call, journeys.START, call.json_body())


def _list_journeys(call: Call) -> tuple[int, dict]:
    return 200, list_journeys(call.services, call.principal, call.query("status"), call.query("limit"))


def _get_journey(call: Call) -> tuple[int, dict]:
    return 200, journeys.get_journey(call.services, call.principal, call.params["journey_id"])


def _approve_journey(call: Call) -> tuple[int, dict]:
    return run_intent(call, journeys.APPROVE, {"journey_id": call.params["journey_id"]})


def _cancel_journey(call: Call) -> tuple[int, dict]:
    return run_intent(call, journeys.CANCEL, {"journey_id": call.params["journey_id"]})


def _dead_letters(call: Call) -> tuple[int, dict]:
    return 200, dead_letters.list_dead_letters(call.services, call.principal, call.query("since"), call.query("limit"))


def _replay_dead_letters(call: Call) -> tuple[int, dict]:
    dead_letters.require_operator(call.principal)  # the claim is the token's, so it is checked before the intent runs
    return run_intent(call, dead_letters.REPLAY, call.json_body())


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/parse_content", submit_intent("parse_content"), "parse_content"),
    Route("POST", "/v1/pending-intents", _create, "create_pending_intent"),
    Route("GET", "/v1/pending-intents", _list, "list_pending_intents"),
    Route("DELETE", "/v1/pending-intents/{intent_id}", _cancel, "cancel_pending_intent"),
    Route("POST", "/v1/journeys", _start_journey, journeys.START),
    Route("GET", "/v1/journeys", _list_journeys, "list_journeys"),
    Route("GET", "/v1/journeys/{journey_id}", _get_journey, "get_journey"),
    Route("POST", "/v1/journeys/{journey_id}/approve", _approve_journey, journeys.APPROVE),
    Route("POST", "/v1/journeys/{journey_id}/cancel", _cancel_journey, journeys.CANCEL),
    Route("GET", "/v1/operations/dead-letters", _dead_letters, "list_dead_letters"),
    Route("POST", "/v1/operations/dead-letters/replay", _replay_dead_letters, dead_letters.REPLAY),
])


@functions_framework.http
def profile_selection_http(request):
    return _app(request)
