"""A Python client generated from shared/api/openapi.json keeps every model: openapi-python-client drops a schema
whose unions it cannot merge (and every schema that refers to it), with only a warning."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "shared" / "api" / "openapi.json"


def _module_name(schema: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", schema).lower()


def test_openapi_python_client_generates_a_model_for_every_schema_without_warnings(tmp_path: Path) -> None:
    generator = Path(sys.executable).parent / "openapi-python-client"
    out = tmp_path / "client"
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff post-hook
    proc = subprocess.run(
        [str(generator), "generate", "--path", str(DOCUMENT), "--output-path", str(out), "--meta", "none"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Unable to process schema" not in proc.stdout + proc.stderr
    assert "Cannot parse response" not in proc.stdout + proc.stderr
    assert "Warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    # JsonValue is a union alias, not a class; every other schema becomes a model module.
    expected = {_module_name(name) for name, schema in schemas.items() if "anyOf" not in schema}
    generated = {path.stem for path in (out / "models").glob("*.py")}
    assert expected - generated == set()
