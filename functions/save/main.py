"""Save: `save_materialization` (working material becomes a record of fact), deletion, legal holds and release."""

import functions_framework

from shared.domain.errors import Forbidden
from shared.edges.http import Call, HttpApp, Route, install_error_pages, run_intent, submit_intent
from shared.usecases import save  # noqa: F401 - registers the intent
from shared.usecases.delete_artifact import INTENT_TYPE as DELETE_ARTIFACT
from shared.usecases.holds import CLEAR_HOLD, RELEASE, SET_HOLD


def _delete(call: Call) -> tuple[int, dict]:
    return run_intent(call, DELETE_ARTIFACT, {"artifact_id": call.params["artifact_id"]})


def _set_hold(call: Call) -> tuple[int, dict]:
    return run_intent(call, SET_HOLD, {"artifact_id": call.params["artifact_id"]})


def _clear_hold(call: Call) -> tuple[int, dict]:
    return run_intent(call, CLEAR_HOLD, {"artifact_id": call.params["artifact_id"]})


def _release(call: Call) -> tuple[int, dict]:
    if not call.principal.tenant_admin:  # the claim comes only from the verified token
        raise Forbidden("Only a tenant admin (roles claim: tenant_admin) may release a permanent record.",
                        code="TENANT_ADMIN_REQUIRED")
    return run_intent(call, RELEASE, {"artifact_id": call.params["artifact_id"]})


install_error_pages(functions_framework.errorhandler)

_app = HttpApp([
    Route("POST", "/v1/intents/save_materialization", submit_intent("save_materialization"), "save_materialization"),
    Route("DELETE", "/v1/artifacts/{artifact_id}", _delete, DELETE_ARTIFACT),
    Route("POST", "/v1/artifacts/{artifact_id}/hold", _set_hold, SET_HOLD),
    Route("DELETE", "/v1/artifacts/{artifact_id}/hold", _clear_hold, CLEAR_HOLD),
    Route("POST", "/v1/artifacts/{artifact_id}/release", _release, RELEASE),
])


@functions_framework.http
def save_http(request):
    return _app(request)
