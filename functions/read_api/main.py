"""Read API: artifacts (with payloads), the tenant's artifact list, lineage, executions, and the OpenAPI document."""

import functions_framework

from shared.edges.http import Call, HttpApp, Route, install_error_pages, respond
from shared.runtime.registry import list_supported_intents
from shared.usecases import ingest_file, parse_content, reads, request_upload, save  # noqa: F401 - registers the intents
from shared.usecases.references import find_references

OPENAPI_PATH = "/v1/openapi.json"


def _artifact(call: Call) -> tuple[int, dict]:
    include = reads.parse_flag("include_payload", call.query("include_payload"))
    s = call.services
    return 200, reads.get_artifact(s.store, s.blobs, s.settings, call.principal, call.params["artifact_id"], include)


def _artifacts(call: Call) -> tuple[int, dict]:
    return 200, reads.list_artifacts(
        call.services.store, call.principal, artifact_type=call.query("artifact_type"),
        lifecycle_state=call.query("lifecycle_state"), session_id=call.query("session_id"),
        page_size=call.query("page_size"), page_token=call.query("page_token"),
    )


def _lineage(call: Call) -> tuple[int, dict]:
    return 200, reads.get_lineage(call.services.store, call.principal, call.params["artifact_id"])


def _execution(call: Call) -> tuple[int, dict]:
    return 200, reads.get_execution(call.services.store, call.principal, call.params["execution_id"])


def _intents(call: Call) -> tuple[int, dict]:
    return 200, {"intents": list_supported_intents()}


def _references(call: Call) -> tuple[int, dict]:
    return 200, find_references(call.services.store, call.principal, call.query("uri"), call.query("artifact_id"))


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("GET", "/v1/artifacts", _artifacts, "list_artifacts"),
    Route("GET", "/v1/artifacts/{artifact_id}", _artifact, "get_artifact"),
    Route("GET", "/v1/artifacts/{artifact_id}/lineage", _lineage, "get_lineage"),
    Route("GET", "/v1/executions/{execution_id}", _execution, "get_execution"),
    Route("GET", "/v1/intents", _intents, "list_intents"),
    Route("GET", "/v1/references", _references, "find_references"),
])


@functions_framework.http
def read_http(request):
    # The API description is public: a client reads it before it has a token.
    if request.method == "GET" and request.path.rstrip("/") == OPENAPI_PATH:
        return respond(200, reads.openapi_document())
    return _app(request)
