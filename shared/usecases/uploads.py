"""`GET /v1/uploads/{upload_id}`: where an upload stands."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import NotFound, echo
from shared.ports import Principal, Store


def get_upload_status(store: Store, principal: Principal, upload_id: str) -> dict[str, Any]:
    upload = store.get_upload(principal.tenant_id, upload_id)
    if upload is None:
        raise NotFound(f"Upload {echo(upload_id)} not found.", code="UPLOAD_NOT_FOUND")
    return upload.to_json()
