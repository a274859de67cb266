"""Save: `save_materialization` (working material becomes a record of fact) and artifact deletion."""

import functions_framework

from shared.edges.http import Call, HttpApp, Route, install_error_pages, run_intent, submit_intent
from shared.usecases import save  # noqa: F401 - registers the intent
from shared.usecases.delete_artifact import INTENT_TYPE as DELETE_ARTIFACT


def _delete(call: Call) -> tuple[int, dict]:
    return run_intent(call, DELETE_ARTIFACT, {"artifact_id": call.params["artifact_id"]})


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/save_materialization", submit_intent("save_materialization"), "save_materialization"),
    Route("DELETE", "/v1/artifacts/{artifact_id}", _delete, DELETE_ARTIFACT),
])


@functions_framework.http
def save_http(request):
    return _app(request)
