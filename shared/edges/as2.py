"""The AS2 edges: `POST /as2` (no bearer token; every answer an MDN or an empty 200, never a 5xx, since a partner's
software retries a 5xx blindly) and the Cloud Tasks target that delivers AS2 messages and asynchronous MDNs."""

from __future__ import annotations

import flask

from shared.as2 import protocol
from shared.bootstrap import get_bus, get_services
from shared.domain.messages import DeliverAs2, ReceiveAs2
from shared.domain.models import Command
from shared.edges.http import error_body, respond
from shared.edges.tasks import run_task
from shared.logs import get_logger, log_context

log = get_logger(__name__)
AS2_PATH = "/as2"


def on_as2(request: flask.Request) -> flask.Response | tuple[bytes, int, dict[str, str]]:
    if request.method != "POST":
        return respond(405, error_body("POST an AS2 message.", "METHOD_NOT_ALLOWED", "", "as2"))
    get_services()  # configures logging once per instance
    headers = {k.lower(): v for k, v in request.headers.items()}
    with log_context(intent_type="as2"):
        try:
            answer = get_bus().handle(ReceiveAs2(headers, request.get_data()))
        except Exception:  # a fault of ours (a key that cannot be read, a store that is down): still an MDN
            log.exception("as2 message could not be processed")
            failure = protocol.As2Failure("error: unexpected-processing-error",
                                          "The message could not be processed now; send it again later.")
            mdn_headers, body = protocol.build_mdn(
                message_id=headers.get("message-id", "").strip() or "<unknown>",
                as2_from=headers.get("as2-to", "unknown").strip('"') or "unknown",
                as2_to=headers.get("as2-from", "unknown").strip('"') or "unknown", mic=None,
                mic_alg=protocol.mdn_request(headers).mic_alg, failure=failure, signer=None)
            return body, 200, mdn_headers
    # An empty answer (an asynchronous MDN, or none asked for) still says what it is.
    return answer.body, answer.status, answer.headers or {"Content-Type": "text/plain"}


def on_as2_delivery(request: flask.Request) -> flask.Response:
    """The as2 function's Cloud Tasks target: deliver_as2 commands (503 asks Cloud Tasks to retry)."""
    return run_task(request, Command, lambda command: get_bus().handle(DeliverAs2(command)))
