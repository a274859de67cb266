"""Counts the Firestore RPCs a piece of code sends, the way Firestore bills them: document reads, writes, transactions.

    with FirestoreMeter() as meter:
        handle_finalize(...)
    meter.reads, meter.writes, meter.transactions

It wraps the methods of the generated FirestoreClient, so every call the real client makes is seen, against the
emulator or anything else; nothing is simulated. Used by bench/ingest and by the tests that pin a path's cost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

_METHODS = ("batch_get_documents", "begin_transaction", "commit", "rollback", "run_query", "run_aggregation_query")


def _field(request: Any, name: str) -> Any:
    """The client passes requests as dicts or as messages."""
    if isinstance(request, dict):
        return request.get(name)
    return getattr(request, name, None)


class _CountingStream:
    """Proxies a server stream and counts the documents it yields; anything else (cancel, metadata) passes through.
    An iterator as well as an iterable: the client calls next() on query streams."""

    def __init__(self, inner: Any, on_end: Callable[[int], None]):
        self._inner = inner
        self._it = iter(inner)
        self._on_end = on_end
        self._docs = 0
        self._ended = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._it)
        except StopIteration:
            if not self._ended:
                self._ended = True
                self._on_end(self._docs)
            raise
        pb = getattr(item, "_pb", None)
        if pb is not None and any(pb.HasField(f) for f in ("document", "result") if f in pb.DESCRIPTOR.fields_by_name):
            self._docs += 1
        return item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _write_path(write: Any) -> str:
    if isinstance(write, dict):
        target = write.get("update") or {}
        return str(write.get("delete") or (target.get("name") if isinstance(target, dict) else target.name))
    pb = getattr(write, "_pb", write)
    return str(pb.delete or pb.update.name or pb.transform.document)


def _collection_of(path: str) -> str:
    """`.../documents/tenants/t1/artifacts/a1` -> `tenants/*/artifacts`: the path's collections, ids dropped."""
    parts = str(path).split("/documents/", 1)[-1].split("/")
    return "/".join(p if i % 2 == 0 else "*" for i, p in enumerate(parts[:-1]))


@dataclass
class FirestoreMeter:
    rpcs: Counter[str] = field(default_factory=Counter)
    reads: int = 0  # documents read: each document asked for by a get, each returned by a query (a query bills at least one)
    writes: int = 0  # documents written, deletes included
    transactions: int = 0  # read-write transactions begun
    commits_in_transaction: int = 0
    queries_in_transaction: int = 0
    written: Counter[str] = field(default_factory=Counter)  # documents written, by collection (ids left out)
    read: Counter[str] = field(default_factory=Counter)  # documents asked for by id, by collection
    _saved: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> FirestoreMeter:
        for name in _METHODS:
            original = getattr(FirestoreClient, name)
            self._saved[name] = original
            setattr(FirestoreClient, name, self._wrap(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._saved.items():
            setattr(FirestoreClient, name, original)
        self._saved.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"reads": self.reads, "writes": self.writes, "transactions": self.transactions,
                "commits_in_transaction": self.commits_in_transaction, "rpcs": dict(sorted(self.rpcs.items())),
                "written": dict(sorted(self.written.items())), "read": dict(sorted(self.read.items()))}

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        meter = self

        def counted(client: FirestoreClient, request: Any = None, *args: Any, **kwargs: Any) -> Any:
            meter.rpcs[name] += 1
            if name == "begin_transaction":
                meter.transactions += 1
            elif name == "commit":
                for write in _field(request, "writes") or []:
                    meter.writes += 1
                    meter.written[_collection_of(_write_path(write))] += 1
                if _field(request, "transaction"):
                    meter.commits_in_transaction += 1
            elif name == "batch_get_documents":
                for path in _field(request, "documents") or []:
                    meter.reads += 1
                    meter.read[_collection_of(path)] += 1
            elif name == "run_query" and _field(request, "transaction"):
                meter.queries_in_transaction += 1  # locks a key range other writers need
            response = original(client, request, *args, **kwargs)
            if name in ("run_query", "run_aggregation_query"):
                return meter._count_query(response)
            return response

        return counted

    def _count_query(self, stream: Any) -> _CountingStream:
        def on_end(docs: int) -> None:
            self.reads += max(docs, 1)  # a query that finds nothing still costs one read

        return _CountingStream(stream, on_end)
