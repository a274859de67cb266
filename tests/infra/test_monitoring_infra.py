"""modules/monitoring, its locals evaluated by terraform itself: every alert links a runbook in the repository, silence
is alerted on, the platform's own metrics (5xx, timeouts, OOM, queue, gateway) are watched, every ratio alert has a
traffic guard, and the SLOs have burn-rate alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from infra_support import INFRA, MODULES, TfDir, run_terraform

pytestmark = pytest.mark.infra

METRICS = json.loads((INFRA / "monitoring" / "metrics.json").read_text())["metrics"]
RUNBOOKS = INFRA / "runbooks"
REPO_URL = "https://github.com/acme/ingestion"
FUNCTIONS = [f["name"] for f in json.loads((INFRA / "functions.json").read_text())["functions"]]
INPUTS = {"project_id": "acme-test", "functions": FUNCTIONS, "metrics_file": str(INFRA / "monitoring" / "metrics.json"),
          "consumer_subscription": "ingestion-events-consumer", "dead_letter_subscription": "ingestion-events-dlq-hold",
          "tasks_queue": "parse-commands", "scheduler_jobs": ["outbox-sweep-every-minute"],
          "traffic_expected": ["outbox-sweep"], "repo_url": REPO_URL}


@pytest.fixture(scope="module")
def monitoring(infra_dirs: dict[str, TfDir]) -> TfDir:
    return infra_dirs["modules/monitoring"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The module's locals and variables, run by terraform (no provider: resource references are stubbed)."""
    work: Path = tmp_path_factory.mktemp("monitoring")
    source = (MODULES / "monitoring" / "main.tf").read_text()
    blocks = re.findall(r"^locals \{\n.*?^\}\n", source, flags=re.S | re.M)
    assert blocks, "no locals in modules/monitoring/main.tf"
    text = "\n".join(blocks).replace("google_monitoring_notification_channel.email[*].id", "[]")
    outputs = {"alerts": "local.alerts", "runbook": "local.runbook", "slos": "local.slos",
               "burn_alerts": "local.burn_alerts", "platform_metrics": "local.platform_metrics"}
    text += "".join(f'output "{k}" {{\n  value = {v}\n}}\n' for k, v in outputs.items())
    (work / "main.tf").write_text(text)
    (work / "variables.tf").write_text((MODULES / "monitoring" / "variables.tf").read_text())
    (work / "terraform.tfvars.json").write_text(json.dumps(INPUTS))
    run_terraform(["init", "-input=false", "-backend=false"], work)
    run_terraform(["apply", "-auto-approve", "-input=false", "-lock=false"], work)
    return {k: v["value"] for k, v in json.loads(run_terraform(["output", "-json"], work).stdout).items()}


def test_every_alert_and_slo_links_a_runbook_in_the_repository(evaluated: dict[str, Any], monitoring: TfDir) -> None:
    assert evaluated["runbook"] == f"{REPO_URL}/blob/main/infra/runbooks/"
    for name in [*evaluated["alerts"], *evaluated["slos"], "cost-guard"]:
        runbook = RUNBOOKS / f"{name}.md"
        assert runbook.is_file(), f"no runbook {runbook.relative_to(INFRA.parent)}"
        assert runbook.read_text().startswith(f"# Runbook: {name}\n")
    policy = monitoring.resource("google_monitoring_alert_policy", "this")
    assert policy["notification_channels"] == "${local.channels}"
    assert "${local.runbook}${each.key}.md" in policy["documentation"][0]["content"]
    burn = monitoring.resource("google_monitoring_alert_policy", "burn_rate")
    assert "${local.runbook}${each.value.slo}.md" in burn["documentation"][0]["content"]
    for tf in INFRA.rglob("*.tf"):
        assert "OWNER/REPO" not in tf.read_text(), tf


def test_the_readme_lists_every_alert_with_its_runbook(evaluated: dict[str, Any]) -> None:
    readme = (INFRA / "README.md").read_text()
    for name in evaluated["alerts"]:
        assert f"| `{name}` |" in readme and f"(runbooks/{name}.md)" in readme, name


def test_silence_is_alerted_on_for_the_sweep_the_scheduler_and_expected_traffic(evaluated: dict[str, Any]) -> None:
    alerts = evaluated["alerts"]
    absent = {name: [c for c in a["conditions"] if c["kind"] == "absent"] for name, a in alerts.items()}
    assert absent["sweep-heartbeat-missing"][0]["filter"].startswith(
        'metric.type="logging.googleapis.com/user/outbox_oldest_pending"')
    assert "cloudscheduler.googleapis.com/job/attempt_count" in absent["scheduler-silent"][0]["filter"]
    assert '"outbox-sweep-every-minute"' in absent["scheduler-silent"][0]["filter"]
    streams = absent["request-stream-silent"]
    assert [c["filter"].rsplit('"', 2)[-2] for c in streams] == INPUTS["traffic_expected"]
    assert all("run.googleapis.com/request_count" in c["filter"] for c in streams)
    for conditions in absent.values():
        for c in conditions:
            assert c["duration"] == "600s"


def test_platform_metrics_queues_and_the_gateway_are_watched(evaluated: dict[str, Any], monitoring: TfDir) -> None:
    alerts = evaluated["alerts"]

    def first(name: str) -> dict[str, Any]:
        return alerts[name]["conditions"][0]

    assert 'metric.type="run.googleapis.com/request_count"' in first("platform-5xx-rate")["filter"]
    assert 'metric.labels.response_code_class="5xx"' in first("platform-5xx-rate")["filter"]
    assert 'metric.labels.response_code="504"' in first("request-timeouts")["filter"]
    crash_filters = [c["filter"] for c in alerts["container-crashes"]["conditions"]]
    assert crash_filters == [f'metric.type="logging.googleapis.com/user/{m}" AND resource.type="cloud_run_revision"'
                             for m in sorted(evaluated["platform_metrics"])]
    assert "Memory limit of" in {m["text"] for m in evaluated["platform_metrics"].values()}
    platform_metric = monitoring.resource("google_logging_metric", "platform")
    assert "run.googleapis.com%2Fvarlog%2Fsystem" in platform_metric["filter"]
    assert 'cloudtasks.googleapis.com/queue/depth" AND resource.type="cloud_tasks_queue"' in first("parse-queue-depth")["filter"]
    assert "cloudtasks.googleapis.com/queue/task_attempt_delays" in first("parse-queue-task-age")["filter"]
    assert '"parse-commands"' in first("parse-queue-task-age")["filter"]
    assert "apigateway.googleapis.com/proxy/request_count" in first("gateway-5xx-rate")["filter"]


def test_every_ratio_alert_has_a_minimum_traffic_guard(evaluated: dict[str, Any]) -> None:
    ratios = 0
    for name, alert in evaluated["alerts"].items():
        for condition in alert["conditions"]:
            if condition["denominator"] is None:
                continue
            ratios += 1
            assert alert["combiner"] == "AND", name
            guards = [c for c in alert["conditions"] if c["denominator"] is None and c["filter"] == condition["denominator"]]
            assert guards and guards[0]["threshold"] > 0 and guards[0]["reducer"] == "REDUCE_SUM", name
    assert ratios == 4  # http, parse, platform and gateway 5xx


def test_alerts_read_only_declared_metrics(evaluated: dict[str, Any]) -> None:
    for name, alert in evaluated["alerts"].items():
        for condition in alert["conditions"]:
            for used in re.findall(r"logging\.googleapis\.com/user/(\w+)", condition["filter"]):
                assert used in METRICS or used in evaluated["platform_metrics"], (name, used)


def test_slos_have_multiwindow_burn_rate_alerts(evaluated: dict[str, Any], monitoring: TfDir) -> None:
    assert set(evaluated["slos"]) == {"api-availability", "journey-freshness"}
    assert set(evaluated["burn_alerts"]) == {f"{s}-{w}-burn" for s in evaluated["slos"] for w in ("fast", "slow")}
    burn = monitoring.resource("google_monitoring_alert_policy", "burn_rate")
    assert burn["combiner"] == "AND" and len(burn["conditions"]) == 2
    assert all("select_slo_burn_rate" in c["condition_threshold"][0]["filter"] for c in burn["conditions"])
    slo = monitoring.resource("google_monitoring_slo", "this")
    sli = json.dumps(slo["request_based_sli"])
    assert "journey_freshness" in sli and "status_class" in sli
    assert "freshness_seconds" in METRICS["journey_freshness"]["filter"]


def test_metrics_are_built_from_the_declaration(monitoring: TfDir) -> None:
    metric = monitoring.resource("google_logging_metric", "this")
    assert metric["for_each"] == "${local.metrics}"
    assert metric["label_extractors"] == "${each.value.labels}"
    for name, m in METRICS.items():
        assert re.fullmatch(r"[a-z_]+", name)
        assert m["kind"] in ("counter", "distribution")
        assert (m["kind"] == "distribution") == ("value" in m), name
    assert "google_monitoring_dashboard" in {t for t, _ in monitoring.resources}


def test_each_environment_says_where_alerts_go_and_where_runbooks_are(infra_dirs: dict[str, TfDir]) -> None:
    for env in ("envs/dev", "envs/prod"):
        tf = infra_dirs[env]
        assert {"alert_email", "notification_channels", "repo_url"} <= set(tf.variables)
        platform = tf.module("platform")
        assert platform["alert_email"] == "${var.alert_email}"
        assert platform["notification_channels"] == "${var.notification_channels}"
        assert platform["repo_url"] == "${var.repo_url}"
