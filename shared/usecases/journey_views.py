"""`GET /v1/journeys?status=`: the tenant's journeys, newest first; `status=awaiting_approval` is the
pending-approvals view the web app and `ingestctl journey pending` show."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import BadRequest
from shared.domain.journey_model import JourneyStatus
from shared.ports import Principal, Services

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
STATUSES = frozenset(s.value for s in JourneyStatus)


def list_journeys(services: Services, principal: Principal, status: str | None, limit: str | None) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(sorted(STATUSES))}.", code="INVALID_STATUS")
    try:
        most = int(limit) if limit is not None else DEFAULT_LIMIT
    except ValueError:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.", code="INVALID_PAGE_SIZE") from None
    if not 1 <= most <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.", code="INVALID_PAGE_SIZE")
    # An equality filter needs no composite index; the newest first is sorted here, within the limit.
    found = services.store.find_journeys(principal.tenant_id, status=status, limit=MAX_LIMIT)
    found.sort(key=lambda j: j.updated_at, reverse=True)
    return {"journeys": [j.view() for j in found[:most]]}
