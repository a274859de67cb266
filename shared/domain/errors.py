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


FILE_TOO_LARGE_MESSAGE = "File size exceeds 100MB limit. Maximum allowed size is 100MB."
