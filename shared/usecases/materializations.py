"""The three ways a save materializes a record (the seed's `materialization_type`):

- `full_artifact`: a server-side copy into the records bucket (save.py); under `regulatory_7y` each copy then gets
  Object Retention Lock (Locked, retainUntilTime = save + 7 years) before the record commits.
- `reference`: no copy. The record points at the verified source object: its sha256 is recomputed (streamed) and
  must equal the hash recorded when it was made; the generation and the storage-computed MD5 seen then are kept, so
  every read checks the object is still the one verified. The object gets a temporary hold, so the working bucket's
  lifecycle rule cannot expire a record's bytes.
- `summary`: no payload at all. The record keeps the semantic descriptor and per-column statistics; the working
  objects are deleted after the commit, their references in it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.domain.errors import Conflict
from shared.domain.ids import stable_key
from shared.domain.models import Artifact, Materialization
from shared.domain.retention import REGULATORY_POLICY
from shared.ports import BlobStore
from shared.usecases.objects import split_gs_uri

FULL, REFERENCE, SUMMARY = "full_artifact", "reference", "summary"
SUMMARY_FORMAT = "summary"
HASH_CHUNK = 1024 * 1024


def chosen_type(requested: str | None, metadata_type: str | None, artifact: Artifact) -> str:
    """The parameter wins, then the save's metadata, then what the material was ingested with, else full_artifact."""
    if requested:
        return requested
    if metadata_type:
        return metadata_type
    working = [m.materialization_type for m in artifact.materializations if not m.persistent]
    return working[0] if working and working[0] in (FULL, REFERENCE, SUMMARY) else FULL


def check_combination(mtype: str, retention: str) -> None:
    if mtype != FULL and retention == REGULATORY_POLICY:
        raise Conflict(
            f"A regulatory_7y record needs its own locked copy; materialization_type {mtype} keeps none. "
            "Save it as full_artifact.", code="NOT_LOCKABLE")


def recorded_hash(artifact: Artifact, mat: Materialization) -> str | None:
    """The sha256 recorded when the payload was made: the file's hash, or the parse output's."""
    if mat.content_hash:
        return mat.content_hash
    for output in artifact.outputs:
        if output.get("uri") == mat.uri and output.get("sha256"):
            return f"sha256:{output['sha256']}"
    return artifact.file_hash if artifact.artifact_type == "file" else None


def stream_sha256(blobs: BlobStore, bucket: str, name: str, generation: str | None) -> str:
    digest = hashlib.sha256()
    with blobs.open_read(bucket, name, generation) as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def verified_references(blobs: BlobStore, artifact: Artifact, now: datetime) -> list[Materialization]:
    """One persistent `reference` materialization per working one, each verified against its recorded hash."""
    refs: list[Materialization] = []
    for mat in (m for m in artifact.materializations if not m.persistent):
        expected = recorded_hash(artifact, mat)
        if expected is None:
            raise Conflict(f"Artifact {artifact.artifact_id} has no recorded content hash for {mat.uri}; it cannot be "
                           "saved as a reference. Save it as full_artifact.", code="REFERENCE_NOT_VERIFIED")
        bucket, name = split_gs_uri(mat.uri)
        info = blobs.stat(bucket, name)
        if info is None:
            raise Conflict(f"The working material of artifact {artifact.artifact_id} has expired; ingest the file "
                           "again to save it.", code="PAYLOAD_EXPIRED")
        actual = stream_sha256(blobs, bucket, name, info.generation)
        if actual != expected:
            raise Conflict(f"The object {mat.uri} no longer hashes to {expected} (it hashes to {actual}); it cannot be "
                           "saved as a reference.", code="REFERENCE_CHANGED",
                           details={"expected": expected, "actual": actual})
        refs.append(Materialization(
            materialization_id=f"ref_{stable_key('reference', artifact.tenant_id, artifact.artifact_id, mat.uri)[:32]}",
            uri=mat.uri, format=mat.format, persistent=True, materialization_type=REFERENCE,
            compression=mat.compression, size_bytes=info.size, created_at=now, content_hash=expected,
            object_generation=info.generation, object_md5=info.md5_hash))
    return refs


def reference_intact(blobs: BlobStore, mat: Materialization) -> bool:
    """A read's check: the same generation, and the MD5 Cloud Storage computed for it, as when it was verified."""
    info = blobs.stat(*split_gs_uri(mat.uri))
    if info is None:
        return False
    if mat.object_generation and info.generation != mat.object_generation:
        return False
    return not (mat.object_md5 and info.md5_hash and info.md5_hash != mat.object_md5)


def summary_uri(artifact: Artifact) -> str:
    return f"firestore://tenants/{artifact.tenant_id}/artifacts/{artifact.artifact_id}#semantic_descriptor"


def summary_materialization(artifact: Artifact, now: datetime) -> Materialization:
    descriptor = artifact.semantic_descriptor
    if descriptor.record_count is None and not descriptor.schema_:
        raise Conflict(f"Artifact {artifact.artifact_id} has no descriptor or statistics to keep; a summary needs a "
                       "parsed artifact.", code="NO_STATISTICS")
    return Materialization(
        materialization_id=f"sum_{stable_key('summary', artifact.tenant_id, artifact.artifact_id)[:32]}",
        storage_type="firestore", uri=summary_uri(artifact), format=SUMMARY_FORMAT, persistent=True,
        materialization_type=SUMMARY, created_at=now)


def lock_records(blobs: BlobStore, locations: list[tuple[str, str]], until: datetime) -> None:
    for bucket, name in locations:
        blobs.set_retention(bucket, name, until)


def hold_references(blobs: BlobStore, uris: list[str]) -> None:
    """Protect a reference record's objects from the working bucket's lifecycle (idempotent)."""
    for uri in uris:
        blobs.set_temporary_hold(*split_gs_uri(uri), True)
