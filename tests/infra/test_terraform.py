"""infra/ read with python-hcl2 and the declarations evaluated by terraform: what is deployed, how it is wired, who
may touch what. Every check here fails if the behaviour it is named after breaks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import AS2_DELIVER_URL, BUCKETS, ENVS, INFRA, MODULES, OCR_PROCESSOR_VERSION, PARSE_WORKER_URL, PROJECT, TfDir

from shared.settings import Settings

pytestmark = pytest.mark.infra

LOCAL_ONLY_SETTINGS = {"auth_dev_public_key_file", "signing_key_file", "as2_key_file"}
KNOWN_TRIGGERS = {"http", "storage_finalize", "storage_delete", "pubsub", "task", "scheduler", "budget"}
EVENT_TIMEOUT_CEILING = 540  # event-driven functions
HTTP_TIMEOUT_CEILING = 3600
TASKS_DISPATCH_CEILING = 1800


def _walk(value: Any) -> Any:
    """Every string in a parsed HCL document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(k)
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, str):
        yield value


# ---- functions ---------------------------------------------------------------------------------------------------


def test_every_declared_function_is_deployed_with_its_entry_point_runtime_and_sizing(
    declared_functions: dict[str, dict[str, Any]], evaluated: dict[str, Any], infra_dirs: dict[str, TfDir], platform: TfDir
) -> None:
    assert set(evaluated["functions"]) == set(declared_functions)
    for name, declared in declared_functions.items():
        derived = evaluated["functions"][name]
        for key in ("entry_point", "trigger", "memory", "cpu", "concurrency", "timeout_seconds", "min_instances", "max_instances"):
            assert derived[key] == declared[key], (name, key)

    # The two function module calls split the declared functions between them, with no overlap and no gap.
    targets, services = set(evaluated["task_targets"]), set(evaluated["services"])
    assert targets | services == set(declared_functions)
    assert not targets & services

    fn = infra_dirs["modules/function"].resource("google_cloudfunctions2_function", "this")
    build, service = fn["build_config"][0], fn["service_config"][0]
    assert build["entry_point"] == "${var.entry_point}"
    assert build["runtime"] == "${var.runtime}"
    assert build["source"][0]["storage_source"][0]["object"] == "${var.source_object}"
    assert service["min_instance_count"] == "${var.min_instances}"
    assert service["max_instance_request_concurrency"] == "${var.concurrency}"
    assert service["max_instance_count"] == "${var.max_instances}"
    assert service["timeout_seconds"] == "${var.timeout_seconds}"
    assert service["available_memory"] == "${var.memory}"
    assert service["service_account_email"] == "${var.service_account_email}"
    assert infra_dirs["modules/function"].variables["runtime"]["default"] == "python312"

    for call, source in (("task_targets", "task_targets"), ("functions", "services")):
        m = platform.module(call)
        assert m["source"] == "../function"
        assert m["for_each"] == f"${{module.declarations.{source}}}"
        assert m["runtime"] == "python312"
        assert m["entry_point"] == "${each.value.entry_point}"
        assert m["service_account_email"] == "${google_service_account.function[each.key].email}"
        assert m["source_object"] == "${google_storage_bucket_object.source[each.value.source].name}"
        for var, attr in (
            ("memory", "memory"),
            ("cpu", "cpu"),
            ("concurrency", "concurrency"),
            ("timeout_seconds", "timeout_seconds"),
            ("min_instances", "min_instances"),
            ("max_instances", "max_instances"),
        ):
            assert m[var] == f"${{each.value.{attr}}}", (call, var)


def test_every_declared_trigger_is_wired_to_its_event_source(
    declared_functions: dict[str, dict[str, Any]], evaluated: dict[str, Any], infra_dirs: dict[str, TfDir], platform: TfDir
) -> None:
    assert {f["trigger"] for f in declared_functions.values()} <= KNOWN_TRIGGERS
    by_trigger = evaluated["by_trigger"]
    for trigger in KNOWN_TRIGGERS:
        assert by_trigger[trigger] == sorted(n for n, f in declared_functions.items() if f["trigger"] == trigger)

    # storage_finalize: an Eventarc trigger on the uploads bucket, from the function module.
    trigger = infra_dirs["modules/function"].resource("google_cloudfunctions2_function", "this")["dynamic"][0]
    content = trigger["event_trigger"]["content"][0]
    assert content["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert content["event_filters"][0] == {"attribute": "bucket", "value": "${event_trigger.value.bucket}"}
    assert content["service_account_email"] == "${event_trigger.value.service_account_email}"
    # Finalize's commit holds its outbox record for this event's retry (no sweep, no delivery mark): Eventarc must
    # retry a failed delivery, or a send that failed would never be made again.
    assert content["retry_policy"] == "RETRY_POLICY_RETRY"
    wiring = platform.module("functions")["storage_finalize_trigger"]
    assert 'each.value.trigger == "storage_finalize"' in wiring and "module.storage.uploads_bucket" in wiring

    # storage_delete: the same module's second trigger, object.v1.deleted on the bucket each consumer declares.
    deleted = infra_dirs["modules/function"].resource("google_cloudfunctions2_function", "this")["dynamic"][1]
    content = deleted["event_trigger"]["content"][0]
    assert content["event_type"] == "google.cloud.storage.object.v1.deleted"
    assert content["event_filters"][0] == {"attribute": "bucket", "value": "${event_trigger.value.bucket}"}
    wiring = platform.module("functions")["storage_delete_trigger"]
    assert 'each.value.trigger == "storage_delete"' in wiring and "local.bucket_names[each.value.bucket]" in wiring
    assert {f["bucket"] for f in declared_functions.values() if f["trigger"] == "storage_delete"} == {"uploads", "derived"}

    # pubsub: the consumer's push subscription targets the one pubsub-triggered function.
    assert platform.locals["consumer"] == '${one(module.declarations.by_trigger["pubsub"])}'
    assert platform.module("messaging")["consumer_uri"] == "${module.functions[local.consumer].uri}"
    push = infra_dirs["modules/messaging"].resource("google_pubsub_subscription", "consumer")["push_config"][0]
    assert push["oidc_token"][0]["audience"] == "${var.consumer_uri}"

    # task: each worker's URI is what the enqueuers are configured with (the parse worker, the AS2 deliverer).
    for local, entry_point in (("task_target", "parse_worker"), ("as2_deliverer", "as2_deliver")):
        assert platform.locals[local] == (f'${{one([for n in module.declarations.by_trigger["task"] : n if '
                                          f'module.declarations.functions[n].entry_point == "{entry_point}"])}}')
        assert [n for n in by_trigger["task"] if declared_functions[n]["entry_point"] == entry_point]
    assert platform.module("declarations")["parse_worker_url"] == "${module.task_targets[local.task_target].uri}"
    assert platform.module("declarations")["as2_deliver_url"] == "${module.task_targets[local.as2_deliverer].uri}"

    # scheduler: one job per scheduler-triggered function, calling it with OIDC.
    assert platform.locals["scheduled_fns"] == '${toset(module.declarations.by_trigger["scheduler"])}'
    schedule = platform.module("outbox_sweep_schedule")
    assert schedule["for_each"] == "${local.scheduled_fns}"
    assert schedule["target_uri"] == "${module.functions[each.key].uri}"
    assert schedule["schedule"] == "* * * * *"
    job = infra_dirs["modules/scheduler"].resource("google_cloud_scheduler_job", "this")["http_target"][0]
    assert job["oidc_token"][0]["service_account_email"] == "${var.service_account_email}"

    # http: the public ones are routed (see the gateway test).
    assert set(by_trigger["http"]) >= {n for n, f in declared_functions.items() if f["public"]}


def test_every_settings_field_is_set_for_every_function(
    declared_functions: dict[str, dict[str, Any]], evaluated: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = set(Settings.model_fields)
    expected = {f.upper() for f in fields - LOCAL_ONLY_SETTINGS}
    envs = {**evaluated["task_target_environment"], **evaluated["service_environment"]}
    assert set(envs) == set(declared_functions)

    for name, env in envs.items():
        assert not expected - set(env), f"{name} lacks {sorted(expected - set(env))}"
        assert not {k.lower() for k in env} & LOCAL_ONLY_SETTINGS, f"{name} carries a local-only setting"
        # Beside the settings: only the variables functions.json declares for the function's process (read by a
        # library when it loads, such as the parse worker's Arrow memory pool), with the values declared.
        process = declared_functions[name].get("environment") or {}
        assert {k: env[k] for k in process} == process, name
        assert set(env) - set(process) <= {f.upper() for f in fields}, f"{name} sets variables Settings does not read"

        # The values parse into Settings exactly as a deployed instance reads them: from its environment.
        for f in fields:
            monkeypatch.delenv(f.upper(), raising=False)
            monkeypatch.delenv(f, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.auth_mode == "identity_platform"
        assert settings.auth_audience == PROJECT
        assert settings.auth_issuer == f"https://securetoken.google.com/{PROJECT}"
        assert settings.project_id == PROJECT
        assert settings.signing_service_account == evaluated["functions"][name]["email"]
        # Production reads scans with Document AI, at the processor version Terraform pins.
        assert settings.ocr_engine == "documentai"
        assert settings.documentai_processor_version == OCR_PROCESSOR_VERSION
        assert settings.tasks_invoker_sa == evaluated["account_emails"]["tasks_invoker"]
        assert (settings.uploads_bucket, settings.derived_bucket, settings.records_bucket) == (
            BUCKETS["uploads"],
            BUCKETS["derived"],
            BUCKETS["records"],
        )
        if declared_functions[name]["trigger"] == "task":
            assert settings.parse_worker_url == "", "the worker never enqueues, so it does not carry its own URI"
            assert settings.as2_deliver_url == ""
        else:
            assert settings.parse_worker_url == PARSE_WORKER_URL
            assert settings.as2_deliver_url == AS2_DELIVER_URL


def test_functions_receive_the_environment_the_declarations_compute(infra_dirs: dict[str, TfDir], platform: TfDir) -> None:
    fn = infra_dirs["modules/function"].resource("google_cloudfunctions2_function", "this")
    assert fn["service_config"][0]["environment_variables"] == "${var.environment}"
    assert platform.module("task_targets")["environment"] == "${module.declarations.task_target_environment[each.key]}"
    assert platform.module("functions")["environment"] == "${module.declarations.service_environment[each.key]}"
    # The emails in the environment are those of the accounts the platform creates.
    assert platform.resource("google_service_account", "function")["account_id"] == "${each.value.account_id}"
    assert platform.resource("google_service_account", "platform")["for_each"] == "${module.declarations.accounts}"
    assert platform.resource("google_service_account", "platform")["account_id"] == "${each.value}"


def test_service_account_ids_are_valid(evaluated: dict[str, Any]) -> None:
    ids = [f["account_id"] for f in evaluated["functions"].values()] + list(evaluated["accounts"].values())
    assert len(ids) == len(set(ids))
    for account_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account_id), account_id


def test_parse_worker_timeout_fits_cloud_tasks_and_a_100_mb_parse(
    declared_functions: dict[str, dict[str, Any]], infra_dirs: dict[str, TfDir], platform: TfDir
) -> None:
    from shared.adapters.messaging import DISPATCH_DEADLINE_SECONDS

    # The parse worker; the AS2 deliverer posts one message, and a timeout is a retry of the queue like a refusal.
    workers = [f for f in declared_functions.values() if f["trigger"] == "task" and f["entry_point"] == "parse_worker"]
    assert workers
    for worker in workers:
        # The whole dispatch deadline is available to the parse, and no more than Cloud Tasks allows.
        assert worker["timeout_seconds"] == DISPATCH_DEADLINE_SECONDS <= TASKS_DISPATCH_CEILING
    for f in declared_functions.values():
        ceiling = EVENT_TIMEOUT_CEILING if f["trigger"] in {"storage_finalize", "storage_delete", "pubsub"} \
            else HTTP_TIMEOUT_CEILING
        assert f["timeout_seconds"] <= ceiling, f["name"]
        assert 0 <= f["min_instances"] <= f["max_instances"], f["name"]

    queue = infra_dirs["modules/tasks"].resource("google_cloud_tasks_queue", "this")
    assert queue["rate_limits"][0]["max_concurrent_dispatches"] == "${var.max_concurrent_dispatches}"
    retry = queue["retry_config"][0]
    assert {"max_attempts", "min_backoff", "max_backoff", "max_doublings"} <= set(retry)
    tasks = platform.module("tasks")
    # No more parses in flight than the worker's instances can take.
    worker = "module.declarations.functions[local.task_target]"
    assert tasks["max_concurrent_dispatches"] == f"${{{worker}.max_instances * {worker}.concurrency}}"
    # The queue outlasts the worker's own claim limit, so the worker can record the failure.
    assert tasks["max_attempts"] == "${var.max_parse_attempts + 2}"
    # The worker holds a completion's messages for the queue's retry only when one follows: it must count the
    # queue's attempts as Terraform sets them.
    from shared.settings import Settings

    assert Settings(max_parse_attempts=7).parse_task_attempts == 7 + 2


def test_concurrency_follows_each_function_s_workload(declared_functions: dict[str, dict[str, Any]]) -> None:
    for name, f in declared_functions.items():
        assert isinstance(f["concurrency"], int) and f["concurrency"] >= 1, name
        if f["concurrency"] > 1:  # Cloud Run serves concurrent requests only with a whole vCPU
            assert float(f["cpu"]) >= 1, name
    # The CPU-bound worker and the singleton sweep take one request at a time; the I/O-bound handlers many.
    assert {n for n, f in declared_functions.items() if f["concurrency"] == 1} == {
        n for n, f in declared_functions.items() if f["trigger"] in ("task", "scheduler", "budget")}
    for name in ("profile-selection", "read-api", "save", "outbox-consumer"):
        assert declared_functions[name]["concurrency"] >= 40, name


# ---- Firestore -----------------------------------------------------------------------------------------------------


def test_every_declared_index_and_ttl_policy_is_provisioned(
    declared_indexes: dict[str, Any], evaluated: dict[str, Any], infra_dirs: dict[str, TfDir], platform: TfDir
) -> None:
    def canon(items: Any) -> list[str]:
        return sorted(json.dumps(i, sort_keys=True) for i in items)

    provisioned = evaluated["firestore_indexes"]
    # One resource per declared index: none collapsed by a key collision, none invented.
    assert canon(provisioned.values()) == canon(declared_indexes["indexes"])
    overrides = evaluated["firestore_field_overrides"]
    assert canon(overrides.values()) == canon(declared_indexes["fieldOverrides"])
    ttl = {k for k, o in overrides.items() if o.get("ttl")}
    assert "dedup.expire_at" in ttl, "dedup records need a TTL policy"

    firestore = infra_dirs["modules/firestore"]
    index = firestore.resource("google_firestore_index", "composite")
    assert index["for_each"] == "${var.indexes}"
    assert index["collection"] == "${each.value.collectionGroup}"
    assert index["query_scope"] == "${each.value.queryScope}"
    fields = index["dynamic"][0]["fields"]
    assert fields["for_each"] == "${each.value.fields}"
    assert fields["content"][0]["field_path"] == "${fields.value.fieldPath}"
    assert "fields.value" in fields["content"][0]["order"]

    field = firestore.resource("google_firestore_field", "override")
    assert field["for_each"] == "${var.field_overrides}"
    ttl_block = next(d["ttl_config"] for d in field["dynamic"] if "ttl_config" in d)
    assert 'lookup(each.value, "ttl", false)' in ttl_block["for_each"]

    call = platform.module("firestore")
    assert call["indexes"] == "${module.declarations.firestore_indexes}"
    assert call["field_overrides"] == "${module.declarations.firestore_field_overrides}"


# ---- storage -------------------------------------------------------------------------------------------------------


def test_no_bucket_is_public_and_every_bucket_enforces_public_access_prevention(infra_dirs: dict[str, TfDir]) -> None:
    buckets = {(d, n): b for d, tf in infra_dirs.items() for n, b in tf.resources_of("google_storage_bucket").items()}
    assert {n for _, n in buckets} >= {"uploads", "derived", "records"}
    for key, bucket in buckets.items():
        assert bucket["uniform_bucket_level_access"] is True, key
        # The one exception is the static web site (built app files only; test_web_hosting.py pins its grant).
        assert bucket["public_access_prevention"] == ("inherited" if key == ("modules/web", "web") else "enforced"), key
    for d, tf in infra_dirs.items():
        for rtype, _ in tf.resources:
            assert not rtype.startswith(
                (
                    "google_storage_bucket_acl",
                    "google_storage_default_object_acl",
                    "google_storage_object_acl",
                    "google_storage_bucket_access_control",
                    "google_storage_default_object_access_control",
                )
            ), (d, rtype)


def test_no_member_is_all_users_or_all_authenticated_users(infra_dirs: dict[str, TfDir]) -> None:
    for d, tf in infra_dirs.items():
        raw = tf.raw
        if d == "modules/web":  # the static web site's public read, and nothing else there
            public = tf.resource("google_storage_bucket_iam_member", "public_read")
            assert (public["role"], public["member"]) == ("roles/storage.objectViewer", "allUsers")
            raw = [{k: v for k, v in doc.items() if k != "resource"} for doc in raw] + [
                {n: b} for (t, n), b in tf.resources.items() if (t, n) != ("google_storage_bucket_iam_member", "public_read")
            ]
        for text in _walk(raw):
            assert "allUsers" not in text and "allAuthenticatedUsers" not in text, (d, text)


def test_uploads_bucket_is_the_only_one_wired_to_ingest_finalize(
    infra_dirs: dict[str, TfDir], platform: TfDir, evaluated: dict[str, Any]
) -> None:
    assert evaluated["by_trigger"]["storage_finalize"] == ["ingest-finalize"]
    for d, tf in infra_dirs.items():
        for rtype, name in tf.resources:
            # Any of these would wire a bucket to something outside the one declared trigger.
            assert rtype not in {"google_storage_notification", "google_eventarc_trigger"}, (d, rtype, name)
    # The only event triggers are the function module's two (object finalized, object deleted), each filtered on one
    # bucket; a function's trigger kind selects at most one of them.
    triggers = [
        (d, n)
        for d, tf in infra_dirs.items()
        for n, r in tf.resources_of("google_cloudfunctions2_function").items()
        for block in r.get("dynamic", [])
        if "event_trigger" in block
    ]
    assert triggers == [("modules/function", "this")] * 2
    assert 'each.value.trigger == "storage_delete"' in platform.module("functions")["storage_delete_trigger"]
    # And only one module call sets it: with the uploads bucket, for storage_finalize functions only.
    setters = {name for name, m in platform.modules.items() if "storage_finalize_trigger" in m}
    assert setters == {"functions"}
    wiring = platform.module("functions")["storage_finalize_trigger"]
    assert "module.storage.uploads_bucket" in wiring
    assert "derived" not in wiring and "records" not in wiring and "sources" not in wiring


def test_working_material_expires_and_records_are_versioned_and_kept(infra_dirs: dict[str, TfDir], platform: TfDir) -> None:
    # The bucket rule and the functions' WORKING_MATERIAL_TTL_DAYS come from the same variable.
    assert platform.module("storage")["working_material_ttl_days"] == "${var.working_material_ttl_days}"
    assert platform.module("declarations")["working_material_ttl_days"] == "${var.working_material_ttl_days}"
    storage = infra_dirs["modules/storage"]
    for name in ("uploads", "derived"):
        rules = storage.resource("google_storage_bucket", name)["lifecycle_rule"]
        deletes = [r for r in rules if r["action"][0]["type"] == "Delete"]
        assert deletes and deletes[0]["condition"][0]["age"] == "${var.working_material_ttl_days}", name
    records = storage.resource("google_storage_bucket", "records")
    assert records["versioning"][0]["enabled"] is True
    assert "lifecycle_rule" not in records
    cors = storage.resource("google_storage_bucket", "uploads")["dynamic"][0]["cors"]["content"][0]
    assert cors["origin"] == "${var.cors_origins}"
    assert cors["response_header"] == "${local.cors_headers}"  # infra/cors.json, evaluated in test_web_hosting.py


# ---- routing and who may call what ---------------------------------------------------------------------------------


def test_api_gateway_routes_exactly_the_public_routes_and_checks_tokens(
    declared_routes: list[dict[str, Any]],
    declared_functions: dict[str, dict[str, Any]],
    evaluated: dict[str, Any],
    function_uris: dict[str, str],
    infra_dirs: dict[str, TfDir],
    platform: TfDir,
) -> None:
    doc = json.loads(evaluated["openapi_document"])
    assert doc["swagger"] == "2.0"
    firebase = doc["securityDefinitions"]["firebase"]
    assert firebase["x-google-issuer"] == f"https://securetoken.google.com/{PROJECT}"
    assert firebase["x-google-audiences"] == PROJECT

    operations = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert set(operations) == {(r["method"], r["path"]) for r in declared_routes}
    op_ids = [op["operationId"] for op in operations.values()]
    assert len(op_ids) == len(set(op_ids))
    for route in declared_routes:
        assert declared_functions[route["function"]]["public"], f"{route['path']} routes to a non-public function"
        op = operations[(route["method"], route["path"])]
        backend = op["x-google-backend"]
        assert backend["address"] == function_uris[route["function"]]
        assert backend["jwt_audience"] == function_uris[route["function"]]
        assert backend["path_translation"] == "APPEND_PATH_TO_ADDRESS"
        assert backend["deadline"] == declared_functions[route["function"]]["timeout_seconds"]
        if route.get("auth", True):
            assert op["security"] == [{"firebase": []}]
        params = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert params == set(re.findall(r"\{([^}]+)\}", route["path"]))

    gateway = platform.module("gateway")
    assert gateway["openapi_document"] == "${module.declarations.openapi_document}"
    assert gateway["service_account_email"] == '${google_service_account.platform["api_gateway"].email}'
    assert platform.module("declarations")["function_uris"] == (
        "${{for name in module.declarations.public_functions : name => module.functions[name].uri}}"
    )
    config = infra_dirs["modules/gateway"].resource("google_api_gateway_api_config", "this")
    assert config["gateway_config"][0]["backend_config"][0]["google_service_account"] == "${var.service_account_email}"


def test_every_function_is_invoked_only_by_its_dedicated_caller(
    declared_functions: dict[str, dict[str, Any]], evaluated: dict[str, Any], infra_dirs: dict[str, TfDir], platform: TfDir
) -> None:
    invocations = platform.locals["invocations"]
    expected = {
        "module.declarations.public_functions": "api_gateway",
        'module.declarations.by_trigger["task"]': "tasks_invoker",
        'module.declarations.by_trigger["scheduler"]': "scheduler",
        'module.declarations.by_trigger["pubsub"]': "pubsub_push",
        'module.declarations.by_trigger["storage_finalize"]': "eventarc",
        'module.declarations.by_trigger["storage_delete"]': "eventarc",
        'module.declarations.by_trigger["budget"]': "pubsub_push",  # the budget topic's push subscription
    }
    pairs = re.findall(r'for fn in ([^:]+?) : "(\w+)/\$\{fn\}"', invocations)
    assert dict(pairs) == expected
    invoker = platform.resource("google_cloud_run_service_iam_member", "invoker")
    assert invoker["for_each"] == "${local.invocations}"
    assert invoker["role"] == "roles/run.invoker"
    assert invoker["member"] == "${local.platform_member[each.value.caller]}"
    # Every function has a caller, so nothing deployed is unreachable or reachable by a shared identity.
    callers = set(evaluated["public_functions"])
    for trigger in ("task", "scheduler", "pubsub", "storage_finalize", "storage_delete", "budget"):
        callers |= set(evaluated["by_trigger"][trigger])
    assert callers == set(declared_functions)
    # No other invoker grant exists anywhere.
    for d, tf in infra_dirs.items():
        for rtype, name in tf.resources:
            invoker_kind = rtype.startswith(("google_cloud_run", "google_cloudfunctions"))
            if invoker_kind and rtype.endswith(("_iam_member", "_iam_binding", "_iam_policy")):
                if (d, rtype, name) == ("modules/platform", "google_cloudfunctions2_function_iam_member",
                                        "cost_guard_caps_function"):
                    # The cost guard may update functions (developer); invoking a 2nd gen function takes run.invoker.
                    assert tf.resource(rtype, name)["role"] == "roles/cloudfunctions.developer"
                    continue
                assert (d, rtype, name) == ("modules/platform", "google_cloud_run_service_iam_member", "invoker")
    # Non-public functions accept only Google-internal traffic.
    for name, f in evaluated["functions"].items():
        assert f["ingress_settings"] == ("ALLOW_ALL" if declared_functions[name]["public"] else "ALLOW_INTERNAL_ONLY")


def test_function_grants_come_only_from_the_least_privilege_access_table(
    declared_functions: dict[str, dict[str, Any]], platform: TfDir
) -> None:
    access = platform.locals["access"]
    assert set(access) == set(declared_functions), "every function needs an entry in access.tf (and only those)"

    # Which roles each function holds is derived from its code in test_permissions.py; here, only their shape.
    for fn, a in access.items():
        assert a["firestore"] in {"roles/datastore.user", "roles/datastore.viewer", None}, fn
        assert a["firestore"] is not None or a["cap_costs"], fn  # only the cost guard works without Firestore
        for roles in a["buckets"].values():
            # objectAdmin only where Object Retention Lock is set (storage.objects.setRetention; test_permissions.py)
            assert set(roles) <= {"roles/storage.objectViewer", "roles/storage.objectCreator", "roles/storage.objectUser",
                                  "roles/storage.objectAdmin"}, fn

    # Each grant resource that names a function's account iterates over the table, nothing else.
    granted = {key: r for key, r in platform.resources.items() if "local.function_member" in str(r.get("member", ""))}
    assert {t for t, _ in granted} == {
        "google_project_iam_member",
        "google_storage_bucket_iam_member",
        "google_pubsub_topic_iam_member",
        "google_pubsub_subscription_iam_member",  # the dead-letter hold, for the operators' routes
        "google_cloud_tasks_queue_iam_member",
        "google_service_account_iam_member",
        "google_cloudfunctions2_function_iam_member",  # the cost guard, on each function it caps
        "google_secret_manager_secret_iam_member",  # the AS2 key, to the function that signs with it
    }
    for key, r in granted.items():
        assert any(f"local.{t}" in r["for_each"] for t in ("access", "bucket_grants", "cost_guards", "capped")), key
    assert "local.access" in platform.locals["cost_guards"] and "local.access" in platform.locals["capped"]
    assert "local.access" in platform.locals["bucket_grants"]
    signer = platform.resource("google_service_account_iam_member", "function_signs_with_own_account")
    assert signer["service_account_id"] == "${google_service_account.function[each.key].name}"
    assert signer["role"] == "roles/iam.serviceAccountTokenCreator"
    act_as = platform.resource("google_service_account_iam_member", "function_acts_as_tasks_invoker")
    assert act_as["service_account_id"] == '${google_service_account.platform["tasks_invoker"].name}'
    assert act_as["role"] == "roles/iam.serviceAccountUser"
    # Our AS2 key: read on its one secret, by the functions the table flags (the one that signs MDNs), nothing more.
    key = platform.resource("google_secret_manager_secret_iam_member", "function_reads_as2_key")
    assert key["secret_id"] == "${google_secret_manager_secret.as2_key.secret_id}"
    assert key["role"] == "roles/secretmanager.secretAccessor"
    assert [fn for fn, a in access.items() if a.get("read_as2_key")] == ["as2-http"]


def test_pubsub_consumer_has_retries_and_a_dead_letter_topic(infra_dirs: dict[str, TfDir], platform: TfDir) -> None:
    messaging = infra_dirs["modules/messaging"]
    sub = messaging.resource("google_pubsub_subscription", "consumer")
    assert sub["dead_letter_policy"][0]["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert sub["dead_letter_policy"][0]["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    assert {"minimum_backoff", "maximum_backoff"} <= set(sub["retry_policy"][0])
    assert platform.module("messaging")["max_delivery_attempts"] == 5
    agent = "${local.pubsub_agent}"
    assert messaging.resource("google_pubsub_topic_iam_member", "agent_publishes_dead_letters")["member"] == agent
    assert messaging.resource("google_pubsub_subscription_iam_member", "agent_acks_source")["member"] == agent
    assert messaging.resource("google_pubsub_topic", "dead_letter")["name"] == "${var.events_topic}-dlq"


# ---- layout --------------------------------------------------------------------------------------------------------


def test_every_module_and_environment_has_the_standard_layout(infra_dirs: dict[str, TfDir]) -> None:
    dirs = [p for p in [*MODULES.iterdir(), *ENVS.iterdir()] if p.is_dir()]
    assert {p.name for p in ENVS.iterdir() if p.is_dir()} >= {"dev", "prod"}
    for path in dirs:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (path / name).is_file(), f"{path.relative_to(INFRA)} has no {name}"


def test_every_variable_has_a_type_and_a_description_and_every_output_a_description(infra_dirs: dict[str, TfDir]) -> None:
    for d, tf in infra_dirs.items():
        for name, var in tf.variables.items():
            assert var.get("type"), f"{d}: variable {name} has no type"
            assert var.get("description"), f"{d}: variable {name} has no description"
        for name, out in tf.outputs.items():
            assert out.get("description"), f"{d}: output {name} has no description"


def test_environments_keep_remote_state_and_pin_their_providers(infra_dirs: dict[str, TfDir]) -> None:
    for env in ("envs/dev", "envs/prod"):
        blocks = infra_dirs[env].terraform
        assert any("gcs" in b.get("backend", [{}])[0] for b in blocks if "backend" in b), env
        providers = [p for b in blocks for p in b.get("required_providers", [])]
        for name in ("google", "google-beta"):
            spec = next(p[name] for p in providers if name in p)
            assert re.search(r"\d", spec["version"]) and "<" in spec["version"], (env, name)
        assert infra_dirs[env].module("platform")["source"] == "../../modules/platform"


def test_api_gateway_passes_cors_preflights_to_the_functions() -> None:
    source = (INFRA / "modules" / "gateway" / "main.tf").read_text()
    assert '"x-google-endpoints" = [{ name = google_api_gateway_api.this.managed_service, allowCors = true }]' in source
    assert "contents = base64encode(local.openapi_document)" in source
