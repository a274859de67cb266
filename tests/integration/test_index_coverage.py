"""Every query the store runs is served by an index in infra/firestore_indexes.json, the single declaration that
Terraform provisions. The queries are captured as the Firestore client builds them, not listed by hand."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from google.cloud.firestore_v1 import query as fs_query

from shared.domain.models import utcnow

DECLARATION = json.loads((Path(__file__).resolve().parents[2] / "infra" / "firestore_indexes.json").read_text())
EQUALITY_OPS = {"EQUAL", "ARRAY_CONTAINS", "IN"}  # an `in` runs as one equality query per value


def _filters(where) -> list[tuple[str, str]]:
    if where is None:
        return []
    kind = where._pb.WhichOneof("filter_type")
    if kind == "composite_filter":
        return [f for sub in where.composite_filter.filters for f in _filters(sub)]
    if kind == "field_filter":
        return [(where.field_filter.field.field_path, where.field_filter.op.name)]
    return []


def required_index(structured, group: str, scope: str) -> tuple[str, str, frozenset[str], tuple[str, ...]] | None:
    """(collection, scope, equality fields, ordered fields) when a composite index is needed, else None."""
    filters = _filters(structured.where if structured._pb.HasField("where") else None)
    equality = frozenset(f for f, op in filters if op in EQUALITY_OPS)
    ranged = [f for f, op in filters if op not in EQUALITY_OPS]
    ordered = tuple(dict.fromkeys([o.field.field_path for o in structured.order_by if o.field.field_path != "__name__"] + ranged))
    if len(equality) + len(ordered) <= 1 or (not ordered and all(op == "EQUAL" for _, op in filters)):
        return None  # single-field indexes (and index merging for pure equality) serve it
    return group, scope, equality, ordered


def declared(group: str, scope: str, equality: frozenset[str], ordered: tuple[str, ...]) -> bool:
    for index in DECLARATION["indexes"]:
        if index["collectionGroup"] != group or index["queryScope"] != scope:
            continue
        fields = [f["fieldPath"] for f in index["fields"]]
        n = len(ordered)
        if tuple(fields[-n:]) == ordered and frozenset(fields[:-n]) == equality:
            return True
    return False


@pytest.fixture
def captured(monkeypatch):
    seen: list[tuple] = []
    original = fs_query.Query.stream

    def recording_stream(self, *args, **kwargs):
        group = self._parent.id
        scope = "COLLECTION_GROUP" if self._all_descendants else "COLLECTION"
        need = required_index(self._to_protobuf(), group, scope)
        if need:
            seen.append(need)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fs_query.Query, "stream", recording_stream)
    return seen


def test_every_query_the_store_runs_has_a_declared_index(services, captured):
    store = services.store
    filters = ("artifact_type", "lifecycle_state", "session_id")
    for n in range(len(filters) + 1):
        for combo in itertools.combinations(filters, n):
            kwargs = {f: ("x" if f in combo else None) for f in filters}
            store.list_artifacts("tenant-a", page_size=5, page_token=None, **kwargs)
    for target, status in itertools.product((None, "file_1"), (None, "pending")):
        store.list_intents("tenant-a", target_artifact_id=target, status=status, page_size=5)
    store.expired_leases(utcnow(), 5)
    store.stale_executions("running", utcnow(), 5)
    store.pending_outbox(utcnow(), 5)
    store.oldest_pending_outbox()
    store.list_children("tenant-a", "file_1")
    assert len(captured) >= 12, f"too few composite-index queries captured ({captured}): the capture is broken"
    missing = [need for need in captured if not declared(*need)]
    assert not missing, f"queries without a declared index: {missing}"


def test_the_checker_notices_an_undeclared_index():
    assert declared("artifacts", "COLLECTION", frozenset({"artifact_type"}), ("created_at",))
    assert not declared("artifacts", "COLLECTION", frozenset({"ui_name"}), ("created_at",))
    assert not declared("intents", "COLLECTION_GROUP", frozenset({"status"}), ("created_at",))


def test_the_meter_tells_a_query_inside_a_transaction_from_one_outside(services):
    """What the tests that forbid queries inside transactions rely on."""
    from dev.firestore_meter import FirestoreMeter

    intents = services.store.tenant("tenant-a").collection("intents")
    with FirestoreMeter() as inside:
        services.store.run_in_transaction(lambda tx: list(intents.limit(1).get(transaction=tx._t)))
    with FirestoreMeter() as outside:
        list(intents.limit(1).stream())
    assert inside.queries_in_transaction == 1 and outside.queries_in_transaction == 0
