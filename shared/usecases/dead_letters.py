"""Dead letters: events the consumer failed `max_delivery_attempts` times, held in the dead-letter subscription.

An operator (the token's `roles` claim holds "operator") lists them (`GET /v1/operations/dead-letters`) and, once
the cause is fixed, replays them to the events topic (`POST /v1/operations/dead-letters/replay`). Only the
operator's own tenant's letters are listed or replayed; another tenant's stay untouched.

A replay publishes the same data and attributes, so the same `event_id`: a consumer that handled the event already
skips it (reactions deduplicate on it), and a letter replayed twice, after a crash between its publish and its
removal, does nothing the second time."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from shared.domain.errors import BadRequest
from shared.domain.intents import Params
from shared.domain.roles import OPERATOR_ROLE, require_operator
from shared.logs import get_logger
from shared.ports import DeadLetter, DeadLetterBox, Principal, Services
from shared.runtime.context import Result
from shared.runtime.uow import UnitOfWork

log = get_logger(__name__)
REPLAY = "replay_dead_letters"
HOLD_SECONDS = 60  # long enough to look at and replay a batch; a crash releases them when it lapses
MAX_HELD = 1000
DEFAULT_LIMIT = 100
_RELATIVE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 instant (a naive one is UTC), or a span back from now: `90s`, `30m`, `6h`, `2d`."""
    if value is None or value == "":
        return None
    now = now or datetime.now(UTC)
    found = _RELATIVE.match(value.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("since must be an ISO 8601 time or a span such as 30m, 6h or 2d.", code="INVALID_SINCE") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_limit(value: str | int | None) -> int:
    try:
        limit = int(value) if value not in (None, "") else DEFAULT_LIMIT
    except (TypeError, ValueError):
        raise BadRequest("limit must be a whole number from 1 to 1000.", code="INVALID_LIMIT") from None
    if not 1 <= limit <= MAX_HELD:
        raise BadRequest("limit must be a whole number from 1 to 1000.", code="INVALID_LIMIT")
    return limit


def describe(letter: DeadLetter) -> dict[str, Any]:
    a = letter.attributes
    body: dict[str, Any] = {
        "message_id": letter.message_id, "event_id": a.get("event_id"), "event_type": a.get("event_type"),
        "tenant_id": a.get("tenant_id"), "execution_id": a.get("execution_id"),
        "published_at": letter.published_at.isoformat(), "delivery_attempts": letter.delivery_attempts,
    }
    try:
        data = json.loads(letter.data)
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            body["subject"] = {k: v for k, v in data["data"].items() if k.endswith("_id") and isinstance(v, str)}
    except ValueError:
        body["data_base64"] = base64.b64encode(letter.data[:512]).decode()
    return body


def _select(held: list[DeadLetter], principal: Principal, since: datetime | None) -> list[DeadLetter]:
    return [letter for letter in held if letter.attributes.get("tenant_id") == principal.tenant_id
            and (since is None or letter.published_at >= since)]


def list_dead_letters(services: Services, principal: Principal, since: str | None, limit: str | None) -> dict[str, Any]:
    require_operator(principal)
    after, most = parse_since(since), parse_limit(limit)
    box = services.dead_letters
    held = box.hold(MAX_HELD, HOLD_SECONDS)
    try:
        mine = _select(held, principal, after)
    finally:
        box.release([letter.ack_id for letter in held])  # looking takes nothing away
    return {"dead_letters": [describe(letter) for letter in mine[:most]], "count": len(mine)}


def replay(box: DeadLetterBox, principal: Principal, since: datetime, limit: int) -> list[dict[str, Any]]:
    held = box.hold(MAX_HELD, HOLD_SECONDS)
    done: list[DeadLetter] = []
    try:
        for letter in _select(held, principal, since)[:limit]:
            box.replay(letter)  # publish first: a crash before the removal replays it again, which is a no-op
            box.remove([letter.ack_id])
            done.append(letter)
    finally:
        removed = {letter.ack_id for letter in done}
        box.release([letter.ack_id for letter in held if letter.ack_id not in removed])
    return [describe(letter) for letter in done]


class ReplayParams(Params):
    since: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_HELD)


def handle_replay(params: ReplayParams, uow: UnitOfWork) -> Result:
    """Runs as an intent, so the answer names an execution and a retried request with its Idempotency-Key gets the
    first answer back. The operator claim is checked at the edge (the token is not part of the intent)."""
    ctx = uow.context
    principal = Principal(ctx.tenant_id, ctx.user_id, ctx.session_id, ctx.solution_id, frozenset({OPERATOR_ROLE}))
    since = parse_since(params.since)
    assert since is not None  # a non-empty since always parses or raises
    replayed = replay(uow.services.dead_letters, principal, since, params.limit)
    log.info("dead letters replayed", extra={"fields": {"count": len(replayed), "since": since.isoformat(),
                                                         "event_ids": [r["event_id"] for r in replayed]}})
    return Result({"replayed": replayed, "count": len(replayed), "since": since.isoformat()},
                  detail={"replayed": len(replayed)})

