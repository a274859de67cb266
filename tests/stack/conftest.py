"""Helpers for the stack's own tests: throwaway functions standing in for the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dev import stack as devstack

THROWAWAY_DIR = Path(__file__).resolve().parent / "functions"


def throwaway_manifest(target: Path) -> Path:
    """infra/functions.json with every function swapped for the echo (HTTP) or recorder (CloudEvent) function."""
    manifest = json.loads(devstack.FUNCTIONS_MANIFEST.read_text())
    for entry in manifest["functions"]:
        if devstack.SIGNATURE_BY_TRIGGER[entry["trigger"]] == "cloudevent":
            entry["source"], entry["entry_point"] = "recorder", "record"
        else:
            entry["source"], entry["entry_point"] = "echo", "echo"
    target.write_text(json.dumps(manifest))
    return target


@pytest.fixture(scope="session")
def throwaway_dir() -> Path:
    return THROWAWAY_DIR


@pytest.fixture
def throwaway_manifest_file(tmp_path: Path) -> Path:
    return throwaway_manifest(tmp_path / "functions.json")


@pytest.fixture
def throwaway_functions(throwaway_manifest_file: Path) -> list[devstack.FunctionSpec]:
    return devstack.load_functions(throwaway_manifest_file, THROWAWAY_DIR)
