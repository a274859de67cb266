"""A check `make up` runs on kept data: finalize dedup keys that a restarted Pub/Sub emulator's ids could collide with.

The Eventarc bridge once used the Pub/Sub emulator's message number as the CloudEvent id. The emulator numbers its
messages from 1 again after every restart, and finalize remembers `(source, event id)` in its dedup keys, which the
kept Firestore data brings back: new uploads were taken for redeliveries and never ingested. The bridge now derives
ids from the event itself (dev/bridge.py:event_id), so they cannot collide; this check finds keys recorded for
numbered ids, says so, and says what they mean.

    python -m dev.dedup_check --firestore HOST:PORT --project P --bucket UPLOADS
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from shared.domain.ids import stable_key

MAX_PROBED_IDS = 20_000  # the emulator numbers every message of every topic; probe a generous prefix
BATCH = 300


def finalize_source(uploads_bucket: str) -> str:
    return f"//storage.googleapis.com/projects/_/buckets/{uploads_bucket}"


def _batches(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), BATCH):
        yield keys[start:start + BATCH]


def numbered_finalize_keys(db: firestore.Client, uploads_bucket: str) -> tuple[int, int]:
    """(finalize dedup keys kept, how many of them are for ids 1..N that a restarted emulator hands out again)."""
    kept = sum(1 for _ in db.collection("dedup").where(filter=firestore.FieldFilter("kind", "==", "finalize"))
               .select(["kind"]).limit(MAX_PROBED_IDS).stream())
    if not kept:
        return 0, 0
    source = finalize_source(uploads_bucket)
    probe = min(MAX_PROBED_IDS, max(1000, 20 * kept))
    keys = [stable_key("cloudevent", source, str(number)) for number in range(1, probe + 1)]
    hits = 0
    for batch in _batches(keys):
        refs = [db.collection("dedup").document(key) for key in batch]
        hits += sum(1 for snap in db.get_all(refs, field_paths=["kind"]) if snap.exists)
    return kept, hits


def warning_for(firestore_host: str, project: str, uploads_bucket: str) -> str | None:
    """The line `make up` prints, or None when the kept data holds nothing a new event id could collide with."""
    before = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore_host  # the client reads only this, when it is made
    try:
        db = firestore.Client(project=project, credentials=AnonymousCredentials())
    finally:
        if before is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = before
    try:
        _, hits = numbered_finalize_keys(db, uploads_bucket)
    finally:
        db.close()
    if not hits:
        return None
    return (f"warning: the kept data holds {hits} finalize dedup key(s) recorded for event ids numbered by the "
            "Pub/Sub emulator (1, 2, ...), which it hands out again after every restart. This bridge derives event "
            "ids from the object (bucket, name, generation), so new uploads cannot collide with them; a bridge of an "
            "older checkout would drop new uploads as duplicates. Uploads that stayed `awaiting_upload` after an "
            "earlier restart can be uploaded again; `make reset` starts with empty data.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.dedup_check", description=__doc__.splitlines()[0])
    parser.add_argument("--firestore", required=True, help="HOST:PORT of the Firestore emulator")
    parser.add_argument("--project", required=True)
    parser.add_argument("--bucket", required=True, help="the uploads bucket")
    args = parser.parse_args(argv)
    message = warning_for(args.firestore, args.project, args.bucket)
    print(message or "no kept dedup key can collide with new event ids")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
