"""Fixtures of the offline infra checks: infra/ parsed with python-hcl2, and the declarations module evaluated by the
project's own terraform, which needs no provider and no network."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from infra_support import (
    AS2_DELIVER_URL,
    BUCKETS,
    ENVIRONMENT,
    EVENTS_TOPIC,
    INFRA,
    MODULES,
    OCR_PROCESSOR_VERSION,
    PARSE_WORKER_URL,
    PROJECT,
    REGION,
    TASKS_QUEUE,
    TfDir,
    parse_tf_dir,
    run_terraform,
    tf_dirs,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "staging: stages the real functions and imports each in a clean virtualenv (slow, needs PyPI or pip's cache)"
    )


@pytest.fixture(scope="session")
def infra_dirs() -> dict[str, TfDir]:
    """Every module and environment root, keyed like 'modules/platform' or 'envs/dev'."""
    return {str(p.relative_to(INFRA)): parse_tf_dir(p) for p in tf_dirs() if p.is_dir()}


@pytest.fixture(scope="session")
def platform(infra_dirs: dict[str, TfDir]) -> TfDir:
    return infra_dirs["modules/platform"]


@pytest.fixture(scope="session")
def declared_functions() -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in json.loads((INFRA / "functions.json").read_text())["functions"]}


@pytest.fixture(scope="session")
def declared_routes() -> list[dict[str, Any]]:
    return json.loads((INFRA / "routes.json").read_text())["routes"]


@pytest.fixture(scope="session")
def declared_indexes() -> dict[str, Any]:
    return json.loads((INFRA / "firestore_indexes.json").read_text())


@pytest.fixture(scope="session")
def function_uris(declared_functions: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: f"https://{name}-abc123-ew.a.run.app" for name, f in declared_functions.items() if f["public"]}


@pytest.fixture(scope="session")
def evaluated(
    tmp_path_factory: pytest.TempPathFactory,
    declared_functions: dict[str, dict[str, Any]],
    function_uris: dict[str, str],
) -> Iterator[dict[str, Any]]:
    """The outputs of infra/modules/declarations, computed by terraform itself from the real declarations."""
    work = tmp_path_factory.mktemp("declarations")
    sources = sorted({f["source"] for f in declared_functions.values()})
    manifest = {"sources": {s: {"archive": f"{s}-{'0' * 12}.zip", "sha256": "0" * 64} for s in sources}}
    (work / "manifest.json").write_text(json.dumps(manifest))
    module_source = os.path.relpath(MODULES / "declarations", work)  # a local path, so terraform reads it in place
    inputs = {
        "project_id": PROJECT,
        "region": REGION,
        "environment": ENVIRONMENT,
        "staged_manifest_path": str(work / "manifest.json"),
        "buckets": BUCKETS,
        "events_topic": EVENTS_TOPIC,
        "dead_letter_subscription": "ingestion-events-dlq-hold",
        "tasks_queue": TASKS_QUEUE,
        "parse_worker_url": PARSE_WORKER_URL,
        "as2_deliver_url": AS2_DELIVER_URL,
        "function_uris": function_uris,
        "documentai_processor_version": OCR_PROCESSOR_VERSION,
    }
    root = {
        "module": {"declarations": {"source": module_source, **inputs}},
        "output": {"all": {"value": "${module.declarations}"}},
    }
    (work / "main.tf.json").write_text(json.dumps(root, indent=2))
    run_terraform(["init", "-input=false", "-backend=false"], work)
    run_terraform(["apply", "-auto-approve", "-input=false", "-lock=false"], work)
    out = run_terraform(["output", "-json", "all"], work)
    yield json.loads(out.stdout)
