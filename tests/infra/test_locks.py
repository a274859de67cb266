"""Every dependency set the project installs has a current lock with hashes: the function sets staged for deploy
(one per distinct extra_requirements in infra/functions.json) and the development set `make install` uses."""

from __future__ import annotations

import re

import pytest
from infra_support import REPO_ROOT

from dev import lock
from dev.stage import read_requirements

pytestmark = pytest.mark.infra

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(text: str) -> dict[str, str]:
    return {_norm(m.group(1)): m.group(2) for m in _ENTRY.finditer(text)}


@pytest.mark.parametrize("lock_set", lock.lock_sets(), ids=lambda s: s.name)
def test_each_lock_matches_its_requirements_and_pins_every_package_by_hash(lock_set: lock.LockSet) -> None:
    path = REPO_ROOT / lock_set.path
    assert path.is_file(), f"{lock_set.path} is missing: run `make lock`"
    assert lock.is_current(REPO_ROOT, lock_set), f"{lock_set.path} does not match {lock_set.inputs}: run `make lock`"
    text = path.read_text()
    locked = _locked(text)
    for name in lock_set.inputs:
        for line in read_requirements(REPO_ROOT / name):
            m = _ENTRY.match(line)
            assert m, f"{name}: '{line}' is not an exact pin"
            assert locked.get(_norm(m.group(1))) == m.group(2), f"{lock_set.path} does not pin {line}"
    # Every package entry (up to the next entry) carries at least one sha256.
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for block in blocks:
        if _ENTRY.match(block):
            assert "--hash=sha256:" in block, f"{lock_set.path}: no hash for {block.splitlines()[0]}"
    # Transitive packages are pinned too: grpcio, protobuf and flask no longer float at deploy.
    if lock_set.name.startswith("functions"):
        assert {"grpcio", "protobuf", "flask", "werkzeug"} <= set(locked)


def test_every_function_ships_a_lock_and_make_install_uses_the_dev_lock() -> None:
    names = {s.name for s in lock.lock_sets()}
    assert {"functions", "functions-parse", "dev"} <= names
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(DEV_LOCK)" in makefile and "DEV_LOCK := locks/dev.txt" in makefile
    assert not sorted(p.name for p in (REPO_ROOT / "locks").glob("*.txt") if p.stem not in names), "orphan lock files"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_environment_commits_a_provider_lock_within_its_constraints(env: str) -> None:
    import hcl2

    root = REPO_ROOT / "infra" / "envs" / env
    locked = hcl2.loads((root / ".terraform.lock.hcl").read_text())["provider"]
    providers = {name.strip('"').removeprefix("registry.terraform.io/"): body for block in locked for name, body in block.items()}
    versions_tf = (root / "versions.tf").read_text()
    required = dict(re.findall(r'source\s*=\s*"([^"]+)"\s*\n\s*version\s*=\s*"([^"]+)"', versions_tf))
    assert set(providers) == set(required), "every required provider is locked, and only those"
    for source, constraint in required.items():
        body = providers[source]
        assert body["constraints"].strip('"') == constraint, source
        version = tuple(int(p) for p in body["version"].strip('"').split("."))
        low, high = (tuple(int(p) for p in v.split(".")) for v in re.findall(r"[\d.]+", constraint))
        assert low <= version < high, (source, version, constraint)
        hashes = [h.strip('"') for h in body["hashes"]]
        # zh: hashes are the registry's per-platform zip checksums: terraform init verifies the download against them.
        assert len([h for h in hashes if re.fullmatch(r"zh:[0-9a-f]{64}", h)]) >= 10, source
