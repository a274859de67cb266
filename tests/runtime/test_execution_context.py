"""ExecutionContext: the seed's runtime context, and the execution-context metadata it reads. Pure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.domain.errors import ValidationFailed
from shared.domain.intents import Intent
from shared.runtime.context import ExecutionContext


def _ctx(metadata=None, solution_id=None):
    intent = Intent.create("ingest_file", tenant_id="t1", session_id="s1", user_id="u1", metadata=metadata,
                           solution_id=solution_id)
    store = object()
    return ExecutionContext.for_intent(intent, "exec_1", SimpleNamespace(store=store)), store  # type: ignore[arg-type]


def test_the_context_carries_who_runs_what_under_which_execution():
    ctx, store = _ctx(metadata={"k": "v"}, solution_id="sol")
    assert (ctx.execution_id, ctx.tenant_id, ctx.session_id, ctx.user_id, ctx.solution_id) == ("exec_1", "t1", "s1", "u1", "sol")
    assert ctx.metadata == {"k": "v"}
    assert ctx.state_surface is store and ctx.wal is store


def test_context_metadata_is_read_as_the_seed_reads_it_with_its_defaults():
    ctx, _ = _ctx()
    assert ctx.boundary_contract_id is None
    assert ctx.materialization_type == "full_artifact" and ctx.materialization_backing_store == "gcs"
    ctx, _ = _ctx(metadata={"boundary_contract_id": "bc_9", "materialization_type": "reference",
                            "materialization_backing_store": "gcs"})
    assert ctx.boundary_contract_id == "bc_9" and ctx.materialization_type == "reference"


def test_unknown_materialization_choices_are_refused_clearly():
    with pytest.raises(ValidationFailed) as err:
        _ctx(metadata={"materialization_backing_store": "s3"})[0].materialization_backing_store  # noqa: B018
    assert err.value.code == "UNSUPPORTED_BACKING_STORE"
    with pytest.raises(ValidationFailed) as err:
        _ctx(metadata={"materialization_type": "everything"})[0].materialization_type  # noqa: B018
    assert err.value.code == "INVALID_MATERIALIZATION_TYPE"


def test_the_context_serializes_with_its_intent():
    ctx, _ = _ctx(metadata={"k": "v"})
    doc = ctx.to_json()
    assert doc["execution_id"] == "exec_1" and doc["intent"]["intent_type"] == "ingest_file"
    assert doc["metadata"] == {"k": "v"} and doc["solution_id"] == "default"
