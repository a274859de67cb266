"""Save: `save_materialization` (working material becomes a record of fact), deletion, legal holds and release."""

import functions_framework

from shared.edges.http import HttpApp, install_error_pages
from shared.edges.routes import SAVE_ROUTES

install_error_pages(functions_framework.errorhandler)
_app = HttpApp(SAVE_ROUTES)


@functions_framework.http
def save_http(request):
    return _app(request)
