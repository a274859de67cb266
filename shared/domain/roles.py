"""Roles a verified token grants beyond tenant membership (its `roles` claim), and the checks that need them."""

from __future__ import annotations

from typing import Any

from shared.domain.errors import Forbidden

OPERATOR_ROLE = "operator"
TENANT_ADMIN_ROLE = "tenant_admin"  # the only claim that may release a permanent record of its own tenant


def require_operator(principal: Any) -> None:
    if OPERATOR_ROLE not in principal.roles:
        raise Forbidden("Dead letters need an operator: the token's roles claim must hold \"operator\".",
                        code="OPERATOR_REQUIRED")


def require_tenant_admin(principal: Any) -> None:
    """The claim is the verified token's; the tenant is the token's too, so an admin acts on their own tenant only."""
    if TENANT_ADMIN_ROLE not in principal.roles:
        raise Forbidden("Only a tenant admin (roles claim: tenant_admin) may release a permanent record.",
                        code="TENANT_ADMIN_REQUIRED")
