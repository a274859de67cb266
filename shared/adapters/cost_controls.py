"""Cost controls the cost guard turns down: the parse queue's rate limits (Cloud Tasks) and each function's max
instances (Cloud Functions v2 API). Clients are made lazily, once per instance."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from shared.settings import Settings, get_settings
from shared.usecases.cost_guard import CapPolicy, QueueLimits

FUNCTIONS_API = "https://cloudfunctions.googleapis.com"
QUEUE_CAP_FIELDS = ("rate_limits.max_dispatches_per_second", "rate_limits.max_concurrent_dispatches")


def queue_cap_request(queue_path: str, limits: QueueLimits) -> dict[str, Any]:
    """UpdateQueue with only the rate limits in its field mask, so nothing else of the queue changes
    (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues/patch)."""
    return {
        "queue": {"name": queue_path, "rate_limits": {"max_dispatches_per_second": limits.max_dispatches_per_second,
                                                      "max_concurrent_dispatches": limits.max_concurrent_dispatches}},
        "update_mask": {"paths": list(QUEUE_CAP_FIELDS)},
    }


def function_cap_request(function_path: str, max_instances: int) -> tuple[str, dict[str, str], dict[str, Any]]:
    """PATCH of one field of a 2nd gen function: URL, query and body
    (https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions/patch)."""
    return (f"/v2/{function_path}", {"updateMask": "serviceConfig.maxInstanceCount"},
            {"serviceConfig": {"maxInstanceCount": max_instances}})


class CloudTasksQueue:
    def __init__(self, queue_path: str, client: Any = None) -> None:
        self.queue_path = queue_path
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import tasks_v2

            emulator = os.environ.get("TASKS_EMULATOR_HOST")
            if emulator:
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

                self._client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator)))
            else:
                self._client = tasks_v2.CloudTasksClient()
        return self._client

    def queue_limits(self) -> QueueLimits:
        rate = self.client.get_queue(name=self.queue_path).rate_limits
        return QueueLimits(float(rate.max_dispatches_per_second), int(rate.max_concurrent_dispatches))

    def cap_queue(self, limits: QueueLimits) -> None:
        self.client.update_queue(request=queue_cap_request(self.queue_path, limits))


class CloudFunctionsScaler:
    def __init__(self, project: str, region: str, endpoint: str = FUNCTIONS_API, session: Any = None) -> None:
        self.prefix = f"projects/{project}/locations/{region}/functions"
        self.endpoint = endpoint.rstrip("/")
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None and not self.endpoint.startswith("https://"):
            import requests  # a local stand-in of the API (tests): no credentials

            self._session = requests.Session()
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self._session = AuthorizedSession(credentials)
        return self._session

    def max_instances(self, function: str) -> int:
        resp = self.session.get(f"{self.endpoint}/v2/{self.prefix}/{function}", timeout=30)
        resp.raise_for_status()
        return int(resp.json().get("serviceConfig", {}).get("maxInstanceCount", 0))

    def cap_instances(self, function: str, max_instances: int) -> None:
        path, params, body = function_cap_request(f"{self.prefix}/{function}", max_instances)
        resp = self.session.patch(f"{self.endpoint}{path}", params=params, json=body, timeout=30)
        resp.raise_for_status()  # a long-running Operation: the new limit applies when it completes


@dataclass
class Controls:
    queue: CloudTasksQueue
    scaler: CloudFunctionsScaler

    def queue_limits(self) -> QueueLimits:
        return self.queue.queue_limits()

    def cap_queue(self, limits: QueueLimits) -> None:
        self.queue.cap_queue(limits)

    def max_instances(self, function: str) -> int:
        return self.scaler.max_instances(function)

    def cap_instances(self, function: str, max_instances: int) -> None:
        self.scaler.cap_instances(function, max_instances)


@dataclass
class CostGuardUnit:
    controls: Controls
    functions: Sequence[str]
    policy: CapPolicy = field(default_factory=CapPolicy)


def build_unit(settings: Settings) -> CostGuardUnit:
    queue = f"projects/{settings.project_id}/locations/{settings.tasks_location}/queues/{settings.tasks_queue}"
    policy = CapPolicy(threshold=settings.cost_guard_threshold,
                       queue=QueueLimits(settings.cost_guard_dispatches_per_second, 1),
                       max_instances=settings.cost_guard_max_instances)
    return CostGuardUnit(Controls(CloudTasksQueue(queue), CloudFunctionsScaler(settings.project_id, settings.region,
                                                                               settings.functions_api_endpoint)),
                         settings.cost_guard_functions, policy)


@cache
def cost_guard_unit() -> CostGuardUnit:
    return build_unit(get_settings())
