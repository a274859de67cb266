"""modules/monitoring: every alert has its runbook, every metric an alert reads is declared, and each environment
exposes where alerts go."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import INFRA, TfDir

pytestmark = pytest.mark.infra

METRICS = json.loads((INFRA / "monitoring" / "metrics.json").read_text())["metrics"]
REQUIRED_ALERTS = {"dead-letter-backlog", "outbox-stalled", "http-5xx-rate", "parse-failure-rate", "function-error-rate",
                   "event-subscription-oldest-unacked"}


@pytest.fixture(scope="module")
def monitoring(infra_dirs: dict[str, TfDir]) -> TfDir:
    return infra_dirs["modules/monitoring"]


def test_every_alert_has_a_runbook_and_reads_declared_metrics(monitoring: TfDir) -> None:
    alerts: dict[str, Any] = monitoring.locals["alerts"]
    assert set(alerts) == REQUIRED_ALERTS
    readme = (INFRA / "README.md").read_text()
    for name, alert in alerts.items():
        assert f"### Runbook: {name}\n" in readme, f"no runbook for {name}"
        for condition in alert["conditions"]:
            for used in re.findall(r'local\.user\["(\w+)"\]', condition["filter"] + str(condition["denominator"])):
                assert used in METRICS, (name, used)
    policy = monitoring.resource("google_monitoring_alert_policy", "this")
    assert policy["notification_channels"] == "${local.channels}"
    assert "${local.runbook}${each.key}" in policy["documentation"][0]["content"]


def test_metrics_are_built_from_the_declaration(monitoring: TfDir) -> None:
    metric = monitoring.resource("google_logging_metric", "this")
    assert metric["for_each"] == "${local.metrics}"
    assert metric["label_extractors"] == "${each.value.labels}"
    for name, m in METRICS.items():
        assert re.fullmatch(r"[a-z_]+", name)
        assert m["kind"] in ("counter", "distribution")
        assert (m["kind"] == "distribution") == ("value" in m), name
    assert "google_monitoring_dashboard" in {t for t, _ in monitoring.resources}


def test_each_environment_says_where_alerts_go(infra_dirs: dict[str, TfDir]) -> None:
    for env in ("envs/dev", "envs/prod"):
        tf = infra_dirs[env]
        assert {"alert_email", "notification_channels"} <= set(tf.variables)
        platform = tf.module("platform")
        assert platform["alert_email"] == "${var.alert_email}"
        assert platform["notification_channels"] == "${var.notification_channels}"
