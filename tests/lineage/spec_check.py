"""Validate OpenLineage events against the spec's own JSON Schemas (tests/lineage/spec, from the OpenLineage
repository; SOURCES.tsv), each facet also against the schema its `_schemaURL` names — ours included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_DIR = Path(__file__).parent / "spec"
OUR_FACETS = Path(__file__).resolve().parents[2] / "shared" / "lineage" / "facets"


def _registry() -> Registry:
    resources = []
    for path in SPEC_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _ours(base: str) -> Registry:
    """Our facets' schemas live at a deployment's URL ({LINEAGE_BASE_URL}/facets/NAME.json): the file of that name."""
    path = OUR_FACETS / base.rsplit("/", 1)[-1]
    if base.rsplit("/", 2)[-2:-1] != ["facets"] or not path.is_file():
        return REGISTRY
    return REGISTRY.with_resource(base, Resource.from_contents(json.loads(path.read_text())))


REGISTRY = _registry()
FORMATS = Draft202012Validator.FORMAT_CHECKER  # uuid, date-time and uri are checked, not only shapes
RUN_EVENT = {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}


def _facet_errors(facet: dict[str, Any], where: str) -> list[str]:
    url = facet.get("_schemaURL", "")
    base = url.split("#")[0]
    registry = _ours(base)
    try:
        registry.get_or_retrieve(base)
    except Exception:  # noqa: BLE001 - a schema we do not hold is itself a failure
        return [f"{where}: no schema held for {url}"]
    validator = Draft202012Validator({"$ref": url}, registry=registry, format_checker=FORMATS)
    return [f"{where}: {e.message}" for e in validator.iter_errors(facet)]


def event_errors(event: dict[str, Any]) -> list[str]:
    errors = [e.message for e in Draft202012Validator(RUN_EVENT, registry=REGISTRY, format_checker=FORMATS).iter_errors(event)]
    for name, facet in (event.get("run", {}).get("facets") or {}).items():
        errors += _facet_errors(facet, f"run.{name}")
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            for name, facet in (dataset.get("facets") or {}).items():
                errors += _facet_errors(facet, f"{side}[{i}].{name}")
    return errors
