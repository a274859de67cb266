"""A throwaway CloudEvent function for the stack's own tests: it appends every event it gets to a JSON-lines file.

RECORDER_FILE names the file; the first RECORDER_FAIL_FIRST deliveries answer 500, so redelivery can be observed.
"""

import json
import os
import threading
from pathlib import Path

import functions_framework
from cloudevents.http import CloudEvent

_lock = threading.Lock()


@functions_framework.cloud_event
def record(event: CloudEvent) -> None:
    target = Path(os.environ["RECORDER_FILE"])
    with _lock:
        seen = len(target.read_text().splitlines()) if target.exists() else 0
        with target.open("a") as out:
            out.write(json.dumps({"attributes": dict(event.get_attributes()), "data": event.get_data()}, default=str) + "\n")
    if seen < int(os.environ.get("RECORDER_FAIL_FIRST", "0")):
        raise RuntimeError("failing on purpose so the delivery is retried")
