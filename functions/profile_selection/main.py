"""Profile selection: pending intents (create, list, cancel), parse_content submission, and journeys (the seed's
upload → profile → parse → save as one saga)."""

import functions_framework

from shared.edges.http import HttpApp, install_error_pages
from shared.edges.routes import PROFILE_SELECTION_ROUTES

install_error_pages(functions_framework.errorhandler)
_app = HttpApp(PROFILE_SELECTION_ROUTES)


@functions_framework.http
def profile_selection_http(request):
    return _app(request)
