"""Structured lineage and the provenance walk. Pure: the caller supplies the lookup."""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.models import Artifact, Lineage

MAX_PROVENANCE_DEPTH = 64


def root_lineage(artifact_id: str) -> Lineage:
    """An uploaded file: generation 0, derived from nothing, its own root."""
    return Lineage(derived_from=[], generation=0, root_artifact_id=artifact_id)


def derived_lineage(parents: list[Artifact], derivation_intent: str, derivation_run_id: str) -> Lineage:
    if not parents:
        raise ValueError("a derived artifact needs at least one parent")
    roots = {p.lineage.root_artifact_id for p in parents}
    return Lineage(
        derived_from=[p.artifact_id for p in parents],
        derivation_intent=derivation_intent,
        derivation_run_id=derivation_run_id,
        generation=max(p.lineage.generation for p in parents) + 1,
        root_artifact_id=sorted(roots)[0],
    )


def walk_provenance(start: Artifact, lookup: Callable[[str], Artifact | None]) -> list[Artifact]:
    """Every ancestor back to the root, nearest first, each once; cycles and depth are bounded."""
    chain: list[Artifact] = [start]
    seen = {start.artifact_id}
    frontier = list(start.lineage.derived_from)
    while frontier and len(chain) <= MAX_PROVENANCE_DEPTH:
        next_frontier: list[str] = []
        for parent_id in frontier:
            if parent_id in seen:
                continue
            seen.add(parent_id)
            parent = lookup(parent_id)
            if parent is None:
                continue
            chain.append(parent)
            next_frontier.extend(parent.lineage.derived_from)
        frontier = next_frontier
    return chain
