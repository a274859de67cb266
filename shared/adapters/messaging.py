"""Pub/Sub for events, Cloud Tasks for commands."""

from __future__ import annotations

import json
import os

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1, tasks_v2  # type: ignore[attr-defined]
from google.protobuf import duration_pb2

from shared.domain.errors import TransientError
from shared.domain.models import Command, Event
from shared.logs import TraceContext, continue_trace

PUBLISH_TIMEOUT_SECONDS = 30
DISPATCH_DEADLINE_SECONDS = 1800  # Cloud Tasks' ceiling; a 100 MB parse fits inside it


class PubSubEventPublisher:
    def __init__(self, project: str, topic: str):
        # The relay waits for each message's id before it marks the commit delivered, so a batch window only adds
        # latency (the client's default holds every message 10 ms for company): each message is its own batch.
        self._client = pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(max_messages=1))
        self._topic = self._client.topic_path(project, topic)

    def publish(self, event: Event) -> None:
        data = json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()
        try:
            # The journey travels in the attributes: the consumer continues the trace before it reads the data.
            journey = {"traceparent": event.trace_context, "origin_execution_id": event.origin_execution_id}
            self._client.publish(
                self._topic, data, event_type=event.event_type, event_id=event.event_id,
                tenant_id=event.tenant_id, execution_id=event.execution_id,
                **{k: v for k, v in journey.items() if v},
            ).result(timeout=PUBLISH_TIMEOUT_SECONDS)
        except (gexc.GoogleAPICallError, TimeoutError) as exc:
            raise TransientError(f"publish failed: {exc}") from exc


def journey_headers(traceparent: str | None, origin_execution_id: str | None) -> dict[str, str]:
    """The headers a task carries so the worker continues the journey's trace (W3C, and Google's own header)."""
    headers: dict[str, str] = {}
    if traceparent:
        trace = continue_trace(traceparent)
        headers["traceparent"] = traceparent
        headers["X-Cloud-Trace-Context"] = TraceContext(trace.trace_id, traceparent.split("-")[2], trace.sampled).cloud_trace_header()
    if origin_execution_id:
        headers["X-Origin-Execution-Id"] = origin_execution_id
    return headers


class CloudTasksCommandQueue:
    def __init__(self, project: str, location: str, queue: str, worker_url: str, invoker_sa: str = "",
                 urls: dict[str, str] | None = None):
        emulator = os.environ.get("TASKS_EMULATOR_HOST")
        if emulator:
            import grpc
            from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

            self._client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator)))
        else:
            self._client = tasks_v2.CloudTasksClient()
        self._queue = self._client.queue_path(project, location, queue)
        self._worker_url = worker_url
        self._urls = {k: v for k, v in (urls or {}).items() if v}  # command type -> its worker, when not the parse worker
        self._invoker_sa = invoker_sa

    def enqueue(self, command: Command) -> None:
        url = self._worker_url if command.command_type == "parse_content" else self._urls.get(command.command_type, "")
        if not url:  # never to the parse worker by default: the relay keeps it pending until a target is configured
            raise TransientError(f"no worker URL is configured for {command.command_type} commands")
        http_request: dict = {
            "http_method": tasks_v2.HttpMethod.POST,
            "url": url,
            "headers": {"Content-Type": "application/json", **journey_headers(command.trace_context, command.origin_execution_id)},
            "body": json.dumps(command.model_dump(mode="json")).encode(),
        }
        if self._invoker_sa:
            http_request["oidc_token"] = {"service_account_email": self._invoker_sa, "audience": url}
        task = tasks_v2.Task(
            name=f"{self._queue}/tasks/{command.command_id}",  # deterministic: Cloud Tasks drops the duplicate
            http_request=tasks_v2.HttpRequest(**http_request),
            dispatch_deadline=duration_pb2.Duration(seconds=DISPATCH_DEADLINE_SECONDS),
        )
        try:
            self._client.create_task(parent=self._queue, task=task)
        except gexc.AlreadyExists:
            return
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"enqueue failed: {exc}") from exc
