"""Every API a resource needs is enabled, and enabled before the resource (infra/services.json is the table):
a first apply on an empty project must never create something whose API is still off."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import ENVS, INFRA, MODULES, TfDir, parse_tf_dir

pytestmark = pytest.mark.infra

TABLE = json.loads((INFRA / "services.json").read_text())
_REF = re.compile(r"\b(module\.[a-z0-9_]+|(?:data\.)?google_[a-z0-9_]+\.[a-z0-9_]+)")


def _apis(kind: str, rtype: str) -> list[str]:
    key = f"data.{rtype}" if kind == "data" else rtype
    matches = [p for p in TABLE["families"] if key.startswith(p)]
    assert matches, f"{key} has no entry in infra/services.json: add the API its family needs"
    return TABLE["families"][max(matches, key=len)]


def _module_types(source: str, seen: set[str] | None = None) -> set[tuple[str, str]]:
    """(kind, type) of every resource and data block in a module and the modules it calls."""
    tf = parse_tf_dir(MODULES / source)
    out = {("resource", t) for t, _ in tf.resources} | {("data", t) for t, _ in tf.data}
    for body in tf.modules.values():
        out |= _module_types(body["source"].removeprefix("../"))
    return out


def _enabled(platform: TfDir) -> set[str]:
    return set(platform.module("services")["services"])


def test_every_declared_resource_has_its_api_enabled_by_terraform_or_at_bootstrap(platform: TfDir) -> None:
    enabled = _enabled(platform) | set(TABLE["bootstrap"])
    types = _module_types("platform")
    for env in ("dev", "prod"):
        for body in parse_tf_dir(ENVS / env).modules.values():
            types |= _module_types(body["source"].removeprefix("../../modules/"))
    missing = {f"{k} {t}: {api}" for k, t in types for api in _apis(k, t) if api not in enabled}
    assert missing == set()
    runtime = set(TABLE["runtime"])
    assert runtime <= _enabled(platform), sorted(runtime - _enabled(platform))


def test_the_bootstrap_apis_are_the_ones_the_deploy_guide_enables_first() -> None:
    readme = (INFRA / "README.md").read_text()
    command = re.search(r"gcloud services enable ((?:[a-z.]+ ?\\?\n?\s*)+)", readme)
    assert command, "infra/README.md has no bootstrap `gcloud services enable`"
    assert set(command.group(1).replace("\\", " ").split()) == set(TABLE["bootstrap"])


def _deps(body: dict[str, Any]) -> list[str]:
    return [d.removeprefix("${").removesuffix("}") for d in body.get("depends_on", [])]


def _after_services(platform: TfDir) -> dict[str, bool]:
    """Which of the platform's module calls and resources are ordered after module.services: by depends_on, or by
    referring to something that is (Terraform orders a resource after everything its arguments read)."""
    nodes: dict[str, dict[str, Any]] = {f"module.{n}": b for n, b in platform.modules.items() if n != "services"}
    nodes |= {f"{t}.{n}": b for (t, n), b in platform.resources.items()}
    nodes |= {f"data.{t}.{n}": b for (t, n), b in platform.data.items()}
    after = {name: "module.services" in _deps(body) for name, body in nodes.items()}
    changed = True
    while changed:
        changed = False
        for name, body in nodes.items():
            if after[name] or name.startswith("module."):  # a module call needs its own depends_on (see below)
                continue
            text = json.dumps({k: v for k, v in body.items() if k != "depends_on"})
            # Locals are expanded once: a resource reading local.x depends on what x reads.
            text += "".join(json.dumps(platform.locals[m]) for m in re.findall(r"local\.([a-z0-9_]+)", text)
                            if m in platform.locals)
            refs = {r for r in _REF.findall(text) if r in after and r != name}
            if any(after[r] for r in refs):
                after[name] = changed = True
    return after


def test_every_module_and_resource_of_the_platform_waits_for_the_apis(platform: TfDir) -> None:
    """A module call must say depends_on = [module.services]: its inputs alone order only the resources that read
    them (the messaging topics used to be created before the Pub/Sub API was on)."""
    after = _after_services(platform)
    # Resources whose APIs are enabled at bootstrap need no ordering; everything else does.
    bootstrap = set(TABLE["bootstrap"])
    late = []
    for name, ok in after.items():
        if ok:
            continue
        if name.startswith("module."):
            if _module_types(platform.modules[name.removeprefix("module.")]["source"].removeprefix("../")):
                late.append(name)  # a module without resources (declarations) needs no API
            continue
        kind, rtype = ("data", name.split(".")[1]) if name.startswith("data.") else ("resource", name.split(".")[0])
        if not set(_apis(kind, rtype)) <= bootstrap:
            late.append(name)
    assert late == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_modules_beside_the_platform_wait_for_it_and_so_for_its_apis(env: str) -> None:
    for name, body in parse_tf_dir(ENVS / env).modules.items():
        if name != "platform":
            assert "module.platform" in _deps(body), (
                f"envs/{env}: module {name} must depend on module.platform, which enables the APIs")


def test_a_resource_type_without_an_entry_fails() -> None:
    with pytest.raises(AssertionError, match="google_sql_database_instance has no entry"):
        _apis("resource", "google_sql_database_instance")
