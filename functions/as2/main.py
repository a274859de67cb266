"""Partner exchange: the AS2 endpoint (no bearer token), trading partners, our AS2 identity, acknowledgements,
and the task that delivers AS2 messages and asynchronous MDNs."""

import functions_framework

from shared.edges.as2 import AS2_PATH, on_as2, on_as2_delivery
from shared.edges.http import HttpApp, install_error_pages
from shared.edges.routes import PARTNER_ROUTES

install_error_pages(functions_framework.errorhandler)
_app = HttpApp(PARTNER_ROUTES)


@functions_framework.http
def as2_http(request):
    if request.path.rstrip("/") == AS2_PATH:
        return on_as2(request)
    return _app(request)


@functions_framework.http
def as2_deliver(request):
    return on_as2_delivery(request)
