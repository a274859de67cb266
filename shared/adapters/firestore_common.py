"""What every Firestore adapter module shares: which ids may name a document, and how a commit is retried when it
meets contention."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Callable

from google.api_core import exceptions as gexc
from google.api_core.retry import exponential_sleep_generator

from shared.domain.errors import TransientError

COMMIT_ATTEMPTS = 3  # commits the client retries at once (keeping its place in line) before the store backs off

_EXCEEDED = "Failed to commit transaction in"  # the client's ValueError once its commit attempts are spent
_CONTENTION = (gexc.Aborted, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError)


def _is_contention(exc: BaseException) -> bool:
    return isinstance(exc, _CONTENTION) or (isinstance(exc, ValueError) and str(exc).startswith(_EXCEEDED))


def with_backoff[R](attempt: Callable[[], R], budget_seconds: float, deadline: float | None = None) -> R:
    """Run a transaction again after contention, with jittered exponential backoff, while the budget lasts;
    then TransientError (503 with Retry-After at the edge). Other errors pass through untouched."""
    deadline = deadline if deadline is not None else time.monotonic() + budget_seconds
    delays = exponential_sleep_generator(initial=0.05, maximum=2.0)
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not _is_contention(exc):
                raise
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise TransientError(f"transaction contention outlasted {budget_seconds:.0f}s: {exc}") from exc
            time.sleep(delay)


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")


def safe_id(value: str | None) -> bool:
    """Whether an id can name a document of ours; a hostile one (a path, `..`, a control character) is never read."""
    return bool(value) and bool(_SAFE_ID.match(value or "")) and ".." not in (value or "")


class DocumentGate:
    """In-process single flight per document: transactions of this instance that start by reading the same document
    take turns, instead of all locking it in Firestore and aborting one another (each abort costs seconds on the
    emulator). Transactions on different documents never wait for each other. One gate per transaction at most,
    so gates cannot deadlock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._held = threading.local()

    def enter(self, path: str, deadline: float) -> None:
        if getattr(self._held, "lock", None) is not None:
            return
        with self._guard:
            lock = self._locks.get(path)
            if lock is None:
                lock = threading.Lock()
                self._locks[path] = lock
        if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TransientError(f"{path} is busy with concurrent changes")
        self._held.lock = lock

    def holding(self) -> bool:
        return getattr(self._held, "lock", None) is not None

    def leave(self) -> None:
        lock = getattr(self._held, "lock", None)
        self._held.lock = None
        if lock is not None:
            lock.release()
