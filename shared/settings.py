"""The one Settings class. Every function reads it once, through `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_UPLOAD_BYTES = 104_857_600  # 100 MB, the product limit (seed FILE_SIZE_POLICY)
RESUMABLE_GRANULE = 256 * 1024  # GCS resumable chunks (all but the last) are multiples of this


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    project_id: str = Field(default="local-project", description="GCP project that owns every resource.")
    region: str = Field(default="us-central1", description="Region of the functions and the tasks queue.")
    environment: str = Field(default="local", description="Deployment environment name (local, dev, prod).")

    uploads_bucket: str = Field(
        default="local-uploads", description="Signed-URL uploads land here; the only bucket that triggers ingest."
    )
    derived_bucket: str = Field(default="local-derived", description="Working material derived by parse; never triggers ingest.")
    records_bucket: str = Field(default="local-records", description="Persistent materializations written by save.")

    events_topic: str = Field(default="ingestion-events", description="Pub/Sub topic for domain events.")
    dead_letter_subscription: str = Field(
        default="ingestion-events-dlq-hold",
        description="Pull subscription on the events' dead-letter topic, read and replayed by `ingestctl dlq`.",
    )
    tasks_queue: str = Field(default="parse-commands", description="Cloud Tasks queue for commands.")
    tasks_location: str = Field(default="us-central1", description="Cloud Tasks queue location.")
    parse_worker_url: str = Field(default="http://127.0.0.1:8085/", description="HTTP target of parse commands.")
    tasks_invoker_sa: str = Field(default="", description="Service account whose OIDC token Cloud Tasks attaches.")

    auth_mode: Literal["dev", "identity_platform"] = Field(default="dev", description="Which token issuer is trusted.")
    auth_audience: str = Field(default="ingestion-local", description="Expected token audience (the project id for Identity Platform).")
    auth_issuer: str = Field(default="https://dev-issuer.local", description="Expected token issuer.")
    auth_dev_public_key_file: str = Field(
        default="", description="PEM public key of the local dev issuer.", json_schema_extra={"local_only": True}
    )
    auth_certs_url: str = Field(
        default="https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
        description="Certificates of the production issuer (Identity Platform).",
    )

    signing_service_account: str = Field(
        default="", description="Service account that signs URLs through IAM signBlob when no key is present."
    )
    signing_key_file: str = Field(
        default="", description="Local dev only: a service-account-style JSON key used to sign URLs.",
        json_schema_extra={"local_only": True},
    )
    upload_url_ttl_seconds: int = Field(default=900, ge=60, le=3600, description="Lifetime of a signed upload URL.")
    download_url_ttl_seconds: int = Field(default=300, ge=60, le=3600, description="Lifetime of a signed download URL.")
    max_upload_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1, description="Largest accepted file.")
    resumable_threshold_bytes: int = Field(
        default=8 * 1024 * 1024, ge=0, description="Uploads larger than this get a GCS resumable session instead of one signed PUT."
    )
    resumable_chunk_bytes: int = Field(
        default=8 * 1024 * 1024, ge=RESUMABLE_GRANULE, multiple_of=RESUMABLE_GRANULE,
        description="Chunk size advised to resumable clients; a multiple of 256 KiB.",
    )
    resumable_session_ttl_seconds: int = Field(
        default=6 * 24 * 3600, ge=3600, le=7 * 24 * 3600,
        description="How long a resumable upload is offered; GCS keeps a session for a week.",
    )
    inline_max_bytes: int = Field(
        default=15 * 1024 * 1024, description="Largest decoded inline ingest_file payload (hex doubles it; requests cap at 32 MB)."
    )
    inline_payload_max_bytes: int = Field(
        default=256 * 1024, description="Parsed payloads up to this size are returned inline by the read API."
    )

    lease_seconds: int = Field(
        default=600, ge=5, description="How long a dispatched parse may wait for a worker's claim before the sweep sends it again."
    )
    max_parse_attempts: int = Field(default=3, ge=1, description="Claims after which an intent is failed.")
    claim_lease_seconds: int = Field(
        default=30, ge=5, description="A parse worker's lease; it renews it while it works, so a dead worker's parse is "
        "reclaimed within about this long plus one sweep."
    )
    lease_renew_seconds: int = Field(default=10, ge=1, description="How often a working parse renews its lease (heartbeat).")
    outbox_grace_seconds: int = Field(default=30, ge=0, description="Age after which the sweep delivers an undelivered outbox record.")
    working_material_ttl_days: int = Field(default=7, ge=1, description="Days before unsaved working material expires.")
    dedup_ttl_days: int = Field(default=7, ge=1, description="Days a dedup record is kept.")
    abandoned_after_seconds: int = Field(
        default=3600, ge=60, description="An execution with no progress for this long, and no live intent, is failed by the sweep."
    )

    journey_redrive_seconds: int = Field(
        default=300, ge=1, description="A journey that owes work and made no progress for this long is re-driven by the sweep."
    )

    reference_sample_size: int = Field(
        default=50, ge=0, le=1000, description="Data Brain references the sweep checks against storage each run."
    )

    cors_allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins (scheme://host[:port]) allowed to call the API; JSON list."
    )

    ocr_engine: Literal["tesseract", "documentai", "none"] = Field(
        default="tesseract", description="Reads scanned PDF pages and image uploads: Tesseract locally, Document AI's "
        "OCR processor in production, or none (images are then refused, scanned pages left out with a warning).",
    )
    ocr_languages: str = Field(default="eng", description="Tesseract's languages (-l), e.g. eng+deu; each needs its traineddata.")
    ocr_max_pages: int = Field(default=50, ge=1, le=2000, description="Pages read by OCR per file; a file needing more is refused.")
    ocr_max_seconds: float = Field(default=300.0, gt=0, le=3000, description="OCR time per file; a file needing more is refused.")
    documentai_processor_version: str = Field(
        default="", description="Document AI OCR processor version: projects/P/locations/L/processors/ID/processorVersions/V "
        "(Terraform outputs it). Pinned, so that the version the artifacts record is the one that read them.",
    )

    log_level: str = Field(default="INFO", description="Minimum log severity.")

    # The cost guard (functions/cost_guard): what a budget notification over the threshold caps.
    cost_guard_threshold: float = Field(default=1.0, gt=0, description="Share of the budget actually spent that caps.")
    cost_guard_dispatches_per_second: float = Field(default=0.1, gt=0, description="Parse queue dispatch rate when capped.")
    cost_guard_max_instances: int = Field(default=1, ge=1, description="Each function's max instances when capped.")
    cost_guard_functions: list[str] = Field(default_factory=list, description="Functions the guard caps; JSON list.")
    functions_api_endpoint: str = Field(
        default="https://cloudfunctions.googleapis.com", description="Cloud Functions API the guard patches."
    )

    as2_id_prefix: str = Field(default="INGEST-", description="A tenant's own AS2 id is this prefix and its tenant id.")
    as2_public_url: str = Field(default="http://127.0.0.1:8080/as2", description="Where partners send AS2 messages.")
    as2_key_secret: str = Field(default="", description="Secret Manager secret holding our AS2 key and certificate (PEM).")
    as2_key_file: str = Field(
        default=".local/as2/as2-key.pem", description="Local only: our AS2 key and certificate (PEM), made on first use.",
        json_schema_extra={"local_only": True},
    )
    as2_max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024, description="Largest AS2 message body accepted.")
    as2_deliver_url: str = Field(default="", description="HTTP target of AS2 delivery commands (the as2 function's task entry).")

    lineage_sink: Literal["none", "jsonl", "dataplex"] = Field(
        default="none", description="Where OpenLineage RunEvents go: a JSON-lines file (local stack) or Dataplex Data Lineage.")
    lineage_file: str = Field(default=".local/lineage/events.jsonl", description="The JSON-lines file of the `jsonl` sink.")
    openlineage_url: str | None = Field(
        default=None, description="Also POST every event to {url}/api/v1/lineage (Marquez-compatible), when set.")
    lineage_namespace: str | None = Field(
        default=None, description="OpenLineage job namespace: the deployment (default ingest.{project_id}.{environment}).")
    lineage_location: str = Field(default="us-central1", description="Dataplex Data Lineage location of the events.")
    lineage_base_url: str = Field(
        default="http://127.0.0.1:8080/lineage",
        description="Where shared/lineage/ is served: every event's _producer, and {url}/facets/*.json our facets' "
                    "_schemaURL (the repository's raw files in production; the dev gateway serves them locally).")

    @property
    def lineage_enabled(self) -> bool:
        """A deployment with no lineage sink stages no lineage messages: its outbox stays as it was."""
        return self.lineage_sink != "none" or bool(self.openlineage_url)

    @property
    def parse_task_attempts(self) -> int:
        """Cloud Tasks' max_attempts on the parse queue (infra/modules/platform: var.max_parse_attempts + 2): above
        the claims, so the worker itself records a parse that ran out of them."""
        return self.max_parse_attempts + 2

    @property
    def job_namespace(self) -> str:
        return self.lineage_namespace or f"ingest.{self.project_id}.{self.environment}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
