"""The platform's triggers as tests and benchmarks send them: straight onto a bus over the given services, the way
the CloudEvent edge sends them onto the instance's bus."""

from __future__ import annotations

from typing import Any

from shared.bootstrap import messagebus
from shared.domain.messages import (
    IngestUploadedObject,
    MessagePublished,
    ParseTask,
    RunParseTask,
    RunSweep,
    StorageObjectData,
)
from shared.edges.events import react as react_on
from shared.ports import Services
from shared.usecases.finalize import FinalizeResult
from shared.usecases.parse_worker import WorkResult


def finalize(services: Services, event_id: str, source: str, obj: StorageObjectData) -> FinalizeResult:
    """What the finalize edge runs; an ingest the bus recorded as failed, or found done, answers as a duplicate."""
    result = messagebus(services).handle(IngestUploadedObject(event_id, source, obj))
    return result if isinstance(result, FinalizeResult) else FinalizeResult("duplicate")


def react(services: Services, message: MessagePublished) -> str:
    """What the Pub/Sub edge runs for one delivery."""
    return react_on(message, messagebus(services))


def sweep(services: Services, limit: int = 200) -> dict[str, Any]:
    """What Cloud Scheduler's call runs."""
    return dict(messagebus(services).handle(RunSweep(limit)))


def parse_task(services: Services, task: ParseTask) -> WorkResult:
    """What the Cloud Tasks edge runs for one delivery of a parse command."""
    return messagebus(services).handle(RunParseTask(task))  # type: ignore[no-any-return]
