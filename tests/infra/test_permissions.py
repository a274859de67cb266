"""Each function's IAM grants against what its code does: the adapter operations recorded from the functions' entry
points (infra/iam/operations.json) give the permissions needed on each resource (infra/iam/adapter_permissions.json);
the grants in infra/modules/platform/access.tf must cover them with the least predefined roles
(infra/iam/predefined_roles.json), and grant nothing on a resource the function never touches."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from infra_support import INFRA, TfDir

pytestmark = pytest.mark.infra

IAM = INFRA / "iam"
SCOPE_KIND = {
    "firestore": "project",
    "events_topic": "topic",
    "dead_letter_subscription": "subscription",
    "commands_queue": "queue",
    "tasks_invoker": "service_account",
    "own_account": "service_account",
    "as2_key": "secret",
    "ocr_processor": "ocr_processor",
}


def _load(name: str) -> dict[str, Any]:
    return json.loads((IAM / name).read_text())


def needed_permissions() -> dict[str, dict[str, set[str]]]:
    """function -> resource -> permissions, from the recorded operations ('blobs.copy(uploads, records)')."""
    table = _load("adapter_permissions.json")["operations"]
    needed: dict[str, dict[str, set[str]]] = {}
    for fn, ops in _load("operations.json")["functions"].items():
        per: dict[str, set[str]] = {}
        for op in ops:
            m = re.fullmatch(r"([\w.]+)(?:\((.*)\))?", op)
            assert m, op
            name, buckets = m.group(1), [b.strip() for b in (m.group(2) or "").split(",") if b.strip()]
            assert name in table, f"{op}: not in adapter_permissions.json"
            bucket_args = iter(buckets)
            for scope, perms in table[name].items():
                resource = f"bucket:{next(bucket_args)}" if scope.startswith("bucket:") else scope
                per.setdefault(resource, set()).update(perms)
        needed[fn] = per
    return needed


def granted_roles(platform: TfDir) -> dict[str, dict[str, set[str]]]:
    """function -> resource -> roles, read from the access table and the grant resources that iterate over it."""
    access = platform.locals["access"]
    role_of = {
        "events_topic": platform.resource("google_pubsub_topic_iam_member", "function_publishes_events")["role"],
        "dead_letter_subscription": platform.resource("google_pubsub_subscription_iam_member",
                                                      "function_reads_dead_letters")["role"],
        "commands_queue": platform.resource("google_cloud_tasks_queue_iam_member", "function_enqueues_commands")["role"],
        "tasks_invoker": platform.resource("google_service_account_iam_member", "function_acts_as_tasks_invoker")["role"],
        "own_account": platform.resource("google_service_account_iam_member", "function_signs_with_own_account")["role"],
        "as2_key": platform.resource("google_secret_manager_secret_iam_member", "function_reads_as2_key")["role"],
        "ocr_processor": platform.resource("google_project_iam_member", "function_reads_scans")["role"],
    }
    flag_of = {
        "events_topic": "publish_events",
        "dead_letter_subscription": "read_dead_letters",
        "commands_queue": "enqueue_commands",
        "tasks_invoker": "enqueue_commands",
        "own_account": "sign_urls",
        "as2_key": "read_as2_key",
        "ocr_processor": "read_scans",
    }
    granted: dict[str, dict[str, set[str]]] = {}
    for fn, a in access.items():
        if fn in NO_DATA_ADAPTERS:
            continue
        per = {"firestore": {a["firestore"]}} if a.get("firestore") else {}
        per.update({f"bucket:{b}": set(roles) for b, roles in a["buckets"].items() if roles})
        per.update({res: {role} for res, role in role_of.items() if a.get(flag_of[res], False)})
        granted[fn] = per
    return granted


def least_roles(kind: str, needed: set[str], roles: dict[str, dict[str, Any]]) -> set[str]:
    """The fewest predefined roles of this kind that cover `needed`, then the fewest permissions; must be unique."""
    candidates = sorted(r for r, spec in roles.items() if spec["scope"] == kind)
    for size in range(1, 4):
        covering = [set(c) for c in itertools.combinations(candidates, size)
                    if needed <= set().union(*(set(roles[r]["permissions"]) for r in c))]
        if covering:
            weight = [len(set().union(*(set(roles[r]["permissions"]) for r in c))) for c in covering]
            best = [c for c, w in zip(covering, weight, strict=True) if w == min(weight)]
            assert len(best) == 1, f"ambiguous least roles for {sorted(needed)}: {best}"
            return best[0]
    raise AssertionError(f"no predefined role of kind {kind} covers {sorted(needed)}")


def _kind(resource: str) -> str:
    return "bucket" if resource.startswith("bucket:") else SCOPE_KIND[resource]


# The cost guard touches no data adapter (no Firestore, no bucket, no topic): its grants, on the queue and the other
# functions, are checked by test_the_cost_guard_may_cap_the_queue_and_the_functions_and_nothing_else.
NO_DATA_ADAPTERS = {"cost-guard"}


def test_every_declared_function_has_a_recorded_set_of_operations(declared_functions: dict[str, dict[str, Any]]) -> None:
    assert set(_load("operations.json")["functions"]) == set(declared_functions) - NO_DATA_ADAPTERS


def test_the_cost_guard_may_cap_the_queue_and_the_functions_and_nothing_else(platform: TfDir) -> None:
    access = platform.locals["access"]
    guards = [fn for fn, a in access.items() if a["cap_costs"]]
    assert guards == sorted(NO_DATA_ADAPTERS)
    for fn in guards:
        a = access[fn]
        assert a["firestore"] is None and a["buckets"] == {}
        assert not (a["publish_events"] or a["enqueue_commands"] or a["sign_urls"])
    queue = platform.resource("google_cloud_tasks_queue_iam_member", "cost_guard_caps_queue")
    assert queue["role"] == "roles/cloudtasks.queueAdmin"  # the least predefined role with cloudtasks.queues.update
    function = platform.resource("google_cloudfunctions2_function_iam_member", "cost_guard_caps_function")
    assert function["role"] == "roles/cloudfunctions.developer" and "cloud_function" in function  # per function
    acts = platform.resource("google_service_account_iam_member", "cost_guard_acts_as_capped_function")
    assert acts["role"] == "roles/iam.serviceAccountUser"  # updating a function acts as its runtime account
    assert "if !a.cap_costs" in platform.locals["capped"]  # never on itself: it must stay up


def test_every_granted_role_is_in_the_predefined_roles_table(platform: TfDir) -> None:
    roles = _load("predefined_roles.json")["roles"]
    for fn, per in granted_roles(platform).items():
        for resource, granted in per.items():
            for role in granted:
                assert role in roles, f"{fn} holds {role}, which predefined_roles.json does not describe"
                assert roles[role]["scope"] == _kind(resource), (fn, resource, role)


@pytest.mark.parametrize("fn", sorted(json.loads((INFRA / "iam" / "operations.json").read_text())["functions"]))
def test_each_function_holds_every_permission_its_code_needs_through_the_least_roles(fn: str, platform: TfDir) -> None:
    roles = _load("predefined_roles.json")["roles"]
    needed = needed_permissions()[fn]
    granted = granted_roles(platform)[fn]

    # Nothing is granted on a resource the function never touches...
    assert set(granted) <= set(needed), f"{fn} is granted on {sorted(set(granted) - set(needed))} but never uses it"
    for resource, perms in needed.items():
        held = set().union(*(set(roles[r]["permissions"]) for r in granted.get(resource, set())))
        # ...every permission the code needs is held...
        assert perms <= held, f"{fn} lacks {sorted(perms - held)} on {resource}"
        # ...and by the least roles that cover them, no more.
        assert granted[resource] == least_roles(_kind(resource), perms, roles), (
            f"{fn} on {resource}: granted {sorted(granted[resource])}, the least covering {sorted(perms)} is "
            f"{sorted(least_roles(_kind(resource), perms, roles))}")


def test_the_least_role_check_catches_the_grants_the_code_outgrew() -> None:
    """The grants this check replaced: each is named wrong by it, the way a drifted grant would be."""
    roles = _load("predefined_roles.json")["roles"]
    finalize = needed_permissions()["ingest-finalize"]["bucket:uploads"]
    assert "storage.objects.delete" in finalize  # duplicates and rejected objects are deleted
    assert least_roles("bucket", finalize, roles) == {"roles/storage.objectUser"} != {"roles/storage.objectViewer"}
    derived = needed_permissions()["parse-worker"]["bucket:derived"]
    assert {"storage.objects.create", "storage.objects.delete"} <= derived  # a redispatch overwrites its outputs
    assert least_roles("bucket", derived, roles) == {"roles/storage.objectUser"}
    for bucket in ("uploads", "derived"):
        perms = needed_permissions()["save"][f"bucket:{bucket}"]
        assert "roles/storage.objectAdmin" not in least_roles("bucket", perms, roles)
    # Object Retention Lock needs storage.objects.setRetention, which no role below objectAdmin holds: on records only.
    records = needed_permissions()["save"]["bucket:records"]
    assert "storage.objects.setRetention" in records
    assert least_roles("bucket", records, roles) == {"roles/storage.objectAdmin"}
