"""OpenLineage RunEvents of an execution, built with the openlineage-python client's spec classes. No I/O here.

- run id: uuid5 of the execution id. Every retry, redelivery and sweep recomputes it from the execution id alone;
  the spec's recommended UUIDv7 would need the execution's creation time wherever an event is built (a FAIL from
  the sweep, a worker's COMPLETE), and a v7 made from a stored time is no more ordered than this one.
- job: namespace = the deployment, name = the intent type; a journey step's `parent` is the journey's run.
- datasets: namespace `gs://{bucket}`, name = the object path (the spec's naming for GCS).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    datasource_dataset,
    error_message_run,
    lifecycle_state_change_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde

from shared.domain.models import Artifact, Materialization

FACET_FILE = "facets/ArtifactDatasetFacet.json"  # shipped in shared/lineage/, served under settings.lineage_base_url
RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ingest:openlineage:run")
JOURNEY_JOB = "journey_content_file_upload_materialization"

# Executions that read or write an artifact; any other execution emits only when its Result carries artifacts.
LINEAGE_INTENTS = frozenset({
    "ingest_file", "parse_content", "save_materialization", "delete_artifact", "discard_working_material",
    "expire_artifact", "select_profile", "start_journey",
})
DROPS = frozenset({"delete_artifact", "discard_working_material", "expire_artifact"})


@attr.define
class ArtifactDatasetFacet(DatasetFacet):
    """Our own facet: which artifact a dataset is, whose, and how far from its root."""

    artifactId: str
    artifactType: str
    tenantId: str
    generation: int
    lifecycleState: str
    rootArtifactId: str
    _additional_skip_redact: ClassVar[list[str]] = ["artifactId", "tenantId"]


@dataclass(frozen=True)
class Producer:
    """`_producer` of every event and facet, and our facet's `_schemaURL`: both under the deployment's base URL of
    shared/lineage (settings.lineage_base_url; the repository's raw files in production, the dev gateway locally)."""

    base_url: str

    @property
    def uri(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def facet_schema_url(self) -> str:
        return f"{self.uri}/{FACET_FILE}#/$defs/ArtifactDatasetFacet"


def run_id_for(execution_id: str) -> str:
    return str(uuid.uuid5(RUN_NAMESPACE, execution_id))


def journey_run_id(journey_id: str) -> str:
    return str(uuid.uuid5(RUN_NAMESPACE, f"journey:{journey_id}"))


def event_key(event: dict[str, Any]) -> str:
    """What makes an event unique: its run and its state. Sinks deduplicate on it (and Dataplex's requestId is it)."""
    return str(uuid.uuid5(uuid.UUID(event["run"]["runId"]), event["eventType"]))


def _split(uri: str) -> tuple[str, str] | None:
    if not uri.startswith("gs://"):
        return None
    bucket, _, name = uri[5:].partition("/")
    return (f"gs://{bucket}", name) if bucket and name else None


def _facets(producer: Producer, artifact: Artifact, namespace: str, change: str | None) -> dict[str, Any]:
    ours = ArtifactDatasetFacet(
        artifactId=artifact.artifact_id, artifactType=artifact.artifact_type, tenantId=artifact.tenant_id,
        generation=artifact.lineage.generation, lifecycleState=artifact.lifecycle_state.value,
        rootArtifactId=artifact.lineage.root_artifact_id, producer=producer.uri)
    ours._schemaURL = producer.facet_schema_url
    facets: dict[str, Any] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(name=namespace, uri=namespace, producer=producer.uri),
        "artifact": ours,
    }
    schema = artifact.semantic_descriptor.schema_
    if isinstance(schema, list) and schema:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=str(f.get("name")), type=str(f.get("type")) if f.get("type") else None,
                                                    ordinal_position=i + 1)
            for i, f in enumerate(schema) if isinstance(f, dict) and f.get("name") is not None], producer=producer.uri)
    if change is not None:
        facets["lifecycleStateChange"] = lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange(change), producer=producer.uri)
    return facets


def _locations(artifact: Artifact, mats: Iterable[Materialization] | None = None) -> list[str]:
    uris = [m.uri for m in (artifact.materializations if mats is None else mats)]
    if not uris and mats is None:
        uris = [artifact.storage_location]
    return list(dict.fromkeys(uris))  # one dataset per object, in order


def _datasets(producer: Producer, kind: type[InputDataset] | type[OutputDataset], artifact: Artifact, uris: list[str],
              change: str | None = None) -> list[Any]:
    found = []
    for uri in uris:
        split = _split(uri)
        if split is not None:
            found.append(kind(namespace=split[0], name=split[1], facets=_facets(producer, artifact, split[0], change)))
    return found


@dataclass
class RunDatasets:
    inputs: list[InputDataset] = field(default_factory=list)
    outputs: list[OutputDataset] = field(default_factory=list)


def datasets_of(producer: Producer, intent_type: str, read: list[Artifact], written: list[Artifact]) -> RunDatasets:
    """Inputs and outputs by storage location. A save reads the working copy and CREATEs the record copy; a delete,
    discard or expiry DROPs the objects the artifact had; ingest and parse write their artifact's objects."""
    found = RunDatasets()
    for artifact in read:
        if intent_type in DROPS:
            found.outputs += _datasets(producer, OutputDataset, artifact, _locations(artifact), "DROP")
        else:
            found.inputs += _datasets(producer, InputDataset, artifact, _locations(artifact))
    for artifact in written:
        if intent_type in DROPS:
            continue  # the tombstone has no objects; the artifact read before it named them
        if intent_type == "save_materialization":
            working = [m for m in artifact.materializations if not m.persistent]
            records = [m for m in artifact.materializations if m.persistent]
            found.inputs += _datasets(producer, InputDataset, artifact, _locations(artifact, working))
            found.outputs += _datasets(producer, OutputDataset, artifact, _locations(artifact, records), "CREATE")
        else:
            found.outputs += _datasets(producer, OutputDataset, artifact, _locations(artifact))
    return found


@dataclass(frozen=True)
class RunInfo:
    execution_id: str
    intent_type: str
    namespace: str  # the deployment
    producer: Producer
    journey_id: str | None = None
    journey_job: str = JOURNEY_JOB
    run_id: str | None = None  # a journey's own run overrides the execution's
    job_name: str | None = None


def run_events(info: RunInfo, *, started_at: datetime | None, ended_at: datetime | None, state: str | None,
               datasets: RunDatasets, error: str | None = None) -> list[dict[str, Any]]:
    """START (when the execution begins in this commit) and COMPLETE/FAIL (when it ends in it), as spec JSON."""
    producer = info.producer
    run_id = info.run_id or run_id_for(info.execution_id)
    run_facets: dict[str, Any] = {}
    if info.journey_id is not None and info.run_id is None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=journey_run_id(info.journey_id)),
            job=parent_run.Job(namespace=info.namespace, name=info.journey_job), producer=producer.uri)
    job = Job(namespace=info.namespace, name=info.job_name or info.intent_type)
    events: list[dict[str, Any]] = []
    for event_type, at in ((RunState.START, started_at), (RunState(state) if state else None, ended_at)):
        if event_type is None or at is None:
            continue
        facets = dict(run_facets)
        if event_type == RunState.FAIL and error:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error[:2000], programmingLanguage="python", producer=producer.uri)
        event = RunEvent(eventType=event_type, eventTime=at.isoformat(), run=Run(runId=run_id, facets=facets), job=job,
                         inputs=datasets.inputs, outputs=datasets.outputs, producer=producer.uri)
        events.append(Serde.to_dict(event))
    return events
