"""cloudbuild.yaml: the pipeline checks before it stages, stages before it plans, and applies only what it planned."""

from __future__ import annotations

import re
from typing import Any

import pytest
from infra_support import REPO_ROOT
from ruamel.yaml import YAML

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return YAML(typ="safe").load((REPO_ROOT / "cloudbuild.yaml").read_text())


def _steps(build: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in build["steps"]}


def _ancestors(steps: dict[str, dict[str, Any]], step_id: str) -> set[str]:
    seen: set[str] = set()
    stack = list(steps[step_id].get("waitFor", []))
    while stack:
        current = stack.pop()
        if current not in seen and current != "-":  # "-": the step starts at once, after nothing
            seen.add(current)
            stack.extend(steps[current].get("waitFor", []))
    return seen


def test_builder_images_are_pinned_to_exact_versions(build: dict[str, Any]) -> None:
    for step in build["steps"]:
        image = step["name"]
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image), f"{step['id']} uses an unpinned image {image}"
        assert not image.endswith(":latest")


def test_apply_runs_only_after_lint_tests_infra_checks_staging_and_plan(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"lint", "tests", "infra-checks", "stage", "terraform-plan"} <= _ancestors(steps, "terraform-apply")
    assert {"lint", "tests", "infra-checks"} <= _ancestors(steps, "stage")
    assert "stage" in _ancestors(steps, "terraform-plan")
    assert "bash dev/check_infra.sh" in steps["infra-checks"]["script"]
    assert "python -m dev.stage --out build" in steps["stage"]["script"]
    plan, apply = steps["terraform-plan"], steps["terraform-apply"]
    assert "-out=tfplan" in plan["args"]
    # The apply applies the saved plan (what was reviewed), and only when _APPLY says so.
    apply_script = "\n".join(apply["args"])
    assert "terraform apply -input=false -lock-timeout=300s tfplan" in apply_script
    assert '"${_APPLY}" = "true"' in apply_script


def test_project_region_and_environment_are_substitutions(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"_ENV", "_REGION", "_STATE_BUCKET"} <= set(build["substitutions"])
    for step_id in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert steps[step_id]["dir"] == "infra/envs/${_ENV}"
    assert "-var=project_id=${PROJECT_ID}" in steps["terraform-plan"]["args"]
    assert "-var=region=${_REGION}" in steps["terraform-plan"]["args"]
    assert "-backend-config=prefix=envs/${_ENV}" in steps["terraform-init"]["args"]
