"""The parse worker: the Cloud Tasks target (private; Cloud Tasks calls it with an OIDC token)."""

import functions_framework

from shared.edges.tasks import on_parse_task


@functions_framework.http
def parse_worker(request):
    return on_parse_task(request)
