"""Each HTTP function's routes: which message a request becomes. The functions' main.py serve these tables."""

from __future__ import annotations

from shared.domain.messages import ResumeUpload
from shared.domain.roles import require_operator
from shared.edges.http import Call, Handler, Route, command, query, run_intent, submit_intent

START_JOURNEY, APPROVE_JOURNEY, CANCEL_JOURNEY = "start_journey", "approve_journey", "cancel_journey"
DELETE_ARTIFACT = "delete_artifact"
REPLAY_DEAD_LETTERS = "replay_dead_letters"


def _path_intent(intent_type: str, name: str) -> Handler:
    """An intent whose only parameter is in the path (cancels, deletes, journey steps)."""
    return lambda call: run_intent(call, intent_type, {name: call.params[name]})


def _body_intent(intent_type: str) -> Handler:
    """An intent whose parameters are the whole body (not the intent envelope)."""
    return lambda call: run_intent(call, intent_type, call.json_body())


def _replay_dead_letters(call: Call) -> tuple[int, dict]:
    require_operator(call.principal)  # the claim is the token's, so it is checked before the intent runs
    return run_intent(call, REPLAY_DEAD_LETTERS, call.json_body())


def _resume(call: Call) -> ResumeUpload:
    return ResumeUpload(call.principal, call.params["upload_id"], call.allowed_origin)


INGEST_ROUTES = [
    Route("POST", "/v1/intents/request_upload", submit_intent("request_upload"), "request_upload"),
    Route("POST", "/v1/intents/ingest_file", submit_intent("ingest_file"), "ingest_file"),
    Route("GET", "/v1/uploads/{upload_id}", query("get_upload", path=("upload_id",)), "get_upload"),
    Route("POST", "/v1/uploads/{upload_id}/resume", command(_resume), "resume_upload"),
]

PROFILE_SELECTION_ROUTES = [
    Route("POST", "/v1/intents/parse_content", submit_intent("parse_content"), "parse_content"),
    Route("POST", "/v1/pending-intents", _body_intent("create_pending_intent"), "create_pending_intent"),
    Route("GET", "/v1/pending-intents", query("list_pending_intents", params=(
        "target_artifact_id", "status", "page_size", "page_token")), "list_pending_intents"),
    Route("DELETE", "/v1/pending-intents/{intent_id}", _path_intent("cancel_pending_intent", "intent_id"),
          "cancel_pending_intent"),
    Route("POST", "/v1/journeys", _body_intent(START_JOURNEY), START_JOURNEY),
    Route("GET", "/v1/journeys", query("list_journeys", params=("status", "limit")), "list_journeys"),
    Route("GET", "/v1/journeys/{journey_id}", query("get_journey", path=("journey_id",)), "get_journey"),
    Route("POST", "/v1/journeys/{journey_id}/approve", _path_intent(APPROVE_JOURNEY, "journey_id"), APPROVE_JOURNEY),
    Route("POST", "/v1/journeys/{journey_id}/cancel", _path_intent(CANCEL_JOURNEY, "journey_id"), CANCEL_JOURNEY),
    Route("GET", "/v1/operations/dead-letters", query("list_dead_letters", params=("since", "limit")),
          "list_dead_letters"),
    Route("POST", "/v1/operations/dead-letters/replay", _replay_dead_letters, REPLAY_DEAD_LETTERS),
]

SAVE_ROUTES = [
    Route("POST", "/v1/intents/save_materialization", submit_intent("save_materialization"), "save_materialization"),
    Route("DELETE", "/v1/artifacts/{artifact_id}", _path_intent(DELETE_ARTIFACT, "artifact_id"), DELETE_ARTIFACT),
]

READ_ROUTES = [
    Route("GET", "/v1/artifacts", query("list_artifacts", params=(
        "artifact_type", "lifecycle_state", "session_id", "page_size", "page_token")), "list_artifacts"),
    Route("GET", "/v1/artifacts/{artifact_id}", query("get_artifact", path=("artifact_id",), params=("include_payload",)),
          "get_artifact"),
    Route("GET", "/v1/artifacts/{artifact_id}/lineage", query("get_lineage", path=("artifact_id",)), "get_lineage"),
    Route("GET", "/v1/executions/{execution_id}", query("get_execution", path=("execution_id",)), "get_execution"),
    Route("GET", "/v1/intents", query("list_intents"), "list_intents"),
    Route("GET", "/v1/references", query("find_references", params=("uri", "artifact_id")), "find_references"),
]
