"""Roles a verified token grants beyond tenant membership (its `roles` claim), and the checks that need them."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import Forbidden

OPERATOR_ROLE = "operator"


def require_operator(principal: Any) -> None:
    if OPERATOR_ROLE not in principal.roles:
        raise Forbidden("Dead letters need an operator: the token's roles claim must hold \"operator\".",
                        code="OPERATOR_REQUIRED")
