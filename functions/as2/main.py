"""Partner exchange: the AS2 endpoint (no bearer token), trading partners, our AS2 identity, acknowledgements,
and the task that delivers AS2 messages and asynchronous MDNs."""

import functions_framework

from shared.bootstrap import get_services
from shared.domain.models import Command
from shared.edges.http import HttpApp, Route, install_error_pages
from shared.edges.tasks import run_task
from shared.partners import api
from shared.partners.as2_endpoint import As2Answer, receive, run_delivery
from shared.partners.wiring import get_exchange

install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/partners", api.register_partner, "register_partner"),
    Route("GET", "/v1/partners", api.list_partners, "list_partners"),
    Route("GET", "/v1/partners/{partner_id}", api.get_partner, "get_partner"),
    Route("DELETE", "/v1/partners/{partner_id}", api.delete_partner, "delete_partner"),
    Route("GET", "/v1/as2/identity", api.as2_identity, "as2_identity"),
    Route("GET", "/v1/acknowledgements", api.list_acknowledgements, "list_acknowledgements"),
])


def _as2(request):
    answer: As2Answer = receive(get_exchange(get_services()), {k.lower(): v for k, v in request.headers.items()},
                                request.get_data())
    return answer.body, answer.status, answer.headers


@functions_framework.http
def as2_http(request):
    if request.path.rstrip("/") == "/as2":
        if request.method != "POST":
            return {"error": "POST an AS2 message.", "error_code": "METHOD_NOT_ALLOWED", "execution_id": "",
                    "intent_type": "as2"}, 405
        return _as2(request)
    return _app(request)


@functions_framework.http
def as2_deliver(request):
    return run_task(request, Command, lambda command: run_delivery(get_exchange(get_services()), command))
