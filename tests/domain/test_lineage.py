from shared.domain.lineage import derived_lineage, root_lineage, walk_provenance
from shared.domain.models import Artifact, ProducedBy


def _artifact(artifact_id: str, lineage, kind: str = "parsed_content") -> Artifact:
    return Artifact(
        artifact_id=artifact_id, artifact_type=kind, tenant_id="t", session_id="s", storage_location=f"gs://b/{artifact_id}",
        boundary_contract_id="bc", produced_by=ProducedBy(intent="x", execution_id="e"), lineage=lineage,
    )


def test_uploaded_file_is_its_own_root_at_generation_zero():
    lineage = root_lineage("file_1")
    assert lineage.generation == 0
    assert lineage.derived_from == []
    assert lineage.root_artifact_id == "file_1"


def test_derived_lineage_counts_generations_and_keeps_the_root():
    root = _artifact("file_1", root_lineage("file_1"), "file")
    child = _artifact("p1", derived_lineage([root], "parse_content", "exec_1"))
    grandchild = _artifact("p2", derived_lineage([child], "enrich", "exec_2"))
    assert child.lineage.model_dump() == {
        "derived_from": ["file_1"], "derivation_intent": "parse_content", "derivation_run_id": "exec_1",
        "generation": 1, "root_artifact_id": "file_1", "regenerated_from": None, "reproduced": None,
    }
    assert grandchild.lineage.generation == 2
    assert grandchild.lineage.root_artifact_id == "file_1"


def test_provenance_walks_three_generations_to_the_root_nearest_first():
    root = _artifact("file_1", root_lineage("file_1"), "file")
    g1 = _artifact("g1", derived_lineage([root], "parse_content", "e1"))
    g2 = _artifact("g2", derived_lineage([g1], "transform", "e2"))
    g3 = _artifact("g3", derived_lineage([g2], "transform", "e3"))
    index = {a.artifact_id: a for a in (root, g1, g2, g3)}
    chain = walk_provenance(g3, index.get)
    assert [a.artifact_id for a in chain] == ["g3", "g2", "g1", "file_1"]
    assert [a.lineage.generation for a in chain] == [3, 2, 1, 0]


def test_provenance_survives_a_cycle_and_a_missing_parent():
    a = _artifact("a", derived_lineage([_artifact("b", root_lineage("b"))], "x", "e"))
    b = _artifact("b", derived_lineage([a], "x", "e"))
    chain = walk_provenance(a, {"a": a, "b": b}.get)
    assert [x.artifact_id for x in chain] == ["a", "b"]
    orphan = _artifact("o", derived_lineage([_artifact("gone", root_lineage("gone"))], "x", "e"))
    assert [x.artifact_id for x in walk_provenance(orphan, {}.get)] == ["o"]
