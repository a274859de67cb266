"""The deployer's and the planner's roles, derived like the functions' grants: every resource type the configuration
declares maps to the permissions that create, update, delete and set IAM on it (infra/iam/deployer.json), which the
least predefined roles cover; project-wide IAM administration only under a condition that limits what it may grant;
the read-only planner can refresh everything it reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import INFRA, MODULES, TfDir, parse_tf_dir

from dev import deployer_roles

pytestmark = pytest.mark.infra

TABLE: dict[str, Any] = json.loads((INFRA / "iam" / "deployer.json").read_text())
# Broad roles no account of ours may hold.
FORBIDDEN = {"roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin",
             "roles/iam.serviceAccountUser", "roles/storage.admin", "roles/iam.serviceAccountTokenCreator"}


def _declared() -> tuple[set[str], set[str]]:
    resources: set[str] = set()
    data: set[str] = set()
    for module in MODULES.iterdir():
        tf = parse_tf_dir(module)
        resources |= {t for t, _ in tf.resources}
        data |= {t for t, _ in tf.data}
    return resources, data


def _needed(kind: str) -> set[str]:
    resources, data = _declared()
    perms: set[str] = set()
    for rtype in resources:
        entry = TABLE["resources"][rtype]
        if entry.get("scope", "project") == "project":
            perms |= set(entry["read"]) | (set(entry["write"]) if kind == "deployer" else set())
    for dtype in data:
        perms |= set(TABLE["data"][dtype]["read"])
    return perms


def _held(who: str, on: str = "project") -> set[str]:
    return set().union(*(set(TABLE["roles"][g["role"]]) for g in TABLE[who] if g.get("on", "project") == on))


def test_every_declared_resource_and_data_type_has_an_entry() -> None:
    resources, data = _declared()
    assert sorted(resources - set(TABLE["resources"])) == [], "add each new type's permissions to infra/iam/deployer.json"
    assert sorted(data - set(TABLE["data"])) == []


def test_a_new_resource_type_without_an_entry_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parse_tf_dir

    def with_sql(path: Any) -> TfDir:
        tf = real(path)
        tf.resources[("google_sql_database_instance", "x")] = {}
        return tf

    monkeypatch.setitem(globals(), "parse_tf_dir", with_sql)
    with pytest.raises(AssertionError, match="google_sql_database_instance"):
        test_every_declared_resource_and_data_type_has_an_entry()


def test_the_deployer_holds_every_permission_its_apply_needs() -> None:
    missing = _needed("deployer") - _held("deployer")
    assert missing == set()
    budget = {p for t, e in TABLE["resources"].items() if e.get("scope") == "billing_account" for p in e["write"] + e["read"]}
    assert budget <= _held("deployer", "billing_account")


def test_the_planner_can_refresh_everything_it_reads_and_write_nothing() -> None:
    assert _needed("planner") - _held("planner") == set()
    writes = {p for e in TABLE["resources"].values() for p in e["write"]}
    assert (_held("planner") | _held("planner", "billing_account")) & writes == set()
    budget = {p for e in TABLE["resources"].values() if e.get("scope") == "billing_account" for p in e["read"]}
    assert budget <= _held("planner", "billing_account")


@pytest.mark.parametrize("who", ["deployer", "planner"])
def test_each_role_is_needed(who: str) -> None:
    """The least set: dropping any role leaves a needed permission uncovered."""
    for on in ("project", "billing_account"):
        grants = [g for g in TABLE[who] if g.get("on", "project") == on]
        needed = _needed(who) if on == "project" else {
            p for e in TABLE["resources"].values() if e.get("scope") == "billing_account"
            for p in e["read"] + (e["write"] if who == "deployer" else [])}
        for grant in grants:
            others = set().union(*(set(TABLE["roles"][g["role"]]) for g in grants if g is not grant))
            assert needed - others, f"{who}: {grant['role']} adds nothing the other roles lack"


def test_no_project_wide_iam_admin_or_broad_role_without_a_condition() -> None:
    for who in ("deployer", "planner"):
        for grant in TABLE[who]:
            if grant["role"] in FORBIDDEN:
                assert grant.get("condition"), f"{who} holds {grant['role']} project-wide"
    iam_admin = next(g for g in TABLE["deployer"] if g["role"] == "roles/resourcemanager.projectIamAdmin")
    assert 'modifiedGrantsByRole", []).hasOnly([GRANTABLE])' in iam_admin["condition"]["expression"]


def test_the_deployer_may_grant_exactly_the_project_roles_terraform_grants(platform: TfDir) -> None:
    roles = set()
    for (rtype, _name), body in platform.resources.items():
        if rtype == "google_project_iam_member":
            roles.add(body["role"])
    assert "${each.value}" in roles  # the functions' Firestore roles, from the access table
    roles.discard("${each.value}")
    roles |= {a["firestore"] for a in platform.locals["access"].values() if a["firestore"]}
    assert set(TABLE["grantable"]) == roles
    assert not set(TABLE["grantable"]) & FORBIDDEN


def test_the_printed_commands_carry_the_conditions() -> None:
    cmds = deployer_roles.commands("acme-prod", "0123AB-CDEF01-234567")
    iam = next(c for c in cmds if "projectIamAdmin" in c)
    assert "hasOnly([\"roles/datastore.user\", \"roles/datastore.viewer\"" in iam
    storage = next(c for c in cmds if "roles/storage.admin" in c)
    assert 'resource.name.startsWith("projects/_/buckets/acme-prod-")' in storage
    assert any(c.startswith("gcloud billing accounts add-iam-policy-binding 0123AB-CDEF01-234567") for c in cmds)
    assert not [c for c in cmds if re.search(r"--role=roles/(owner|editor)\b", c)]
