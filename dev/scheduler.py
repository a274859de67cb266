"""The local Cloud Scheduler: calls each scheduled function on a fixed period, as the Terraform job does.

    python -m dev.scheduler --job outbox-sweep=http://127.0.0.1:PORT/ [--job ...] [--interval 60] [--ready-file F]

Like the deployed job it POSTs `{}` as JSON with Cloud Scheduler's headers and does not retry a failed run: the next
tick comes within the period anyway.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import requests

log = logging.getLogger("scheduler")


def fire(name: str, url: str, timeout: float) -> int | str:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": name,
        "X-CloudScheduler-ScheduleTime": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    try:
        return requests.post(url, data=b"{}", headers=headers, timeout=timeout).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--job", action="append", default=[], help="NAME=URL, once per scheduled function")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between runs (the job runs every minute)")
    parser.add_argument("--timeout", type=float, default=320.0, help="attempt deadline in seconds")
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    jobs = dict(job.split("=", 1) for job in args.job if "=" in job)
    if not jobs:
        log.error("no --job NAME=URL given")
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.ready_file:
        args.ready_file.write_text("ready\n")
    log.info("every %ss: %s", args.interval, ", ".join(f"{n} -> {u}" for n, u in jobs.items()))
    try:
        while not stop.wait(args.interval):
            for name, url in jobs.items():
                log.info("%s -> %s", name, fire(name, url, args.timeout))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
