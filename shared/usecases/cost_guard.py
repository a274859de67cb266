"""The cost guard: a billing budget's Pub/Sub notification caps what can run up the bill.

When actual spend reaches `threshold` of the budget, the parse queue's dispatch rate and concurrency are capped and
every function's max instances lowered, and the guard says so in the logs. Forecasts alone never cap (they are
estimates; the alert on them is for people). The caps hold until a person lifts them: the next Terraform apply
restores the declared values (infra/runbooks/cost-guard.md). A repeated notification finds the caps in place and
changes nothing.

Notification format: https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications#notification_format
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.logs import get_logger

log = get_logger(__name__)


class BudgetNotification(BaseModel):
    """The JSON body Cloud Billing publishes for a budget (schemaVersion 1.0)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    budget_display_name: str = Field(alias="budgetDisplayName")
    cost_amount: float = Field(alias="costAmount", ge=0)
    budget_amount: float = Field(alias="budgetAmount", gt=0)
    currency_code: str = Field(alias="currencyCode")
    cost_interval_start: str = Field(alias="costIntervalStart")
    alert_threshold_exceeded: float | None = Field(default=None, alias="alertThresholdExceeded")
    forecast_threshold_exceeded: float | None = Field(default=None, alias="forecastThresholdExceeded")

    @property
    def spent_ratio(self) -> float:
        return self.cost_amount / self.budget_amount


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: str
    attributes: dict[str, str] = {}


class BudgetMessagePublished(BaseModel):
    """google.cloud.pubsub.topic.v1.messagePublished carrying a budget notification."""

    model_config = ConfigDict(extra="ignore")

    message: _Message
    subscription: str | None = None

    def notification(self) -> BudgetNotification:
        return BudgetNotification.model_validate(json.loads(base64.b64decode(self.message.data)))


@dataclass(frozen=True)
class QueueLimits:
    max_dispatches_per_second: float
    max_concurrent_dispatches: int


class CostControls(Protocol):
    """What the guard can turn down (adapters: Cloud Tasks and the Cloud Functions API)."""

    def queue_limits(self) -> QueueLimits: ...

    def cap_queue(self, limits: QueueLimits) -> None: ...

    def max_instances(self, function: str) -> int: ...

    def cap_instances(self, function: str, max_instances: int) -> None: ...


@dataclass(frozen=True)
class CapPolicy:
    threshold: float = 1.0  # share of the budget actually spent
    queue: QueueLimits = QueueLimits(max_dispatches_per_second=0.1, max_concurrent_dispatches=1)
    max_instances: int = 1


class CostGuardUnit(Protocol):
    @property
    def controls(self) -> CostControls: ...
    @property
    def functions(self) -> Sequence[str]: ...
    @property
    def policy(self) -> CapPolicy: ...


@dataclass
class CapResult:
    outcome: str  # below_threshold | capped | already_capped
    spent_ratio: float
    changed: dict[str, object] = field(default_factory=dict)


def _lower(current: float, cap: float) -> float:
    """The cap, unless the current limit is already lower; 0 is unset (the platform's default, above any cap)."""
    return cap if current <= 0 else min(current, cap)


def handle(command: BudgetNotification, uow: CostGuardUnit) -> CapResult:
    policy = uow.policy
    ratio = round(command.spent_ratio, 4)
    fields = {"budget": command.budget_display_name, "spent_ratio": ratio, "cost": command.cost_amount,
              "budget_amount": command.budget_amount, "currency": command.currency_code,
              "threshold": policy.threshold}
    if ratio < policy.threshold:
        log.info("cost guard: spend below the cap threshold", extra={"fields": fields})
        return CapResult("below_threshold", ratio)
    changed: dict[str, object] = {}
    current = uow.controls.queue_limits()
    capped = QueueLimits(_lower(current.max_dispatches_per_second, policy.queue.max_dispatches_per_second),
                         int(_lower(current.max_concurrent_dispatches, policy.queue.max_concurrent_dispatches)))
    if capped != current:
        uow.controls.cap_queue(capped)
        changed["parse_queue"] = {"max_dispatches_per_second": capped.max_dispatches_per_second,
                                  "max_concurrent_dispatches": capped.max_concurrent_dispatches,
                                  "was": [current.max_dispatches_per_second, current.max_concurrent_dispatches]}
    for function in uow.functions:
        was = uow.controls.max_instances(function)
        if _lower(was, policy.max_instances) != was:
            uow.controls.cap_instances(function, policy.max_instances)
            changed[function] = {"max_instances": policy.max_instances, "was": was}
    outcome = "capped" if changed else "already_capped"
    log.warning(f"cost guard {outcome}", extra={"fields": {**fields, "changed": changed}})
    return CapResult(outcome, ratio, changed)
