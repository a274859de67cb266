"""The one error taxonomy.

- `DomainError` and its children are the client's fault, each with an `error_code`. The edges alone map a kind to a
  status (shared/edges/http.py): a 4xx, never a 5xx.
- `PermanentError`: retrying cannot help; record it and acknowledge the delivery.
- `TransientError`: raise it so the platform retries.
- A duplicate delivery is not an error: use cases return early (see `Duplicate`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(DomainError):
    code = "BAD_REQUEST"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    """The caller is who they say, but the token lacks the claim the operation needs."""

    code = "FORBIDDEN"


class Conflict(DomainError):
    code = "CONFLICT"


class IllegalTransition(Conflict):
    code = "ILLEGAL_TRANSITION"


class PayloadTooLarge(DomainError):
    code = "FILE_TOO_LARGE"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class PermanentError(Exception):
    """A failure no retry will fix (corrupt input, unsupported format). Recorded, then acknowledged."""

    def __init__(self, message: str, *, code: str = "PERMANENT_FAILURE"):
        super().__init__(message)
        self.message = message
        self.code = code


class TransientError(Exception):
    """A failure worth retrying (a dependency is unavailable). Raised so the platform retries with backoff."""


class Duplicate(Exception):
    """A delivery that was already handled; the caller treats it as a no-op."""


# The fixed list every `error_code` the service answers comes from (HTTP errors and failed intents alike). A code
# is never built from what a caller sent; tests/domain/test_error_codes.py checks that every code in the source is here.
ERROR_CODES: frozenset[str] = frozenset({
    # request shape and validation
    "BAD_REQUEST", "INVALID_JSON", "VALIDATION_ERROR", "UNKNOWN_FIELD", "MISSING_FIELD", "INVALID_FIELD",
    "INVALID_MAP", "INVALID_HEX", "INVALID_ID", "INVALID_IDEMPOTENCY_KEY", "INVALID_PAGE_SIZE", "INVALID_PAGE_TOKEN",
    "INVALID_SESSION_ID", "INVALID_STATUS", "INVALID_ARTIFACT_TYPE", "INVALID_LIFECYCLE_STATE",
    "INVALID_TARGET_ARTIFACT_ID", "INVALID_ARTIFACT_ID", "INVALID_FILE_ID", "INVALID_FILE_SIZE", "INVALID_MIME_TYPE",
    "INVALID_UI_NAME", "INVALID_FILENAME", "INVALID_INGESTION_TYPE", "INVALID_INGESTION_PROFILE",
    "INVALID_RETENTION_POLICY", "INVALID_API_PAYLOAD", "INVALID_INTENT_TYPE", "INVALID_CONTEXT", "INVALID_OPTIONS",
    "INVALID_LINEAGE", "INVALID_MATERIALIZATION_TYPE", "INVALID_QUERY", "INVALID_URI", "UNSUPPORTED_BACKING_STORE",
    "MISSING_UI_NAME", "MISSING_FILE_CONTENT", "MISSING_EDI_DATA", "MISSING_PARTNER_ID", "MISSING_API_PAYLOAD",
    "MISSING_INGESTION_PROFILE", "MISSING_FILE_SIZE", "MISSING_MIME_TYPE", "MISSING_FILE_ID", "MISSING_ARTIFACT_ID",
    "MISSING_TARGET_ARTIFACT_ID", "MISSING_INTENT_TYPE", "MISSING_CONTEXT",
    "HEADER_TOO_LARGE", "REQUEST_TOO_LARGE", "FILE_TOO_LARGE", "INLINE_PAYLOAD_TOO_LARGE", "UNKNOWN_INTENT_TYPE",
    # partner exchange
    "INVALID_PARTNER", "PARTNER_NOT_FOUND", "INVALID_INTERCHANGE", "STANDARD_MISMATCH", "DUPLICATE_INTERCHANGE",
    # authentication and routing
    "UNAUTHENTICATED", "MISSING_TOKEN", "INVALID_TOKEN", "ORIGIN_NOT_ALLOWED", "ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED",
    "FORBIDDEN", "OPERATOR_REQUIRED", "INVALID_SINCE", "INVALID_LIMIT",
    # not found
    "NOT_FOUND", "ARTIFACT_NOT_FOUND", "INTENT_NOT_FOUND", "EXECUTION_NOT_FOUND", "UPLOAD_NOT_FOUND",
    # state conflicts
    "CONFLICT", "ILLEGAL_TRANSITION", "CONCURRENT_MODIFICATION", "IDEMPOTENCY_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED",
    "PARSE_IN_PROGRESS", "PROFILE_CONFLICT", "DERIVATION_IN_PROGRESS", "HAS_DERIVED_ARTIFACTS", "SOURCE_NOT_SAVED",
    "SOURCE_MISSING", "ARTIFACT_DELETED", "ARTIFACT_REJECTED", "ARTIFACT_NOT_PARSEABLE", "NOT_A_FILE",
    "MATERIALIZATION_FORBIDDEN", "BOUNDARY_CONTRACT_MISMATCH", "NO_PAYLOAD", "PAYLOAD_DELETED", "PAYLOAD_EXPIRED",
    "PAYLOAD_UNAVAILABLE", "UPLOAD_REJECTED", "TARGET_DELETED",
    # retention, holds and materialization types
    "RETENTION_LOCKED", "LEGAL_HOLD", "NOT_RELEASED", "NOT_A_RECORD", "NOT_PERMANENT",
    "TENANT_ADMIN_REQUIRED", "REFERENCE_CHANGED", "REFERENCE_NOT_VERIFIED", "NOT_LOCKABLE", "NO_STATISTICS",
    "NOT_REPRODUCIBLE", "NOT_REGENERABLE", "PAYLOAD_NOT_EXPIRED",
    "JOURNEY_NOT_FOUND", "JOURNEY_NOT_ACTIVE", "JOURNEY_COMPLETED", "JOURNEY_SAVES_AUTOMATICALLY", "JOURNEY_SAVING",
    # journey steps that failed
    "FILE_UNAVAILABLE", "INTENT_MISSING", "INTENT_CANCELLED", "PARSE_FAILED", "SAVE_FAILED",
    # failed intents and executions
    "PERMANENT_FAILURE", "EMPTY_FILE", "CORRUPT_FILE", "UNSUPPORTED_FORMAT", "ENCODING_ERROR", "PROFILE_MISMATCH",
    "TOO_LARGE", "MAX_ATTEMPTS_EXCEEDED", "ABANDONED",
    # faults of the service
    "UNAVAILABLE", "UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "INTERNAL",
})

MAX_ECHO = 64


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """A caller's value as an error message may quote it: printable and cut short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


FILE_TOO_LARGE_MESSAGE = "File size exceeds 100MB limit. Maximum allowed size is 100MB."
