"""Firestore adapter, upload documents: an upload record also keeps the executions that begin and end with it.

Asking for an upload (request_upload) and ingesting its object (finalize) are each an execution that opens and ends
in the one commit that writes the upload record. Such an execution is written into that record, under
`executions.{execution_id}`, instead of into a document of its own: a write fewer each, with the same atomicity
(the log still commits with the state it describes). Messages that finalize holds for Eventarc's retry ride in the
record's `outbox` field: one ingest per upload, so nothing else writes them. `get_execution` finds an execution
there by the record's `execution_id` or `ingest_execution_id`."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.adapters.firestore_common import safe_id
from shared.domain.models import Execution, Upload
from shared.domain.states import ExecutionStatus

EXECUTIONS = "executions"
OUTBOX = "outbox"
ENDED = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)
OWNERS = ("execution_id", "ingest_execution_id")  # the upload fields that name an execution kept in the record


def upload_of(data: dict[str, Any] | None) -> Upload | None:
    """The upload a document holds, without the executions and messages kept beside it."""
    return Upload.model_validate({k: v for k, v in data.items() if k not in (EXECUTIONS, OUTBOX)}) if data else None


def keeps(upload_document: dict[str, Any], execution: Execution) -> bool:
    """Whether an upload record this commit writes keeps this execution: one the record names, that ends here."""
    return execution.status in ENDED and execution.tenant_id == upload_document.get("tenant_id") and \
        execution.execution_id in (upload_document.get(field) for field in OWNERS)


def with_kept(document: dict[str, Any], kept: dict[str, dict[str, Any]], outbox: dict[str, Any] | None,
              adopted: bool) -> dict[str, Any]:
    """The record's write with the executions it keeps (and held messages): field paths for an update of an
    adopted record, nested maps for a merged set, so executions kept earlier stay either way."""
    extra: dict[str, Any] = {OUTBOX: outbox} if outbox is not None else {}
    if adopted:
        return {**document, **{f"{EXECUTIONS}.{k}": v for k, v in kept.items()}, **extra}
    return {**document, **({EXECUTIONS: kept} if kept else {}), **extra}


class FirestoreUploads:
    """The executions kept in upload records, for ExecutionRepository.get_execution (mixed into FirestoreStore)."""

    client: firestore.Client

    def kept_execution(self, tenant_id: str, execution_id: str) -> dict[str, Any] | None:
        if not (safe_id(tenant_id) and safe_id(execution_id)):
            return None
        uploads = self.client.collection("tenants").document(tenant_id).collection("uploads")
        for field in OWNERS:
            for snap in uploads.where(filter=FieldFilter(field, "==", execution_id)).limit(1).stream():
                found = ((snap.to_dict() or {}).get(EXECUTIONS) or {}).get(execution_id)
                if found:
                    return dict(found)
        return None
