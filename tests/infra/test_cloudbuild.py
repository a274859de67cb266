"""cloudbuild.yaml and cloudbuild-apply.yaml: the pipeline checks before it stages, stages before it plans, shows and
saves the plan, and applies only that plan: in the same build for dev, after an approval in a second build for prod."""

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


@pytest.fixture(scope="module")
def apply_build() -> dict[str, Any]:
    return YAML(typ="safe").load((REPO_ROOT / "cloudbuild-apply.yaml").read_text())


def _text(step: dict[str, Any]) -> str:
    return step.get("script") or "\n".join(step.get("args", []))


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


def test_builder_images_are_pinned_to_exact_versions(build: dict[str, Any], apply_build: dict[str, Any]) -> None:
    for step in build["steps"] + apply_build["steps"]:
        image = step["name"]
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image), f"{step['id']} uses an unpinned image {image}"
        assert not image.endswith(":latest")


def test_apply_runs_only_after_lint_tests_infra_checks_staging_and_plan(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"lint", "tests", "infra-checks", "stage", "terraform-plan", "plan-show", "plan-bundle"} <= _ancestors(
        steps, "terraform-apply")
    assert {"lint", "tests", "infra-checks"} <= _ancestors(steps, "stage")
    assert "stage" in _ancestors(steps, "terraform-plan")
    assert "bash dev/check_infra.sh" in steps["infra-checks"]["script"]
    assert "python -m dev.stage --out build" in steps["stage"]["script"]
    assert "-out=tfplan" in _text(steps["terraform-plan"])
    # The apply applies the saved plan (what was shown), only when _APPLY says so, and never for the read-only planner.
    apply_script = _text(steps["terraform-apply"])
    assert "terraform apply -input=false -lock-timeout=300s tfplan" in apply_script
    assert '"${_APPLY}" = "true"' in apply_script and '"${_READ_ONLY}" != "true"' in apply_script


def test_the_plan_is_shown_and_saved_with_everything_needed_to_apply_it(build: dict[str, Any]) -> None:
    steps = _steps(build)
    show = _text(steps["plan-show"])
    assert "terraform show -no-color tfplan) | tee plan/plan.txt" in show  # in the build log, and as a file
    assert "terraform show -json tfplan" in show
    bundle = _text(steps["plan-bundle"])
    assert "-czf plan/plan-bundle.tgz infra build" in bundle and "--exclude=.terraform" in bundle
    assert "--sort=name --mtime=@0" in bundle  # the same inputs give the same archive
    assert "sha256sum plan-bundle.tgz" in bundle and "_PLAN_SHA256=" in bundle
    artifacts = build["artifacts"]["objects"]
    assert artifacts["location"] == "gs://${_ARTIFACT_BUCKET}/plans/${_ENV}/${BUILD_ID}/"
    assert set(artifacts["paths"]) == {"plan/plan.txt", "plan/plan.json", "plan/plan-bundle.tgz", "plan/plan-bundle.sha256"}
    # The provider lock is committed and init verifies against it rather than re-resolving.
    assert "-lockfile=readonly" in steps["terraform-init"]["args"]
    # Dependencies come from the hash lock, after checking it matches the requirements.
    deps = steps["deps"]["script"]
    assert "dev.lock --check" in deps and "--require-hashes -r locks/dev.txt" in deps


def test_the_apply_build_applies_exactly_the_approved_saved_plan(apply_build: dict[str, Any]) -> None:
    steps = _steps(apply_build)
    assert list(steps) == ["fetch-plan", "terraform-init", "terraform-apply"]
    fetch = steps["fetch-plan"]["script"]
    assert "plans/${_ENV}/${_PLAN_BUILD_ID}/plan-bundle.tgz" in fetch
    # The archive must be the one whose checksum the approver saw in the plan build, before anything is unpacked.
    assert fetch.index('echo "${_PLAN_SHA256}  plan-bundle.tgz" | sha256sum --check --strict') < fetch.index("tar -xzf")
    assert "cat plan.txt" in fetch
    assert steps["terraform-init"]["args"][:3] == ["init", "-input=false", "-lockfile=readonly"]
    assert steps["terraform-apply"]["args"] == ["apply", "-input=false", "-lock-timeout=300s", "tfplan"]
    for step in apply_build["steps"]:
        assert "plan -" not in _text(step) and "-auto-approve" not in _text(step), "the apply build never makes a plan"
    assert {"_PLAN_BUILD_ID", "_PLAN_SHA256", "_ENV"} <= set(apply_build["substitutions"])


def test_pull_request_plans_run_read_only_and_take_no_state_lock(build: dict[str, Any]) -> None:
    plan = _text(_steps(build)["terraform-plan"])
    assert 'if [ "${_READ_ONLY}" = "true" ]; then lock=false; fi' in plan and "-lock=$$lock" in plan
    readme = (REPO_ROOT / "infra" / "README.md").read_text()
    pr = readme[readme.index("--name=plan-pr"):].split("\n\n", 1)[0]
    assert "_READ_ONLY=true" in pr and "_APPLY=false" in pr and "${PLANNER}" in pr
    assert "--require-approval" in readme[readme.index("--name=apply-prod"):].split("\n\n", 1)[0]


def test_project_region_and_environment_are_substitutions(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"_ENV", "_REGION", "_STATE_BUCKET"} <= set(build["substitutions"])
    for step_id in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert steps[step_id]["dir"] == "infra/envs/${_ENV}"
    assert "-var=project_id=${PROJECT_ID}" in _text(steps["terraform-plan"])
    assert "-var=region=${_REGION}" in _text(steps["terraform-plan"])
    assert "-backend-config=prefix=envs/${_ENV}" in steps["terraform-init"]["args"]
