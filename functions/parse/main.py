"""The parse worker: the Cloud Tasks target (private; Cloud Tasks calls it with an OIDC token)."""

import functions_framework
from pydantic import ValidationError

from shared.bootstrap import get_services
from shared.http import respond
from shared.logs import get_logger
from shared.usecases.parse_worker import ParseTask, handle_parse_task

log = get_logger(__name__)


@functions_framework.http
def parse_worker(request):
    services = get_services()
    try:
        task = ParseTask.model_validate_json(request.get_data())
    except ValidationError as exc:
        log.error("malformed parse task acknowledged", extra={"fields": {"errors": exc.errors(include_input=False, include_url=False)}})
        return respond(200, {"status": "malformed"})  # a retry cannot fix it
    result = handle_parse_task(services, task)
    return respond(result.http_status, {"status": result.status, **result.detail})
