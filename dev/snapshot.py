"""Firestore emulator snapshots, so the local stack keeps its documents across `make down` / `make up` and loses at
most one interval of writes when the emulator itself dies.

    python -m dev.snapshot --firestore 127.0.0.1:PORT --project local-project --data-dir .local/data --interval 30

Each snapshot is a full emulator export into a new directory; `LATEST` then names it (written atomically), so a crash
mid-export never leaves a broken snapshot behind. The emulator imports `LATEST` when it starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger("snapshot")
KEEP = 2  # snapshots kept on disk: the latest and the one before it


def firestore_dir(data_dir: Path) -> Path:
    return data_dir / "firestore"


def latest_export(data_dir: Path) -> Path | None:
    """The metadata file of the newest complete snapshot, or None."""
    pointer = firestore_dir(data_dir) / "LATEST"
    try:
        metadata = Path(pointer.read_text().strip())
    except OSError:
        return None
    return metadata if metadata.is_file() else None


def export_firestore(host: str, project_id: str, data_dir: Path, timeout: float = 60) -> Path:
    """Export every document into a fresh directory and point LATEST at it; returns the metadata file."""
    root = firestore_dir(data_dir)
    target = root / "exports" / time.strftime("%Y%m%dT%H%M%S") / f"{time.time_ns()}"
    target.mkdir(parents=True)
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project_id}:export",
        data=json.dumps({"database": f"projects/{project_id}/databases/(default)",
                         "export_directory": str(target.resolve())}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        resp.read()
    metadata = next(target.rglob("*.overall_export_metadata"))
    pointer = root / "LATEST"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(str(metadata.resolve()) + "\n")
    tmp.replace(pointer)
    _prune(root / "exports", keep_containing=metadata)
    return metadata


def _prune(exports: Path, keep_containing: Path) -> None:
    snapshots = sorted((p for p in exports.glob("*/*") if p.is_dir()), key=lambda p: p.name)
    for old in snapshots[:-KEEP]:
        if old not in keep_containing.parents:
            shutil.rmtree(old, ignore_errors=True)
    for day in exports.glob("*"):
        if day.is_dir() and not any(day.iterdir()):
            day.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.snapshot", description=__doc__.splitlines()[0])
    parser.add_argument("--firestore", required=True, help="HOST:PORT of the Firestore emulator")
    parser.add_argument("--project", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between snapshots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(args.interval):
        try:
            log.info("snapshot written: %s", export_firestore(args.firestore, args.project, args.data_dir))
        except (OSError, urllib.error.URLError, StopIteration) as exc:
            log.warning("snapshot failed (the next one retries): %s", exc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
