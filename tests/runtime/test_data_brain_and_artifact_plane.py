"""The Data Brain's references and the Artifact Plane's registry fields and lineage, as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.domain.lineage import derived_lineage, root_lineage
from shared.domain.models import ARTIFACT_TYPES, Artifact, Materialization, ProducedBy, register_artifact_type
from shared.domain.retention import record_expiry, tombstone_purge_at, working_expiry
from shared.runtime.artifact_plane import with_registry_fields
from shared.runtime.data_brain import reference_id_for, references_for


def _file(artifact_id="file_1", tenant="t1", **kw) -> Artifact:
    return Artifact(
        artifact_id=artifact_id, artifact_type=kw.pop("artifact_type", "file"), tenant_id=tenant, session_id="s",
        storage_location=f"gs://uploads/{artifact_id}", boundary_contract_id="bc",
        produced_by=ProducedBy(intent="ingest_file", execution_id="exec_9"), lineage=root_lineage(artifact_id),
        materializations=[Materialization(materialization_id="m1", uri=f"gs://uploads/{artifact_id}", format="text/csv",
                                          size_bytes=12)],
        file_hash="sha256:abc", **kw)


def test_each_materialization_becomes_a_reference_tied_to_its_artifact():
    (ref,) = references_for(_file())
    assert (ref.uri, ref.artifact_id, ref.format, ref.size, ref.content_hash) == ("gs://uploads/file_1", "file_1", "text/csv", 12,
                                                                                 "sha256:abc")
    assert ref.reference_id == reference_id_for("t1", "gs://uploads/file_1") and ref.execution_id == "exec_9"
    assert ref.root_artifact_id == "file_1" and ref.derived_from == []


def test_reference_ids_are_stable_per_uri_and_differ_across_tenants():
    assert reference_id_for("t1", "gs://b/x") == reference_id_for("t1", "gs://b/x")
    assert reference_id_for("t1", "gs://b/x") != reference_id_for("t2", "gs://b/x")
    assert reference_id_for("t1", "gs://b/x") != reference_id_for("t1", "gs://b/y")


def test_registry_fields_are_present_and_agree_with_the_artifact():
    stored = with_registry_fields(_file(), solution_id="sol_1")
    doc = stored.to_json()
    assert doc["realm"] == "content" and doc["solution_id"] == "sol_1"
    assert doc["intent_type"] == "ingest_file" and doc["execution_id"] == "exec_9"
    assert doc["payload_storage_path"] == "gs://uploads/file_1" and doc["payload_artifact_id"] == "file_1"
    moved = stored.model_copy(update={"storage_location": "gs://records/file_1"})
    assert moved.to_json()["payload_storage_path"] == "gs://records/file_1"  # computed: it cannot go stale
    assert Artifact.model_validate(doc) == stored  # stored documents (with computed keys) read back


def test_artifact_types_are_open_to_registration_and_closed_to_typos():
    with pytest.raises(ValidationError):
        _file(artifact_type="embedding_set")
    register_artifact_type("embedding_set")
    try:
        assert _file(artifact_type="embedding_set").artifact_type == "embedding_set"
    finally:
        ARTIFACT_TYPES.discard("embedding_set")
    with pytest.raises(ValueError):
        register_artifact_type("Not A Name!")


def test_lineage_is_a_root_without_parents_and_one_generation_past_them_with():
    parent = _file()
    assert root_lineage("file_1").generation == 0
    child = derived_lineage([parent], "parse_content", "exec_2")
    assert (child.derived_from, child.generation, child.root_artifact_id, child.derivation_run_id) == (
        ["file_1"], 1, "file_1", "exec_2")


def test_retention_policies_set_expiry_and_tombstones_are_purged_later():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert record_expiry("standard", now) is None and record_expiry("permanent", now) is None
    assert record_expiry("ephemeral_30d", now) == now + timedelta(days=30)
    assert record_expiry("regulatory_7y", now) > now + timedelta(days=7 * 365)
    assert working_expiry(now, 7) == now + timedelta(days=7)
    assert tombstone_purge_at(now) > now
    with pytest.raises(ValueError):
        record_expiry("forever-ish", now)
