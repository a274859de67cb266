"""The cost guard's use case over an in-memory implementation of its own port (CostControls)."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field

import pytest

from shared.usecases.cost_guard import BudgetMessagePublished, BudgetNotification, CapPolicy, QueueLimits, handle


@dataclass
class MemoryControls:
    queue: QueueLimits = field(default_factory=lambda: QueueLimits(500.0, 10))
    instances: dict[str, int] = field(default_factory=lambda: {"parse-worker": 10, "read-api": 20, "save": 0})
    writes: list[tuple[str, object]] = field(default_factory=list)

    def queue_limits(self) -> QueueLimits:
        return self.queue

    def cap_queue(self, limits: QueueLimits) -> None:
        self.queue = limits
        self.writes.append(("queue", limits))

    def max_instances(self, function: str) -> int:
        return self.instances[function]

    def cap_instances(self, function: str, max_instances: int) -> None:
        self.instances[function] = max_instances
        self.writes.append((function, max_instances))


@dataclass
class Unit:
    controls: MemoryControls = field(default_factory=MemoryControls)
    functions: tuple[str, ...] = ("parse-worker", "read-api", "save")
    policy: CapPolicy = field(default_factory=CapPolicy)


def _notification(cost: float, budget: float = 100.0, **extra: object) -> BudgetNotification:
    # The documented example body (budgets-programmatic-notifications#notification_format), with our amounts.
    body = {"budgetDisplayName": "ingestion-prod", "costAmount": cost, "costIntervalStart": "2026-12-01T08:00:00Z",
            "budgetAmount": budget, "budgetAmountType": "SPECIFIED_AMOUNT", "currencyCode": "USD", **extra}
    return BudgetNotification.model_validate(body)


def test_spend_over_the_budget_caps_the_queue_and_every_function_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    unit = Unit()
    with caplog.at_level(logging.WARNING):
        result = handle(_notification(101.0, alertThresholdExceeded=1.0), unit)
    assert result.outcome == "capped" and result.spent_ratio == 1.01
    assert unit.controls.queue == QueueLimits(0.1, 1)
    assert unit.controls.instances == {"parse-worker": 1, "read-api": 1, "save": 1}  # 0 (no limit) is capped too
    assert any(r.getMessage() == "cost guard capped" for r in caplog.records)


def test_a_repeated_notification_changes_nothing() -> None:
    unit = Unit()
    handle(_notification(120.0), unit)
    writes = len(unit.controls.writes)
    assert handle(_notification(130.0), unit).outcome == "already_capped"
    assert len(unit.controls.writes) == writes


def test_spend_below_the_threshold_and_forecasts_alone_cap_nothing() -> None:
    unit = Unit()
    assert handle(_notification(50.0, alertThresholdExceeded=0.5), unit).outcome == "below_threshold"
    assert handle(_notification(80.0, forecastThresholdExceeded=1.2), unit).outcome == "below_threshold"
    assert unit.controls.writes == []


def test_caps_never_raise_a_limit_already_lower() -> None:
    unit = Unit(controls=MemoryControls(queue=QueueLimits(0.05, 5), instances={"parse-worker": 1, "read-api": 3, "save": 1}))
    result = handle(_notification(100.0), unit)
    assert unit.controls.queue == QueueLimits(0.05, 1)
    assert set(result.changed) == {"parse_queue", "read-api"}


def test_the_pubsub_message_carries_the_notification_base64_encoded() -> None:
    body = {"budgetDisplayName": "b", "costAmount": 1, "costIntervalStart": "2026-12-01T08:00:00Z", "budgetAmount": 2,
            "budgetAmountType": "SPECIFIED_AMOUNT", "currencyCode": "EUR"}
    message = BudgetMessagePublished.model_validate({"message": {
        "data": base64.b64encode(json.dumps(body).encode()).decode(),
        "attributes": {"billingAccountId": "01D4EE-079462-DFD6EC", "budgetId": "abc", "schemaVersion": "1.0"}}})
    assert message.notification().spent_ratio == 0.5
