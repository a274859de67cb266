"""Browser-facing infrastructure: the uploads bucket's CORS comes from infra/cors.json (evaluated by terraform
itself), and the web app is hosted as static files behind HTTPS with its origin in the CORS lists."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from infra_support import ENVS, INFRA, MODULES, REPO_ROOT, TfDir, parse_tf_dir, run_terraform
from ruamel.yaml import YAML

pytestmark = pytest.mark.infra


def _locals_block(source: str) -> str:
    match = re.search(r"^locals \{\n.*?^\}\n", source, flags=re.S | re.M)
    assert match, "no locals block"
    return match.group(0)


def test_uploads_bucket_cors_allows_exactly_the_declared_headers_methods_and_age(tmp_path: Path) -> None:
    """The storage module's own locals, run by terraform against a copy of infra/cors.json at the same relative path."""
    module = tmp_path / "infra" / "modules" / "storage"
    module.mkdir(parents=True)
    shutil.copy(INFRA / "cors.json", tmp_path / "infra" / "cors.json")
    locals_tf = _locals_block((MODULES / "storage" / "main.tf").read_text())
    output = 'output "cors" {\n  value = { headers = local.cors_headers, upload = local.upload_cors }\n}\n'
    (module / "main.tf").write_text(locals_tf + "\n" + output)
    run_terraform(["init", "-input=false", "-backend=false"], module)
    run_terraform(["apply", "-auto-approve", "-input=false", "-lock=false"], module)
    evaluated = json.loads(run_terraform(["output", "-json", "cors"], module).stdout)
    declared = json.loads((INFRA / "cors.json").read_text())["upload"]
    assert evaluated["headers"] == [*declared["request_headers"], *declared["response_headers"]]
    assert evaluated["upload"]["methods"] == declared["methods"] == ["PUT"]
    assert {"x-goog-content-length-range", "x-goog-if-generation-match", "Content-Type"} <= set(evaluated["headers"])

    cors = parse_tf_dir(MODULES / "storage").resource("google_storage_bucket", "uploads")["dynamic"][0]["cors"]["content"][0]
    assert cors["method"] == "${local.upload_cors.methods}"
    assert cors["max_age_seconds"] == "${local.upload_cors.max_age_seconds}"


@pytest.fixture(scope="module")
def web() -> TfDir:
    return parse_tf_dir(MODULES / "web")


def test_web_app_is_served_over_https_from_its_own_public_bucket_with_an_app_fallback(web: TfDir) -> None:
    bucket = web.resource("google_storage_bucket", "web")
    assert bucket["website"][0] == {"main_page_suffix": "index.html", "not_found_page": "app/index.html"}
    grant = web.resource("google_storage_bucket_iam_member", "public_read")
    assert grant["bucket"] == "${google_storage_bucket.web.name}"
    assert (grant["role"], grant["member"]) == ("roles/storage.objectViewer", "allUsers")
    assert web.resource("google_compute_backend_bucket", "web")["bucket_name"] == "${google_storage_bucket.web.name}"
    rule = web.resource("google_compute_global_forwarding_rule", "web")
    assert rule["port_range"] == "443" and rule["target"] == "${google_compute_target_https_proxy.web.id}"
    assert web.resource("google_compute_ssl_policy", "web")["min_tls_version"] == "TLS_1_2"
    assert web.resource("google_compute_managed_ssl_certificate", "web")["managed"][0]["domains"] == ["${var.domain}"]
    # Nothing else in the web module is public (test_terraform.py checks every other module).
    assert bucket["public_access_prevention"] == "inherited"
    assert [n for (t, n) in web.resources if t.startswith("google_storage_bucket_iam")] == ["public_read"]


def test_the_app_reads_the_api_url_from_config_json_written_beside_it(web: TfDir) -> None:
    config = web.resource("google_storage_bucket_object", "config")
    assert config["name"] == "app/config.json" and config["content"] == "${jsonencode(local.app_config)}"
    assert config["cache_control"] == "no-cache"
    app_config = web.locals["app_config"]
    assert app_config["apiBase"] == '${trimsuffix(var.api_base_url, "/")}'
    assert app_config["authMode"] == "identity-platform"
    # The app's own loader reads these very keys.
    loader = (REPO_ROOT / "web" / "src" / "config.ts").read_text()
    for key in app_config:
        assert f"{key}" in loader, key


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_env_hosts_the_app_on_its_domain_and_allows_its_origin_in_cors(env: str) -> None:
    tf = parse_tf_dir(ENVS / env)
    web = tf.module("web")
    assert web["source"] == "../../modules/web"
    assert web["api_base_url"] == "${module.platform.api_url}"
    assert web["domain"] == "${var.web_domain}"
    assert tf.module("platform")["cors_origins"] == "${concat(var.cors_origins, local.web_origins)}"
    assert tf.locals["web_origins"] == '${var.web_domain == "" ? [] : ["https://${var.web_domain}"]}'


def test_cloud_build_tests_the_built_app_and_publishes_it_only_after_the_apply() -> None:
    checks: dict[str, Any] = YAML(typ="safe").load((REPO_ROOT / "cloudbuild-checks.yaml").read_text())
    steps = {step["id"]: step for step in checks["steps"]}
    assert "npm ci" in steps["web-build"]["script"] and "npm run check" in steps["web-build"]["script"]
    assert "web-build" in steps["tests"]["waitFor"] and "chromium" in steps["tests"]["script"]
    build: dict[str, Any] = YAML(typ="safe").load((REPO_ROOT / "cloudbuild.yaml").read_text())
    steps = {step["id"]: step for step in build["steps"]}
    assert steps["web-bucket"]["waitFor"] == ["terraform-apply"]
    assert set(steps["web-publish"]["waitFor"]) == {"web-bucket", "web-build"}
    assert "dev.release publish-web" in steps["web-publish"]["script"]
    plan_args = "\n".join(steps["terraform-plan"]["args"])  # the plan step is a shell script (it may run read-only)
    assert "-var=web_domain=${_WEB_DOMAIN}" in plan_args
