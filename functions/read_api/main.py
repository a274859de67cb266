"""Read API: artifacts (with payloads), the tenant's artifact list, lineage, executions, and the OpenAPI document."""

import functions_framework

from shared.edges.http import HttpApp, install_error_pages, openapi_response
from shared.edges.routes import READ_ROUTES

OPENAPI_PATH = "/v1/openapi.json"

install_error_pages(functions_framework.errorhandler)
_app = HttpApp(READ_ROUTES)


@functions_framework.http
def read_http(request):
    # The API description is public: a client reads it before it has a token.
    if request.method == "GET" and request.path.rstrip("/") == OPENAPI_PATH:
        return openapi_response()
    return _app(request)
