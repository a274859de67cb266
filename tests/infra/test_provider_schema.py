"""The offline provider-schema check (dev/check_provider_schema.py): infra/ is valid against the real 6.50.0
schemas, and each kind of mistake `terraform validate` would refuse is found, seeded into copies of real modules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from infra_support import INFRA, MODULES

from dev.check_provider_schema import SCHEMA, check_paths, load_schema

pytestmark = pytest.mark.infra


def _seed(tmp_path: Path, module: str, old: str, new: str, count: int = 1) -> Path:
    text = (MODULES / module / "main.tf").read_text()
    assert old in text, f"{module}/main.tf no longer has {old!r}: update this seed"
    out = tmp_path / f"{module}.tf"
    out.write_text(text.replace(old, new, count))
    return out


def _messages(path: Path) -> list[str]:
    return [f"{f.address}: {f.message}" for f in check_paths([path])[0]]


def test_infra_is_valid_against_the_real_provider_schemas() -> None:
    findings, blocks = check_paths([INFRA])
    assert [str(f) for f in findings] == []
    assert blocks >= 56  # every resource, data and provider block was looked at


def test_the_schema_is_the_one_of_the_locked_provider_version() -> None:
    schema = load_schema()
    for env in ("dev", "prod"):
        lock = (INFRA / "envs" / env / ".terraform.lock.hcl").read_text()
        for provider in ("google", "google-beta"):
            locked = re.search(rf'"registry.terraform.io/hashicorp/{provider}" {{\s*version\s*=\s*"([0-9.]+)"', lock)
            assert locked, f"{env}: {provider} is not in the provider lock"
            assert schema[provider]["provider_version"] == locked.group(1), (env, provider)
    pins = (SCHEMA.parent / "requirements-provider-schema.txt").read_text()
    for provider, spec in schema.items():
        version = spec["package"].rsplit("@", 1)[1]
        assert f"cdktf-cdktf-provider-{provider}=={version} \\\n    --hash=sha256:" in pins


def test_a_misspelled_argument_fails(tmp_path: Path) -> None:
    seeded = _seed(tmp_path, "storage", "uniform_bucket_level_access", "uniform_bucket_level_acess")
    assert _messages(seeded) == ["google_storage_bucket.uploads: unknown argument `uniform_bucket_level_acess` "
                                 "(did you mean `uniform_bucket_level_access`?)"]


def test_a_misspelled_argument_inside_a_dynamic_block_fails(tmp_path: Path) -> None:
    seeded = _seed(tmp_path, "monitoring", "threshold_value         =", "threshold_valu          =")
    assert _messages(seeded) == [
        "google_monitoring_alert_policy.this.dynamic.conditions.content.condition_threshold: unknown argument "
        "`threshold_valu` (did you mean `threshold_value`?)"]


def test_an_unknown_dynamic_block_fails(tmp_path: Path) -> None:
    seeded = _seed(tmp_path, "monitoring", 'dynamic "denominator_aggregations"', 'dynamic "denominator_aggregation"')
    assert _messages(seeded) == [
        "google_monitoring_alert_policy.this.dynamic.conditions.content.condition_threshold.dynamic."
        "denominator_aggregation: unknown block `denominator_aggregation` in a dynamic block (did you mean "
        "`denominator_aggregations`?)"]


def test_a_missing_required_argument_fails(tmp_path: Path) -> None:
    seeded = _seed(tmp_path, "tasks", "  location ", "  # location ")
    assert _messages(seeded) == ["google_cloud_tasks_queue.this: missing required argument `location`"]


def test_a_missing_required_nested_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "rule.tf"
    path.write_text('resource "google_storage_bucket" "b" {\n  name     = "b"\n  location = "EU"\n'
                    '  lifecycle_rule {\n    condition {\n      age = 1\n    }\n  }\n}\n')
    assert _messages(path) == ["google_storage_bucket.b.lifecycle_rule: missing required block `action`"]


def test_an_unknown_resource_type_fails_and_a_beta_only_one_needs_the_beta_provider(tmp_path: Path) -> None:
    path = tmp_path / "types.tf"
    path.write_text('resource "google_storage_buckets" "a" {\n  name = "a"\n}\n'
                    'resource "google_project_service_identity" "b" {\n  service = "pubsub.googleapis.com"\n}\n'
                    'resource "google_project_service_identity" "c" {\n  provider = google-beta\n'
                    '  service  = "pubsub.googleapis.com"\n}\n'
                    'data "google_projects" "d" {\n  filter = "x"\n}\n'
                    'data "google_projectz" "e" {}\n')
    assert _messages(path) == [
        "google_storage_buckets.a: google 6.50.0 has no resource type `google_storage_buckets`",
        "google_project_service_identity.b: google 6.50.0 has no resource type `google_project_service_identity`; "
        "it is in google-beta: set `provider`",
        "data.google_projectz.e: google 6.50.0 has no data type `google_projectz`",
    ]


def test_blocks_and_arguments_in_the_wrong_form_fail(tmp_path: Path) -> None:
    path = tmp_path / "forms.tf"
    path.write_text('resource "google_storage_bucket" "b" {\n  name     = "b"\n  location = "EU"\n'
                    '  versioning = { enabled = true }\n  labels {\n    a = "b"\n  }\n'
                    '  website {\n    main_page_suffix = "index.html"\n  }\n'
                    '  website {\n    not_found_page = "404.html"\n  }\n}\n')
    assert _messages(path) == [
        "google_storage_bucket.b: `versioning` is a block, written here as an argument (use `versioning { ... }`)",
        "google_storage_bucket.b: `labels` is an argument, written here as a block (use `labels = ...`)",
        "google_storage_bucket.b: block `website` allows one, written 2 times",
    ]


def test_provider_blocks_are_checked_too(tmp_path: Path) -> None:
    text = (INFRA / "envs" / "prod" / "versions.tf").read_text()
    path = tmp_path / "versions.tf"
    path.write_text(text.replace("user_project_override = true", "user_project_overide  = true", 1))
    assert _messages(path) == ["provider.google: unknown argument `user_project_overide` (did you mean "
                               "`user_project_override`?)"]


def test_the_check_runs_from_the_command_line_and_fails_on_a_finding(tmp_path: Path) -> None:
    import subprocess
    import sys

    seeded = _seed(tmp_path, "storage", "uniform_bucket_level_access", "uniform_bucket_level_acess")
    root = INFRA.parent
    ok = subprocess.run([sys.executable, "-m", "dev.check_provider_schema"], cwd=root, capture_output=True, text=True)
    bad = subprocess.run([sys.executable, "-m", "dev.check_provider_schema", str(seeded)], cwd=root,
                         capture_output=True, text=True)
    assert ok.returncode == 0 and " 0 finding(s) in " in ok.stdout, ok.stdout + ok.stderr
    assert bad.returncode == 1 and "uniform_bucket_level_acess" in bad.stdout
    assert json.loads(SCHEMA.read_text())["providers"]["google"]["resources"]["google_storage_bucket"]["a"]["name"] == 1
