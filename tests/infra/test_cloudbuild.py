"""The builds: tests and linters run in cloudbuild-checks.yaml, as an account with no deploy rights; the deploy builds
(cloudbuild.yaml, cloudbuild-apply.yaml) run only hash-locked tools in digest-pinned images, refuse a commit whose
checks did not pass, stage before they plan, show and save the plan, and apply (and publish) only that plan: in the
same build for dev, after an approval in a second build for prod."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from infra_support import INFRA, REPO_ROOT
from ruamel.yaml import YAML

from dev import release

pytestmark = pytest.mark.infra

BUILDS = ("cloudbuild.yaml", "cloudbuild-apply.yaml", "cloudbuild-checks.yaml")
IMAGES = json.loads((INFRA / "build_images.json").read_text())["images"]
# Whatever installs or runs third-party code; none of it may run in a build that holds deploy credentials, unless
# it installs from a hash lock.
_UNLOCKED_INSTALL = re.compile(r"pip install(?![^\n]*--require-hashes)|apt-get install|curl |wget |npm (?:ci|install)"
                               r"(?![^\n]*--ignore-scripts)|pytest|ruff|mypy|checkov|check_infra")


def _load(name: str) -> dict[str, Any]:
    return YAML(typ="safe").load((REPO_ROOT / name).read_text())


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return _load("cloudbuild.yaml")


@pytest.fixture(scope="module")
def apply_build() -> dict[str, Any]:
    return _load("cloudbuild-apply.yaml")


@pytest.fixture(scope="module")
def checks_build() -> dict[str, Any]:
    return _load("cloudbuild-checks.yaml")


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


@pytest.mark.parametrize("name", BUILDS)
def test_every_builder_image_is_pinned_by_digest_to_a_declared_image(name: str) -> None:
    pinned = {f"{i['image']}@{i['digest']}" for i in IMAGES.values()}
    for spec in IMAGES.values():
        assert re.fullmatch(r"[a-z0-9./-]+:[0-9][\w.-]*", spec["image"]), spec  # an exact version tag, for readers
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", spec["digest"]), spec
    for step in _load(name)["steps"]:
        assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}", step["name"]), f"{name} {step['id']}: {step['name']}"
        assert step["name"] in pinned, f"{name} {step['id']}: {step['name']} is not in infra/build_images.json"


def test_tests_and_linters_run_only_in_the_checks_build(build: dict[str, Any], apply_build: dict[str, Any],
                                                        checks_build: dict[str, Any]) -> None:
    checks = _steps(checks_build)
    assert "pytest" in checks["tests"]["script"] and "ruff check" in checks["lint"]["script"]
    assert "bash dev/check_infra.sh" in checks["infra-checks"]["script"]
    assert checks_build["tags"] == [release.CHECKS_TAG]
    # Its own installs come from hash locks too (it is where the tasks emulator and checkov are installed).
    deps = checks["deps"]["script"]
    assert "--require-hashes -r locks/dev.txt" in deps and "--require-hashes -r locks/tool-tasks-emulator.txt" in deps
    assert "--require-hashes -r locks/tool-checkov.txt" in (REPO_ROOT / "dev" / "check_infra.sh").read_text()
    for deploy in (build, apply_build):
        for step in deploy["steps"]:
            found = _UNLOCKED_INSTALL.search(_text(step))
            assert not found, f"{step['id']} runs {found.group(0)!r} in a build that holds the deployer's credentials"


def test_the_deploy_refuses_a_commit_whose_checks_did_not_pass(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert "dev.release gate" in steps["gate"]["script"] and '--commit "$COMMIT_SHA"' in steps["gate"]["script"]
    for later in ("stage", "web-build", "terraform-plan", "terraform-apply", "web-publish"):
        assert "gate" in _ancestors(steps, later), later


class _Response:
    def __init__(self, builds: list[dict[str, str]]) -> None:
        self.builds = builds

    def raise_for_status(self) -> None:
        return None

    def json(self) -> dict[str, Any]:
        return {"builds": self.builds}


class _Session:
    """Answers builds.list as the Cloud Build REST API documents it: {"builds": [Build, ...]}, each with id and status."""

    def __init__(self, *answers: list[dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def get(self, url: str, params: dict[str, Any], timeout: float) -> _Response:
        self.requests.append((url, params))
        return _Response(self.answers.pop(0) if len(self.answers) > 1 else self.answers[0])


def test_the_gate_asks_cloud_build_for_this_commits_checks_and_waits_for_a_running_one() -> None:
    sha = "a" * 40
    session = _Session([{"id": "b1", "status": "WORKING"}], [{"id": "b1", "status": "SUCCESS"}])
    assert release.gate("acme", sha, session=session, wait_seconds=5, poll_seconds=0) == "b1"
    url, params = session.requests[0]
    assert url == "https://cloudbuild.googleapis.com/v1/projects/acme/builds"
    assert params["filter"] == f'substitutions.COMMIT_SHA="{sha}" AND tags="checks"'
    with pytest.raises(SystemExit, match="FAILURE"):
        release.gate("acme", sha, session=_Session([{"id": "b2", "status": "FAILURE"}]))
    with pytest.raises(SystemExit, match="none"):
        release.gate("acme", sha, session=_Session([]))
    with pytest.raises(ValueError):
        release.checks_filter('x" OR tags="y')


def test_apply_runs_only_after_staging_and_plan(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"gate", "stage", "terraform-plan", "plan-show", "plan-bundle"} <= _ancestors(steps, "terraform-apply")
    assert "python -m dev.stage --out build" in steps["stage"]["script"]
    assert "-out=tfplan" in _text(steps["terraform-plan"])
    apply_script = _text(steps["terraform-apply"])
    assert "terraform apply -input=false -lock-timeout=300s tfplan" in apply_script
    assert '"${_APPLY}" = "true"' in apply_script and '"${_READ_ONLY}" != "true"' in apply_script


def test_the_plan_is_shown_and_saved_with_everything_needed_to_apply_and_publish_it(build: dict[str, Any]) -> None:
    steps = _steps(build)
    show = _text(steps["plan-show"])
    assert "terraform show -no-color tfplan) | tee plan/plan.txt" in show
    assert "terraform show -json tfplan" in show
    bundle = _text(steps["plan-bundle"])
    assert "-czf plan/plan-bundle.tgz infra build web/dist" in bundle and "--exclude=.terraform" in bundle
    assert "--sort=name --mtime=@0" in bundle
    assert "sha256sum plan-bundle.tgz" in bundle and "_PLAN_SHA256=" in bundle
    assert "web-build" in steps["plan-bundle"]["waitFor"]
    artifacts = build["artifacts"]["objects"]
    assert artifacts["location"] == "gs://${_ARTIFACT_BUCKET}/plans/${_ENV}/${BUILD_ID}/"
    assert set(artifacts["paths"]) == {"plan/plan.txt", "plan/plan.json", "plan/plan-bundle.tgz", "plan/plan-bundle.sha256"}
    assert "-lockfile=readonly" in steps["terraform-init"]["args"]
    deps = steps["deps"]["script"]
    assert "dev.lock --check" in deps and "--require-hashes -r locks/functions.txt" in deps


def test_the_apply_build_prints_and_applies_exactly_the_verified_plan_then_publishes_its_app(
        apply_build: dict[str, Any]) -> None:
    steps = _steps(apply_build)
    assert list(steps) == ["deps", "fetch-plan", "terraform-init", "plan-show", "terraform-apply", "web-bucket",
                           "web-publish"]
    fetch = steps["fetch-plan"]["script"]
    assert "dev.release fetch-plan" in fetch and '--sha256 "${_PLAN_SHA256}"' in fetch
    assert fetch.index("rm -rf infra build web/dist") < fetch.index("dev.release fetch-plan")
    # What the log prints is `terraform show` of the tfplan that is applied, from the verified archive.
    assert steps["plan-show"]["args"] == ["show", "-no-color", "tfplan"]
    assert "plan.txt" not in "\n".join(_text(s) for s in apply_build["steps"])
    assert steps["terraform-init"]["args"][:3] == ["init", "-input=false", "-lockfile=readonly"]
    assert steps["terraform-apply"]["args"] == ["apply", "-input=false", "-lock-timeout=300s", "tfplan"]
    assert "dev.release publish-web" in steps["web-publish"]["script"]
    assert _ancestors(steps, "web-publish") >= {"terraform-apply", "fetch-plan"}
    for step in apply_build["steps"]:
        assert "terraform plan" not in _text(step) and "-auto-approve" not in _text(step), "the apply build plans nothing"
    assert {"_PLAN_BUILD_ID", "_PLAN_SHA256", "_ENV"} <= set(apply_build["substitutions"])


def _bundle(tmp_path: Path) -> tuple[Path, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"plan"
        info = tarfile.TarInfo("infra/envs/prod/tfplan")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "plan-bundle.tgz"
    path.write_bytes(buf.getvalue())
    return path, hashlib.sha256(buf.getvalue()).hexdigest()


def test_a_bundle_is_unpacked_only_when_its_sha256_is_the_approved_one(tmp_path: Path) -> None:
    bundle, digest = _bundle(tmp_path)
    with pytest.raises(SystemExit, match="not the approved"):
        release.verify_and_unpack(bundle, "0" * 64, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    release.verify_and_unpack(bundle, digest, tmp_path / "out")
    assert (tmp_path / "out" / "infra" / "envs" / "prod" / "tfplan").read_bytes() == b"plan"


def test_a_bundle_cannot_write_outside_the_workspace(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    path = tmp_path / "evil.tgz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(tarfile.FilterError):
        release.verify_and_unpack(path, hashlib.sha256(buf.getvalue()).hexdigest(), tmp_path / "out")
    assert not (tmp_path / "escape").exists()


def test_pull_request_plans_run_read_only_and_take_no_state_lock(build: dict[str, Any]) -> None:
    plan = _text(_steps(build)["terraform-plan"])
    assert 'if [ "${_READ_ONLY}" = "true" ]; then lock=false; fi' in plan and "-lock=$$lock" in plan
    readme = (REPO_ROOT / "infra" / "README.md").read_text()
    pr = readme[readme.index("--name=plan-pr"):].split("\n\n", 1)[0]
    assert "_READ_ONLY=true" in pr and "_APPLY=false" in pr and "${PLANNER}" in pr
    assert "--require-approval" in readme[readme.index("--name=apply-prod"):].split("\n\n", 1)[0]
    checks = readme[readme.index("--name=checks"):].split("\n\n", 1)[0]
    assert "cloudbuild-checks.yaml" in checks and "${CHECKS}" in checks


def test_project_region_and_environment_are_substitutions(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert {"_ENV", "_REGION", "_STATE_BUCKET"} <= set(build["substitutions"])
    for step_id in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert steps[step_id]["dir"] == "infra/envs/${_ENV}"
    assert "-var=project_id=${PROJECT_ID}" in _text(steps["terraform-plan"])
    assert "-var=region=${_REGION}" in _text(steps["terraform-plan"])
    assert "-backend-config=prefix=envs/${_ENV}" in steps["terraform-init"]["args"]


def test_the_sources_lifecycle_never_deletes_an_archive_a_live_function_uses(infra_dirs: dict[str, Any]) -> None:
    """Archives are named by content hash and only Terraform writes them, so a live one is always the current version
    of its object. Only noncurrent versions (replaced archives) may expire; an age rule on live objects would delete
    the archive of a function left unchanged for that long, and Cloud Run's next rebuild of it would fail."""
    bucket = infra_dirs["modules/storage"].resource("google_storage_bucket", "sources")
    assert bucket["versioning"][0]["enabled"] is True
    for rule in bucket.get("lifecycle_rule", []):
        if rule["action"][0]["type"] == "Delete":
            condition = rule["condition"][0]
            assert condition.get("with_state") == "ARCHIVED", condition
            assert set(condition) <= {"with_state", "days_since_noncurrent_time", "num_newer_versions"}, condition
