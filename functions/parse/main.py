"""The parse worker: the Cloud Tasks target (private; Cloud Tasks calls it with an OIDC token)."""

import functions_framework

from shared.bootstrap import get_services
from shared.edges.tasks import run_task
from shared.usecases.parse_worker import ParseTask, handle_parse_task


@functions_framework.http
def parse_worker(request):
    return run_task(request, ParseTask, lambda task: handle_parse_task(get_services(), task))
